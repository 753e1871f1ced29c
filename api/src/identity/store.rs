//! The only code that reads or writes the `identity` schema. Every function that touches a
//! person's record takes the [`Accessor`] (who, why) and writes the access log row on the same
//! transaction before returning anything. Encryption of columns at rest goes here, later.
use deadpool_postgres::{GenericClient, Transaction};
use uuid::Uuid;

use super::{
    IdentityError, Language, NewDepositor, NewPrison, NewPrisoner, Prison, PrisonerField,
    PrisonerView, Regime,
};
use crate::access_log::{self, Access, Accessor, Action, Outcome, SubjectKind};

type Result<T> = std::result::Result<T, IdentityError>;

fn field_names(fields: &[PrisonerField]) -> Vec<&'static str> {
    fields.iter().map(|field| field.as_str()).collect()
}

fn is_unique_violation(error: &tokio_postgres::Error, constraint: &str) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| db.constraint() == Some(constraint))
}

// ---------------------------------------------------------------------------------------------
// Prisons (no personal data: not logged)

fn prison_from_row(row: &tokio_postgres::Row) -> Prison {
    Prison {
        id: row.get(0),
        code: row.get(1),
        name: row.get(2),
        time_zone: row.get(3),
        country: row.get::<_, String>(4).trim().to_owned(),
    }
}

pub async fn create_prison(client: &impl GenericClient, prison: &NewPrison) -> Result<Prison> {
    let code_ok = (2..=32).contains(&prison.code.len())
        && prison
            .code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !code_ok {
        return Err(IdentityError::Invalid(
            "prison_code_invalid",
            "a prison code is 2 to 32 of A-Z 0-9 _ -",
        ));
    }
    if jiff::tz::TimeZone::get(&prison.time_zone).is_err() {
        return Err(IdentityError::Invalid(
            "time_zone_invalid",
            "the time zone is not an IANA zone such as Europe/Helsinki",
        ));
    }
    let country_ok =
        prison.country.len() == 2 && prison.country.chars().all(|c| c.is_ascii_uppercase());
    if !country_ok {
        return Err(IdentityError::Invalid(
            "country_invalid",
            "a country is an ISO 3166 alpha-2 code such as FI",
        ));
    }
    super::validate::short_text(
        &prison.name,
        "prison_name_invalid",
        "a prison name is 1 to 200 characters",
        200,
    )?;
    let statement = client
        .prepare_cached(
            "insert into identity.prisons (id, code, name, time_zone, country)
             values ($1, $2, $3, $4, $5)
             returning id, code, name, time_zone, country",
        )
        .await?;
    match client
        .query_one(
            &statement,
            &[
                &Uuid::now_v7(),
                &prison.code,
                &prison.name,
                &prison.time_zone,
                &prison.country,
            ],
        )
        .await
    {
        Ok(row) => Ok(prison_from_row(&row)),
        Err(error) if is_unique_violation(&error, "prisons_code_key") => {
            Err(IdentityError::PrisonCodeTaken)
        }
        Err(error) => Err(error.into()),
    }
}

pub async fn prison(client: &impl GenericClient, prison_id: Uuid) -> Result<Option<Prison>> {
    let statement = client
        .prepare_cached(
            "select id, code, name, time_zone, country from identity.prisons where id = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&prison_id])
        .await?
        .map(|row| prison_from_row(&row)))
}

pub async fn prison_by_code(client: &impl GenericClient, code: &str) -> Result<Option<Prison>> {
    let statement = client
        .prepare_cached(
            "select id, code, name, time_zone, country from identity.prisons where code = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&code])
        .await?
        .map(|row| prison_from_row(&row)))
}

// ---------------------------------------------------------------------------------------------
// Prisoners

/// Records a new prisoner (admission) and logs the creation. Returns the new person id.
pub async fn admit_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    prisoner: &NewPrisoner,
) -> Result<Uuid> {
    use super::validate;
    validate::prisoner_number(&prisoner.prisoner_number)?;
    validate::name(&prisoner.full_name)?;
    if let Some(national_id) = &prisoner.national_id {
        validate::national_id(national_id)?;
    }
    if let Some(unit) = &prisoner.unit {
        validate::short_text(unit, "unit_invalid", "a unit is 1 to 64 characters", 64)?;
    }
    if let Some(iban) = &prisoner.payout_iban {
        validate::iban(iban)?;
    }
    let person_id = Uuid::new_v4();
    let statement = tx
        .prepare_cached(
            "insert into identity.prisoners
                (person_id, prison_id, prisoner_number, full_name, national_id, date_of_birth,
                 preferred_language, unit, payout_iban)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .await?;
    let inserted = tx
        .execute(
            &statement,
            &[
                &person_id,
                &prison_id,
                &prisoner.prisoner_number,
                &prisoner.full_name,
                &prisoner.national_id,
                &prisoner.date_of_birth,
                &prisoner.preferred_language.as_str(),
                &prisoner.unit,
                &prisoner.payout_iban,
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error, "prisoners_prisoner_number_key") => {
            return Err(IdentityError::PrisonerNumberTaken);
        }
        Err(error) => return Err(error.into()),
    }
    let mut fields = vec!["prisoner_number", "full_name", "preferred_language"];
    for (present, name) in [
        (prisoner.national_id.is_some(), "national_id"),
        (prisoner.date_of_birth.is_some(), "date_of_birth"),
        (prisoner.unit.is_some(), "unit"),
        (prisoner.payout_iban.is_some(), "payout_iban"),
    ] {
        if present {
            fields.push(name);
        }
    }
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Create,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: Some(person_id),
            prison_id: Some(prison_id),
            fields: &fields,
            outcome: Outcome::Ok,
            recipient: None,
        },
    )
    .await?;
    Ok(person_id)
}

const PRISONER_COLUMNS: &str = "person_id, regime, prison_id, prisoner_number, full_name, \
     national_id, date_of_birth, preferred_language, unit, payout_iban, admitted_at";

/// Keeps only the fields the access asked for (and logged).
fn view_from_row(row: &tokio_postgres::Row, fields: &[PrisonerField]) -> PrisonerView {
    let wants = |field: PrisonerField| fields.contains(&field);
    let regime: String = row.get(1);
    PrisonerView {
        person_id: row.get(0),
        regime: Some(if regime == "led" {
            Regime::Led
        } else {
            Regime::Gdpr
        }),
        prison_id: row.get(2),
        prisoner_number: wants(PrisonerField::PrisonerNumber).then(|| row.get(3)),
        full_name: wants(PrisonerField::FullName).then(|| row.get(4)),
        national_id: if wants(PrisonerField::NationalId) {
            row.get(5)
        } else {
            None
        },
        date_of_birth: if wants(PrisonerField::DateOfBirth) {
            row.get(6)
        } else {
            None
        },
        preferred_language: if wants(PrisonerField::PreferredLanguage) {
            Language::parse(row.get(7))
        } else {
            None
        },
        unit: if wants(PrisonerField::Unit) {
            row.get(8)
        } else {
            None
        },
        payout_iban: if wants(PrisonerField::PayoutIban) {
            row.get(9)
        } else {
            None
        },
        admitted_at: Some(row.get(10)),
    }
}

/// Consults a prisoner's record (the given fields, which may include ledger data such as
/// `balances`) and logs it. With `prison_scope`, a prisoner of another prison is "not found"
/// (and logged so): staff must not learn that the record exists.
pub async fn consult_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_scope: Option<Uuid>,
    person_id: Uuid,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    access_prisoner(tx, who, prison_scope, person_id, Action::Consult, fields).await
}

/// The gate for every access to one prisoner by person id: checks the prison scope, logs the
/// access (`action` on `fields`) and returns the requested fields. Changes made elsewhere (a PIN,
/// a ledger deposit) pass here first with `Action::Change`.
pub async fn access_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_scope: Option<Uuid>,
    person_id: Uuid,
    action: Action,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    let statement = tx
        .prepare_cached(&format!(
            "select {PRISONER_COLUMNS} from identity.prisoners where person_id = $1"
        ))
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id])
        .await?
        .filter(|row| prison_scope.is_none_or(|prison_id| row.get::<_, Uuid>(2) == prison_id));
    let names = field_names(fields);
    access_log::record(
        tx,
        who,
        &Access {
            action,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: Some(person_id),
            prison_id: row.as_ref().map(|row| row.get(2)).or(prison_scope),
            fields: &names,
            outcome: if row.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    Ok(row.map(|row| view_from_row(&row, fields)))
}

/// The one function that finds a prisoner by prisoner number (staff look-up, kiosk sign-in).
/// Only within one prison; logged whether found or not.
pub async fn find_by_prisoner_number(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    prisoner_number: &str,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    let statement = tx
        .prepare_cached(&format!(
            "select {PRISONER_COLUMNS} from identity.prisoners
             where prisoner_number = $1 and prison_id = $2"
        ))
        .await?;
    let row = tx
        .query_opt(&statement, &[&prisoner_number, &prison_id])
        .await?;
    let mut names = vec!["prisoner_number"];
    names.extend(
        field_names(fields)
            .into_iter()
            .filter(|f| *f != "prisoner_number"),
    );
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: row.as_ref().map(|row| row.get(0)),
            prison_id: Some(prison_id),
            fields: &names,
            outcome: if row.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    Ok(row.map(|row| view_from_row(&row, fields)))
}

// ---------------------------------------------------------------------------------------------
// Depositors

pub async fn create_depositor(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    depositor: &NewDepositor,
) -> Result<Uuid> {
    use super::validate;
    validate::name(&depositor.full_name)?;
    if let Some(contact) = &depositor.contact {
        validate::short_text(
            contact,
            "contact_invalid",
            "a contact is 1 to 200 characters",
            200,
        )?;
    }
    if let Some(account) = &depositor.bank_account {
        validate::iban(account)?;
    }
    let person_id = Uuid::new_v4();
    let statement = tx
        .prepare_cached(
            "insert into identity.depositors
                (person_id, registered_prison_id, full_name, contact, bank_account)
             values ($1, $2, $3, $4, $5)",
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &person_id,
            &prison_id,
            &depositor.full_name,
            &depositor.contact,
            &depositor.bank_account,
        ],
    )
    .await?;
    let mut fields = vec!["full_name"];
    if depositor.contact.is_some() {
        fields.push("contact");
    }
    if depositor.bank_account.is_some() {
        fields.push("bank_account");
    }
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Create,
            subject_kind: SubjectKind::Depositor,
            subject_person_id: Some(person_id),
            prison_id: Some(prison_id),
            fields: &fields,
            outcome: Outcome::Ok,
            recipient: None,
        },
    )
    .await?;
    Ok(person_id)
}

/// Whether a depositor registered in this prison exists (consulted for a deposit; logged).
pub async fn depositor_exists(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    person_id: Uuid,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "select 1 from identity.depositors where person_id = $1 and registered_prison_id = $2",
        )
        .await?;
    let exists = tx
        .query_opt(&statement, &[&person_id, &prison_id])
        .await?
        .is_some();
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Depositor,
            subject_person_id: Some(person_id),
            prison_id: Some(prison_id),
            fields: &["existence"],
            outcome: if exists {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    Ok(exists)
}
