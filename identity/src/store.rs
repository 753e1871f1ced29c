//! The only code that reads or writes the `identity` schema. Every function that touches a
//! person's record takes the [`Accessor`] (who, why) and writes the access log row on the same
//! transaction before returning anything.
//!
//! At rest, a record's personal fields are one AES-256-GCM ciphertext (`sealed`, `nonce`) under
//! the person's own data key (`identity.data_keys`, wrapped under a master key): see
//! [`super::crypto`]. Prisoner and national identity numbers are found through their HMAC under
//! the lookup key. Erasure destroys the data key.
use deadpool_postgres::{GenericClient, Transaction};
use ledger::controls::Lang;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::crypto::{self, DataKey, Keyring, WrappedKey};
use super::{
    DepositorView, IdentityError, NewDepositor, NewPrison, NewPrisoner, Prison, PrisonerField,
    PrisonerView, RecordStatus, Rectification, Regime, RestrictionReason,
};
use crate::access_log::{self, Access, Accessor, Action, Outcome, Purpose, SubjectKind};

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
        id: row.get("id"),
        code: row.get("code"),
        name: row.get("name"),
        time_zone: row.get("time_zone"),
        country: row.get::<_, String>("country").trim().to_owned(),
        default_language: row
            .get::<_, Option<&str>>("default_language")
            .and_then(ledger::controls::Lang::parse),
    }
}

/// Sets (or, with `None`, clears) a prison's default language; `false` if there is no such prison.
pub async fn set_prison_default_language(
    client: &impl GenericClient,
    prison_id: Uuid,
    language: Option<ledger::controls::Lang>,
) -> Result<bool> {
    let statement = client
        .prepare_cached("update identity.prisons set default_language = $2 where id = $1")
        .await?;
    let updated = client
        .execute(&statement, &[&prison_id, &language.map(|l| l.as_str())])
        .await?;
    Ok(updated == 1)
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
             returning id, code, name, time_zone, country, default_language",
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
            "select id, code, name, time_zone, country, default_language
             from identity.prisons where id = $1",
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
            "select id, code, name, time_zone, country, default_language
             from identity.prisons where code = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&code])
        .await?
        .map(|row| prison_from_row(&row)))
}

// ---------------------------------------------------------------------------------------------
// Sealing

const PRISONER_AAD: &[u8] = b"saldo/prisoner/v1/";
const DEPOSITOR_AAD: &[u8] = b"saldo/depositor/v1/";
const LOOKUP_NUMBER: &str = "prisoner_number";
const LOOKUP_NATIONAL_ID: &str = "national_id";
const LOOKUP_BANK_ACCOUNT: &str = "bank_account";

fn aad(prefix: &[u8], person_id: Uuid) -> Vec<u8> {
    let mut aad = prefix.to_vec();
    aad.extend_from_slice(person_id.as_bytes());
    aad
}

/// A prisoner's personal fields, as sealed together.
#[derive(Serialize, Deserialize)]
struct PrisonerSecret {
    prisoner_number: String,
    full_name: String,
    national_id: Option<String>,
    #[serde(with = "optional_date")]
    date_of_birth: Option<Date>,
    preferred_language: String,
    unit: Option<String>,
    payout_iban: Option<String>,
}

mod optional_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => ledger::model::date_format::serialize(date, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Date>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|text| {
            Date::parse(
                &text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .map_err(|_| serde::de::Error::custom("not a date"))
        })
        .transpose()
    }
}

#[derive(Serialize, Deserialize)]
struct DepositorSecret {
    full_name: String,
    contact: Option<String>,
    bank_account: Option<String>,
}

/// Creates the person's data key (wrapped under the current master key) and stores it.
async fn new_data_key(
    client: &impl GenericClient,
    keys: &Keyring,
    person_id: Uuid,
) -> Result<DataKey> {
    let (key, wrapped) = keys.new_data_key(person_id)?;
    let statement = client
        .prepare_cached(
            "insert into identity.data_keys (person_id, master_key_version, wrapped_key)
             values ($1, $2, $3)",
        )
        .await?;
    client
        .execute(&statement, &[&person_id, &wrapped.version, &wrapped.bytes])
        .await?;
    Ok(key)
}

async fn data_key(
    client: &impl GenericClient,
    keys: &Keyring,
    person_id: Uuid,
) -> Result<Option<DataKey>> {
    let statement = client
        .prepare_cached(
            "select master_key_version, wrapped_key from identity.data_keys where person_id = $1",
        )
        .await?;
    let Some(row) = client.query_opt(&statement, &[&person_id]).await? else {
        return Ok(None);
    };
    let wrapped = WrappedKey {
        version: row.get("master_key_version"),
        bytes: row.get("wrapped_key"),
    };
    Ok(Some(keys.unwrap(person_id, &wrapped)?))
}

fn seal<T: Serialize>(key: &DataKey, aad: &[u8], secret: &T) -> Result<(Vec<u8>, Vec<u8>)> {
    let plaintext =
        zeroize::Zeroizing::new(serde_json::to_vec(secret).map_err(|_| crypto::KeyError::Decrypt)?);
    Ok(key.seal(aad, &plaintext)?)
}

fn open<T: for<'de> Deserialize<'de>>(
    key: &DataKey,
    aad: &[u8],
    nonce: &[u8],
    sealed: &[u8],
) -> Result<T> {
    let plaintext = key.open(aad, nonce, sealed)?;
    Ok(serde_json::from_slice(&plaintext).map_err(|_| crypto::KeyError::Decrypt)?)
}

fn prisoner_secret(prisoner: &NewPrisoner) -> PrisonerSecret {
    PrisonerSecret {
        prisoner_number: prisoner.prisoner_number.clone(),
        full_name: prisoner.full_name.clone(),
        national_id: prisoner.national_id.clone(),
        date_of_birth: prisoner.date_of_birth,
        preferred_language: prisoner.preferred_language.as_str().to_owned(),
        unit: prisoner.unit.clone(),
        payout_iban: prisoner.payout_iban.clone(),
    }
}

fn validate_prisoner(prisoner: &NewPrisoner) -> Result<()> {
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
    Ok(())
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
    validate_prisoner(prisoner)?;
    let keys = crypto::current();
    let person_id = Uuid::new_v4();
    let key = new_data_key(tx, &keys, person_id).await?;
    let (nonce, sealed) = seal(
        &key,
        &aad(PRISONER_AAD, person_id),
        &prisoner_secret(prisoner),
    )?;
    let statement = tx
        .prepare_cached(
            "insert into identity.prisoners
                (person_id, prison_id, sealed, nonce, data_key_id, prisoner_number_hmac,
                 national_id_hmac)
             values ($1, $2, $3, $4, $1, $5, $6)",
        )
        .await?;
    let number_hmac = keys.lookup_hash(LOOKUP_NUMBER, &prisoner.prisoner_number);
    let national_id_hmac = prisoner
        .national_id
        .as_deref()
        .map(|id| keys.lookup_hash(LOOKUP_NATIONAL_ID, id));
    let inserted = tx
        .execute(
            &statement,
            &[
                &person_id,
                &prison_id,
                &sealed,
                &nonce,
                &number_hmac,
                &national_id_hmac,
            ],
        )
        .await;
    match inserted {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error, "prisoners_number_hmac_key") => {
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

const PRISONER_COLUMNS: &str = "p.person_id, p.regime, p.prison_id, p.admitted_at, p.sealed, \
     p.nonce, k.master_key_version, k.wrapped_key, p.erased_at, p.restricted_at, \
     p.prisoner_number, p.full_name, p.national_id, p.date_of_birth, p.preferred_language, \
     p.unit, p.payout_iban";
const PRISONER_FROM: &str =
    "identity.prisoners p left join identity.data_keys k on k.person_id = p.data_key_id";

/// Opens a row's sealed fields (or reads a row written before sealing). None once erased.
fn open_prisoner(keys: &Keyring, row: &tokio_postgres::Row) -> Result<Option<PrisonerSecret>> {
    let person_id: Uuid = row.get("person_id");
    let sealed: Option<Vec<u8>> = row.get("sealed");
    if let Some(sealed) = sealed {
        let nonce: Vec<u8> = row.get("nonce");
        let (Some(version), Some(wrapped)) = (
            row.get::<_, Option<i32>>("master_key_version"),
            row.get::<_, Option<Vec<u8>>>("wrapped_key"),
        ) else {
            return Err(crypto::KeyError::Decrypt.into());
        };
        let key = keys.unwrap(
            person_id,
            &WrappedKey {
                version,
                bytes: wrapped,
            },
        )?;
        return open(&key, &aad(PRISONER_AAD, person_id), &nonce, &sealed).map(Some);
    }
    // Written before V7 and not sealed yet (`seal_legacy_records` does that at start-up).
    let number: Option<String> = row.get("prisoner_number");
    Ok(number.map(|prisoner_number| PrisonerSecret {
        prisoner_number,
        full_name: row
            .get::<_, Option<String>>("full_name")
            .unwrap_or_default(),
        national_id: row.get("national_id"),
        date_of_birth: row.get("date_of_birth"),
        preferred_language: row
            .get::<_, Option<String>>("preferred_language")
            .unwrap_or_else(|| "en".into()),
        unit: row.get("unit"),
        payout_iban: row.get("payout_iban"),
    }))
}

/// Keeps only the fields the access asked for (and logged).
fn view_from_row(
    row: &tokio_postgres::Row,
    secret: Option<PrisonerSecret>,
    fields: &[PrisonerField],
) -> Result<PrisonerView> {
    let wants = |field: PrisonerField| fields.contains(&field);
    let regime: Regime = row.get::<_, &str>("regime").parse()?;
    let mut view = PrisonerView {
        person_id: row.get("person_id"),
        regime: Some(regime),
        prison_id: row.get("prison_id"),
        admitted_at: Some(row.get("admitted_at")),
        ..PrisonerView::default()
    };
    if let Some(secret) = secret {
        view.prisoner_number =
            wants(PrisonerField::PrisonerNumber).then_some(secret.prisoner_number);
        view.full_name = wants(PrisonerField::FullName).then_some(secret.full_name);
        view.national_id = secret
            .national_id
            .filter(|_| wants(PrisonerField::NationalId));
        view.date_of_birth = secret
            .date_of_birth
            .filter(|_| wants(PrisonerField::DateOfBirth));
        view.preferred_language = Lang::parse(&secret.preferred_language)
            .filter(|_| wants(PrisonerField::PreferredLanguage));
        view.unit = secret.unit.filter(|_| wants(PrisonerField::Unit));
        view.payout_iban = secret
            .payout_iban
            .filter(|_| wants(PrisonerField::PayoutIban));
    }
    Ok(view)
}

/// Purposes for which a restricted record's fields may still be read: the person's own
/// requests, complaints and audit, the egress guard (which reads them only to block them), and
/// the prisoner at the kiosk.
fn allowed_while_restricted(purpose: Purpose) -> bool {
    matches!(
        purpose,
        Purpose::DataSubjectRequest
            | Purpose::Complaint
            | Purpose::Audit
            | Purpose::EgressCheck
            | Purpose::SelfService
    )
}

/// Opens a found row for an access: (outcome, secret). A restricted record's fields are withheld
/// (and the access logged `denied`) unless the purpose allows it; an erased one has none.
fn open_for_access(
    row: &tokio_postgres::Row,
    who: &Accessor,
    fields: &[PrisonerField],
) -> Result<(Outcome, Option<PrisonerSecret>)> {
    let asks_record = fields.iter().any(|f| PrisonerField::RECORD.contains(f));
    let restricted = row
        .get::<_, Option<OffsetDateTime>>("restricted_at")
        .is_some();
    if restricted && asks_record && !allowed_while_restricted(who.purpose) {
        return Ok((Outcome::Denied, None));
    }
    if !asks_record {
        return Ok((Outcome::Ok, None));
    }
    Ok((Outcome::Ok, open_prisoner(&crypto::current(), row)?))
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
/// a ledger deposit) pass here first with `Action::Change`. An erased prisoner is still found
/// (the ledger keeps their pseudonymous accounts), with no personal fields.
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
            "select {PRISONER_COLUMNS} from {PRISONER_FROM} where p.person_id = $1"
        ))
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id])
        .await?
        .filter(|row| {
            prison_scope.is_none_or(|prison_id| row.get::<_, Uuid>("prison_id") == prison_id)
        });
    let (outcome, secret) = match &row {
        Some(row) => open_for_access(row, who, fields)?,
        None => (Outcome::NotFound, None),
    };
    let names = field_names(fields);
    access_log::record(
        tx,
        who,
        &Access {
            action,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: Some(person_id),
            prison_id: row
                .as_ref()
                .map(|row| row.get("prison_id"))
                .or(prison_scope),
            fields: &names,
            outcome,
            recipient: None,
        },
    )
    .await?;
    row.map(|row| view_from_row(&row, secret, fields))
        .transpose()
}

/// The one function that finds a prisoner by prisoner number (staff look-up, kiosk sign-in).
/// Only within one prison; logged whether found or not. Matches the number's HMAC.
pub async fn find_by_prisoner_number(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    prisoner_number: &str,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    find_by_lookup(
        tx,
        who,
        prison_id,
        ("prisoner_number_hmac", LOOKUP_NUMBER, "prisoner_number"),
        prisoner_number,
        fields,
    )
    .await
}

/// Finds a prisoner by national identity number, within one prison; logged like the number
/// look-up.
pub async fn find_by_national_id(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    national_id: &str,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    find_by_lookup(
        tx,
        who,
        prison_id,
        ("national_id_hmac", LOOKUP_NATIONAL_ID, "national_id"),
        national_id,
        fields,
    )
    .await
}

async fn find_by_lookup(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    (column, kind, field): (&str, &str, &'static str),
    value: &str,
    fields: &[PrisonerField],
) -> Result<Option<PrisonerView>> {
    let statement = tx
        .prepare_cached(&format!(
            "select {PRISONER_COLUMNS} from {PRISONER_FROM}
             where p.{column} = $1 and p.prison_id = $2 and p.erased_at is null
             order by p.admitted_at limit 1"
        ))
        .await?;
    let hmac = crypto::current().lookup_hash(kind, value);
    let row = tx.query_opt(&statement, &[&hmac, &prison_id]).await?;
    let (outcome, secret) = match &row {
        Some(row) => open_for_access(row, who, fields)?,
        None => (Outcome::NotFound, None),
    };
    let mut names = vec![field];
    names.extend(field_names(fields).into_iter().filter(|f| *f != field));
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: row.as_ref().map(|row| row.get("person_id")),
            prison_id: Some(prison_id),
            fields: &names,
            outcome,
            recipient: None,
        },
    )
    .await?;
    row.map(|row| view_from_row(&row, secret, fields))
        .transpose()
}

/// Records the day a prisoner was released: retention of their identity counts from it.
pub async fn record_release(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
    released_at: OffsetDateTime,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "update identity.prisoners set released_at = $2, updated_at = now()
             where person_id = $1 and erased_at is null returning prison_id",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id, &released_at])
        .await?;
    log_change(
        tx,
        who,
        person_id,
        row.as_ref().map(|r| r.get("prison_id")),
        &["released_at"],
    )
    .await?;
    Ok(row.is_some())
}

async fn log_change(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
    prison_id: Option<Uuid>,
    fields: &[&str],
) -> Result<()> {
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Change,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: Some(person_id),
            prison_id,
            fields,
            outcome: if prison_id.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    Ok(())
}

/// Rectifies a prisoner's record (LED Art. 16(1), GDPR Art. 16): the given fields replace the
/// old ones, the record is sealed again under the same data key, the change is logged with the
/// names of the fields changed. Returns false when there is no such (unerased) prisoner.
pub async fn rectify_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_scope: Option<Uuid>,
    person_id: Uuid,
    change: &Rectification,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(&format!(
            "select {PRISONER_COLUMNS} from {PRISONER_FROM}
             where p.person_id = $1 and p.erased_at is null for update of p"
        ))
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id])
        .await?
        .filter(|row| {
            prison_scope.is_none_or(|prison_id| row.get::<_, Uuid>("prison_id") == prison_id)
        });
    let keys = crypto::current();
    let Some((row, Some(old))) = row
        .map(|row| open_prisoner(&keys, &row).map(|secret| (row, secret)))
        .transpose()?
    else {
        log_change(tx, who, person_id, None, &[]).await?;
        return Ok(false);
    };
    let mut fields = Vec::new();
    let mut next = NewPrisoner {
        prisoner_number: old.prisoner_number,
        full_name: old.full_name,
        national_id: old.national_id,
        date_of_birth: old.date_of_birth,
        preferred_language: Lang::parse(&old.preferred_language).unwrap_or_default(),
        unit: old.unit,
        payout_iban: old.payout_iban,
    };
    if let Some(value) = &change.prisoner_number {
        next.prisoner_number = value.clone();
        fields.push("prisoner_number");
    }
    if let Some(value) = &change.full_name {
        next.full_name = value.clone();
        fields.push("full_name");
    }
    if let Some(value) = &change.national_id {
        next.national_id = value.clone();
        fields.push("national_id");
    }
    if let Some(value) = change.date_of_birth {
        next.date_of_birth = value;
        fields.push("date_of_birth");
    }
    if let Some(value) = change.preferred_language {
        next.preferred_language = value;
        fields.push("preferred_language");
    }
    if let Some(value) = &change.unit {
        next.unit = value.clone();
        fields.push("unit");
    }
    if let Some(value) = &change.payout_iban {
        next.payout_iban = value.clone();
        fields.push("payout_iban");
    }
    validate_prisoner(&next)?;
    let key = match data_key(tx, &keys, person_id).await? {
        Some(key) => key,
        // A record from before V7 gets its data key now.
        None => new_data_key(tx, &keys, person_id).await?,
    };
    let (nonce, sealed) = seal(&key, &aad(PRISONER_AAD, person_id), &prisoner_secret(&next))?;
    let update = tx
        .prepare_cached(
            "update identity.prisoners set sealed = $2, nonce = $3, data_key_id = $1,
                prisoner_number_hmac = $4, national_id_hmac = $5, prisoner_number = null,
                full_name = null, national_id = null, date_of_birth = null,
                preferred_language = null, unit = null, payout_iban = null, updated_at = now()
             where person_id = $1",
        )
        .await?;
    let updated = tx
        .execute(
            &update,
            &[
                &person_id,
                &sealed,
                &nonce,
                &keys.lookup_hash(LOOKUP_NUMBER, &next.prisoner_number),
                &next
                    .national_id
                    .as_deref()
                    .map(|id| keys.lookup_hash(LOOKUP_NATIONAL_ID, id)),
            ],
        )
        .await;
    match updated {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error, "prisoners_number_hmac_key") => {
            return Err(IdentityError::PrisonerNumberTaken);
        }
        Err(error) => return Err(error.into()),
    }
    log_change(tx, who, person_id, Some(row.get("prison_id")), &fields).await?;
    Ok(true)
}

/// Moves a prisoner's record to another prison (a transfer): from then on the destination's
/// staff find it and the origin's do not. The unit is replaced by `unit` (the origin's unit means
/// nothing at the destination). Logged as a change of `prison` under the destination (whose
/// auditors then see the arrival) and of `unit`. False when the prisoner is not in `from_prison`.
pub async fn transfer_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    from_prison: Uuid,
    person_id: Uuid,
    to_prison: Uuid,
    unit: Option<String>,
) -> Result<bool> {
    if let Some(unit) = &unit {
        super::validate::short_text(unit, "unit_invalid", "a unit is 1 to 64 characters", 64)?;
    }
    let statement = tx
        .prepare_cached(
            "update identity.prisoners set prison_id = $3, updated_at = now()
             where person_id = $1 and prison_id = $2
             returning erased_at is not null as erased",
        )
        .await?;
    let row = tx
        .query_opt(&statement, &[&person_id, &from_prison, &to_prison])
        .await?;
    log_change(
        tx,
        who,
        person_id,
        row.as_ref().map(|_| to_prison),
        &["prison"],
    )
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    // An erased record has no unit left to replace.
    if !row.get::<_, bool>("erased") {
        let change = Rectification {
            unit: Some(unit),
            ..Rectification::default()
        };
        rectify_prisoner(tx, who, Some(to_prison), person_id, &change).await?;
    }
    Ok(true)
}

/// Restricts processing of a prisoner's record (or lifts the restriction with `None`): while
/// restricted, its fields are only read for the purposes [`allowed_while_restricted`] lists.
pub async fn restrict_prisoner(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_scope: Option<Uuid>,
    person_id: Uuid,
    reason: Option<RestrictionReason>,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "update identity.prisoners
             set restricted_at = case when $3::text is null then null
                                      when restriction_reason is not distinct from $3::text
                                          then restricted_at
                                      else now() end,
                 restriction_reason = $3, updated_at = now()
             where person_id = $1 and ($2::uuid is null or prison_id = $2)
             returning prison_id",
        )
        .await?;
    let row = tx
        .query_opt(
            &statement,
            &[
                &person_id,
                &prison_scope,
                &reason.map(RestrictionReason::as_str),
            ],
        )
        .await?;
    log_change(
        tx,
        who,
        person_id,
        row.as_ref().map(|r| r.get("prison_id")),
        &["restriction"],
    )
    .await?;
    Ok(row.is_some())
}

/// The record's status (no personal fields). Logged as a consultation of `status`.
pub async fn prisoner_status(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
) -> Result<Option<RecordStatus>> {
    let statement = tx
        .prepare_cached(
            "select p.prison_id, p.released_at, p.restricted_at, p.restriction_reason,
                    p.erased_at, k.master_key_version
             from identity.prisoners p left join identity.data_keys k on k.person_id = p.data_key_id
             where p.person_id = $1",
        )
        .await?;
    let row = tx.query_opt(&statement, &[&person_id]).await?;
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Prisoner,
            subject_person_id: Some(person_id),
            prison_id: row.as_ref().map(|row| row.get("prison_id")),
            fields: &["status"],
            outcome: if row.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    row.map(|row| {
        Ok(RecordStatus {
            person_id,
            regime: Regime::Led,
            prison_id: row.get("prison_id"),
            released_at: row.get("released_at"),
            restricted_at: row.get("restricted_at"),
            restriction_reason: row
                .get::<_, Option<&str>>("restriction_reason")
                .map(str::parse)
                .transpose()?,
            erased_at: row.get("erased_at"),
            master_key_version: row.get("master_key_version"),
        })
    })
    .transpose()
}

/// Erases a prisoner's identity by destroying their data key (crypto-shredding) and clearing
/// the ciphertext and look-up hashes. The row stays as a tombstone (person id, prison, dates):
/// the ledger's pseudonymous accounts still name that id. Logged as `erase`. Returns false if
/// there was nothing left to erase.
pub async fn erase_prisoner(tx: &Transaction<'_>, who: &Accessor, person_id: Uuid) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "update identity.prisoners
             set sealed = null, nonce = null, data_key_id = null, prisoner_number_hmac = null,
                 national_id_hmac = null, prisoner_number = null, full_name = null,
                 national_id = null, date_of_birth = null, preferred_language = null, unit = null,
                 payout_iban = null, erased_at = now(), updated_at = now()
             where person_id = $1 and erased_at is null
             returning prison_id",
        )
        .await?;
    let prison_id = tx
        .query_opt(&statement, &[&person_id])
        .await?
        .map(|row| row.get("prison_id"));
    destroy_key_and_log_erasure(tx, who, SubjectKind::Prisoner, person_id, prison_id).await
}

/// The end of every erasure: the person's data key is destroyed (what makes any copy of the
/// sealed record unreadable) and the erasure is logged, `not_found` when no record was erased.
async fn destroy_key_and_log_erasure(
    tx: &Transaction<'_>,
    who: &Accessor,
    subject_kind: SubjectKind,
    person_id: Uuid,
    erased_in_prison: Option<Uuid>,
) -> Result<bool> {
    let destroyed = tx
        .prepare_cached("delete from identity.data_keys where person_id = $1")
        .await?;
    tx.execute(&destroyed, &[&person_id]).await?;
    let erased = erased_in_prison.is_some();
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Erase,
            subject_kind,
            subject_person_id: Some(person_id),
            prison_id: erased_in_prison,
            fields: &["record", "data_key"],
            outcome: if erased {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    Ok(erased)
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
    let keys = crypto::current();
    let person_id = Uuid::new_v4();
    let key = new_data_key(tx, &keys, person_id).await?;
    let (nonce, sealed) = seal(
        &key,
        &aad(DEPOSITOR_AAD, person_id),
        &DepositorSecret {
            full_name: depositor.full_name.clone(),
            contact: depositor.contact.clone(),
            bank_account: depositor.bank_account.clone(),
        },
    )?;
    let bank_account_hmac = depositor
        .bank_account
        .as_deref()
        .map(|account| keys.lookup_hash(LOOKUP_BANK_ACCOUNT, account));
    let statement = tx
        .prepare_cached(
            "insert into identity.depositors
                (person_id, registered_prison_id, sealed, nonce, data_key_id, bank_account_hmac)
             values ($1, $2, $3, $4, $1, $5)",
        )
        .await?;
    tx.execute(
        &statement,
        &[&person_id, &prison_id, &sealed, &nonce, &bank_account_hmac],
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

/// Whether a depositor registered in this prison exists (consulted for a deposit; logged). An
/// erased depositor does not.
pub async fn depositor_exists(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    person_id: Uuid,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "select 1 from identity.depositors
             where person_id = $1 and registered_prison_id = $2 and erased_at is null",
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

/// A depositor's whole record (their subject-access request); logged.
pub async fn consult_depositor(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
) -> Result<Option<DepositorView>> {
    let statement = tx
        .prepare_cached(
            "select d.registered_prison_id, d.sealed, d.nonce, k.master_key_version,
                    k.wrapped_key, d.full_name, d.contact, d.bank_account
             from identity.depositors d
             left join identity.data_keys k on k.person_id = d.data_key_id
             where d.person_id = $1",
        )
        .await?;
    let row = tx.query_opt(&statement, &[&person_id]).await?;
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Consult,
            subject_kind: SubjectKind::Depositor,
            subject_person_id: Some(person_id),
            prison_id: row.as_ref().map(|row| row.get("registered_prison_id")),
            fields: &["full_name", "contact", "bank_account"],
            outcome: if row.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: None,
        },
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let sealed: Option<Vec<u8>> = row.get("sealed");
    let secret = match (sealed, row.get::<_, Option<i32>>("master_key_version")) {
        (Some(sealed), Some(version)) => {
            let key = crypto::current().unwrap(
                person_id,
                &WrappedKey {
                    version,
                    bytes: row.get("wrapped_key"),
                },
            )?;
            Some(open::<DepositorSecret>(
                &key,
                &aad(DEPOSITOR_AAD, person_id),
                &row.get::<_, Vec<u8>>("nonce"),
                &sealed,
            )?)
        }
        _ => row
            .get::<_, Option<String>>("full_name")
            .map(|full_name| DepositorSecret {
                full_name,
                contact: row.get("contact"),
                bank_account: row.get("bank_account"),
            }),
    };
    Ok(Some(DepositorView {
        person_id,
        registered_prison_id: row.get("registered_prison_id"),
        full_name: secret.as_ref().map(|s| s.full_name.clone()),
        contact: secret.as_ref().and_then(|s| s.contact.clone()),
        bank_account: secret.and_then(|s| s.bank_account),
    }))
}

/// A bank counterparty of a prison (the payer of a bank transfer, the payee of a payout): the
/// depositor record registered in the prison with this IBAN (found through its HMAC), or a new
/// one with `name` (the bank's, or a placeholder when it gave none). Logged either way.
pub async fn find_or_create_counterparty(
    tx: &Transaction<'_>,
    who: &Accessor,
    prison_id: Uuid,
    name: Option<&str>,
    iban: &str,
) -> Result<Uuid> {
    super::validate::iban(iban)?;
    let hmac = crypto::current().lookup_hash(LOOKUP_BANK_ACCOUNT, iban);
    let statement = tx
        .prepare_cached(
            "select person_id from identity.depositors
             where registered_prison_id = $1 and bank_account_hmac = $2 and erased_at is null
             order by created_at limit 1",
        )
        .await?;
    if let Some(row) = tx.query_opt(&statement, &[&prison_id, &hmac]).await? {
        let person_id: Uuid = row.get("person_id");
        access_log::record(
            tx,
            who,
            &Access {
                action: Action::Consult,
                subject_kind: SubjectKind::Depositor,
                subject_person_id: Some(person_id),
                prison_id: Some(prison_id),
                fields: &["bank_account"],
                outcome: Outcome::Ok,
                recipient: None,
            },
        )
        .await?;
        return Ok(person_id);
    }
    let name = name
        .map(str::trim)
        .filter(|name| super::validate::name(name).is_ok())
        .unwrap_or("(name not given by the bank)");
    create_depositor(
        tx,
        who,
        prison_id,
        &NewDepositor {
            full_name: name.to_owned(),
            contact: None,
            bank_account: Some(iban.to_owned()),
        },
    )
    .await
}

/// A counterparty's name and IBAN disclosed to `recipient` (the trust bank, in a payment
/// file): logged as `disclose`. `None` when the record is erased or holds no account.
pub async fn disclose_bank_account(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
    recipient: &str,
) -> Result<Option<(String, String)>> {
    let statement = tx
        .prepare_cached(
            "select d.registered_prison_id, d.sealed, d.nonce, k.master_key_version,
                    k.wrapped_key, d.full_name, d.bank_account
             from identity.depositors d
             left join identity.data_keys k on k.person_id = d.data_key_id
             where d.person_id = $1 and d.erased_at is null",
        )
        .await?;
    let row = tx.query_opt(&statement, &[&person_id]).await?;
    access_log::record(
        tx,
        who,
        &Access {
            action: Action::Disclose,
            subject_kind: SubjectKind::Depositor,
            subject_person_id: Some(person_id),
            prison_id: row.as_ref().map(|row| row.get("registered_prison_id")),
            fields: &["full_name", "bank_account"],
            outcome: if row.is_some() {
                Outcome::Ok
            } else {
                Outcome::NotFound
            },
            recipient: Some(recipient),
        },
    )
    .await?;
    let Some(row) = row else { return Ok(None) };
    let sealed: Option<Vec<u8>> = row.get("sealed");
    let secret = match (sealed, row.get::<_, Option<i32>>("master_key_version")) {
        (Some(sealed), Some(version)) => {
            let key = crypto::current().unwrap(
                person_id,
                &WrappedKey {
                    version,
                    bytes: row.get("wrapped_key"),
                },
            )?;
            open::<DepositorSecret>(
                &key,
                &aad(DEPOSITOR_AAD, person_id),
                &row.get::<_, Vec<u8>>("nonce"),
                &sealed,
            )?
        }
        _ => DepositorSecret {
            full_name: row
                .get::<_, Option<String>>("full_name")
                .unwrap_or_default(),
            contact: None,
            bank_account: row.get("bank_account"),
        },
    };
    Ok(secret
        .bank_account
        .map(|account| (secret.full_name, account)))
}

/// Erases a depositor's record by destroying their data key; logged as `erase`.
pub async fn erase_depositor(
    tx: &Transaction<'_>,
    who: &Accessor,
    person_id: Uuid,
) -> Result<bool> {
    let statement = tx
        .prepare_cached(
            "update identity.depositors
             set sealed = null, nonce = null, data_key_id = null, full_name = null,
                 contact = null, bank_account = null, bank_account_hmac = null, erased_at = now()
             where person_id = $1 and erased_at is null
             returning registered_prison_id",
        )
        .await?;
    let prison_id = tx
        .query_opt(&statement, &[&person_id])
        .await?
        .map(|row| row.get("registered_prison_id"));
    destroy_key_and_log_erasure(tx, who, SubjectKind::Depositor, person_id, prison_id).await
}

// ---------------------------------------------------------------------------------------------
// Retention: who is due (ids and dates only)

/// A record due for erasure and the date its period counted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub person_id: Uuid,
    pub since: OffsetDateTime,
}

/// Prisoners released before `released_before` and not erased. The release date is the
/// identity record's own (`record_release`) or, when the lifecycle released them, the latest
/// `release` row of `controls.card_modes` (unless a later row readmitted them).
pub async fn prisoners_due(
    client: &impl GenericClient,
    released_before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Due>> {
    let statement = client
        .prepare_cached(
            "with lifecycle as (
                 select distinct on (person_id) person_id, reason, effective_from
                 from controls.card_modes order by person_id, effective_from desc, id desc),
             released as (
                 select p.person_id,
                        greatest(p.released_at,
                                 case when l.reason in ('release', 'closed') then
                                     (select max(effective_from) from controls.card_modes m
                                      where m.person_id = p.person_id and m.reason = 'release')
                                 end) as released_at
                 from identity.prisoners p left join lifecycle l on l.person_id = p.person_id
                 where p.erased_at is null and p.restricted_at is null)
             select person_id, released_at from released
             where released_at < $1 order by released_at, person_id limit $2",
        )
        .await?;
    Ok(client
        .query(&statement, &[&released_before, &limit])
        .await?
        .iter()
        .map(|row| Due {
            person_id: row.get("person_id"),
            since: row.get("released_at"),
        })
        .collect())
}

/// Depositors whose last use (registration, or the latest deposit naming them) is before
/// `last_used_before`.
pub async fn depositors_due(
    client: &impl GenericClient,
    last_used_before: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Due>> {
    let statement = client
        .prepare_cached(
            "select person_id, last_used from (
                 select d.person_id,
                        greatest(d.created_at,
                                 (select max(e.recorded_at) from journal_entries e
                                  where e.metadata ->> 'depositor_person_id' = d.person_id::text))
                            as last_used
                 from identity.depositors d
                 where d.erased_at is null and d.restricted_at is null) used
             where last_used < $1 order by last_used, person_id limit $2",
        )
        .await?;
    Ok(client
        .query(&statement, &[&last_used_before, &limit])
        .await?
        .iter()
        .map(|row| Due {
            person_id: row.get("person_id"),
            since: row.get("last_used"),
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Keys

/// Records the check values of the configured keys, or refuses (before anything is written)
/// when the database was written under other keys with the same versions.
pub async fn register_keys(client: &impl GenericClient, keys: &Keyring) -> anyhow::Result<()> {
    let mut expected = vec![("lookup", 0, keys.lookup_check_value())];
    for version in keys.versions() {
        if let Some(check) = keys.check_value(version) {
            expected.push(("master", version, check));
        }
    }
    for (kind, version, check) in expected {
        let row = client
            .query_one(
                "with inserted as (
                     insert into identity.key_checks (kind, version, check_value)
                     values ($1, $2, $3) on conflict (kind, version) do nothing returning check_value)
                 select coalesce((select check_value from inserted),
                                 (select check_value from identity.key_checks
                                  where kind = $1 and version = $2)) as check_value",
                &[&kind, &version, &check],
            )
            .await?;
        let stored: Vec<u8> = row.get("check_value");
        if stored != check {
            anyhow::bail!(
                "the configured {kind} key{} is not the one this database was written with",
                if kind == "master" {
                    format!(" version {version}")
                } else {
                    String::new()
                }
            );
        }
    }
    let missing: Vec<i32> = client
        .query(
            "select distinct master_key_version from identity.data_keys
             where master_key_version <> all($1)",
            &[&keys.versions()],
        )
        .await?
        .iter()
        .map(|row| row.get("master_key_version"))
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "data keys are wrapped under master key version(s) {missing:?}, which are not configured"
        );
    }
    Ok(())
}

/// How many data keys are wrapped under each master key version.
pub async fn data_keys_by_version(client: &impl GenericClient) -> Result<Vec<(i32, i64)>> {
    Ok(client
        .query(
            "select master_key_version, count(*) as keys from (
                 select master_key_version from identity.data_keys
                 union all
                 -- The sealed bodies of the PMS feed's events still waiting (pms_feed).
                 select master_key_version from identity.pms_events
                 where master_key_version is not null
             ) keys group by 1 order by 1",
            &[],
        )
        .await?
        .iter()
        .map(|row| (row.get("master_key_version"), row.get("keys")))
        .collect())
}

/// Re-wraps up to `batch` data keys that are not under the current master key version, each
/// batch in its own short transaction (records are never re-encrypted: only their keys). Returns
/// how many were re-wrapped; call until 0. Servers keep running meanwhile: every key opens under
/// either version as long as both are configured.
pub async fn rewrap_data_keys(
    client: &mut deadpool_postgres::Client,
    keys: &Keyring,
    batch: i64,
) -> Result<usize> {
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "select person_id, master_key_version, wrapped_key from identity.data_keys
             where master_key_version <> $1 order by person_id limit $2
             for update skip locked",
            &[&keys.current_version(), &batch],
        )
        .await?;
    for row in &rows {
        let person_id: Uuid = row.get("person_id");
        let key = keys.unwrap(
            person_id,
            &WrappedKey {
                version: row.get("master_key_version"),
                bytes: row.get("wrapped_key"),
            },
        )?;
        let wrapped = keys.wrap(person_id, &key)?;
        tx.execute(
            "update identity.data_keys
             set master_key_version = $2, wrapped_key = $3, rewrapped_at = now()
             where person_id = $1",
            &[&person_id, &wrapped.version, &wrapped.bytes],
        )
        .await?;
    }
    tx.commit().await?;
    let rewrapped = rows.len();
    // Then the keys of the PMS feed's waiting events, within the same batch size.
    let room = batch - i64::try_from(rewrapped).unwrap_or(batch);
    if room > 0 {
        return Ok(rewrapped + super::pms_feed::rewrap_event_keys(client, keys, room).await?);
    }
    Ok(rewrapped)
}

/// Seals records written before V7 (plaintext columns) under new data keys and clears the
/// plaintext. Returns how many. `saldo migrate` and `saldo serve` run it after migrating.
pub async fn seal_legacy_records(client: &mut deadpool_postgres::Client) -> Result<usize> {
    let keys = crypto::current();
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "select person_id, prisoner_number, full_name, national_id, date_of_birth,
                    preferred_language, unit, payout_iban
             from identity.prisoners
             where sealed is null and erased_at is null and prisoner_number is not null
             for update",
            &[],
        )
        .await?;
    let mut sealed_count = 0;
    for row in &rows {
        let person_id: Uuid = row.get("person_id");
        let prisoner = NewPrisoner {
            prisoner_number: row.get("prisoner_number"),
            full_name: row.get("full_name"),
            national_id: row.get("national_id"),
            date_of_birth: row.get("date_of_birth"),
            preferred_language: Lang::parse(row.get("preferred_language")).unwrap_or_default(),
            unit: row.get("unit"),
            payout_iban: row.get("payout_iban"),
        };
        let key = new_data_key(&tx, &keys, person_id).await?;
        let (nonce, sealed) = seal(
            &key,
            &aad(PRISONER_AAD, person_id),
            &prisoner_secret(&prisoner),
        )?;
        tx.execute(
            "update identity.prisoners set sealed = $2, nonce = $3, data_key_id = $1,
                prisoner_number_hmac = $4, national_id_hmac = $5, prisoner_number = null,
                full_name = null, national_id = null, date_of_birth = null,
                preferred_language = null, unit = null, payout_iban = null
             where person_id = $1",
            &[
                &person_id,
                &sealed,
                &nonce,
                &keys.lookup_hash(LOOKUP_NUMBER, &prisoner.prisoner_number),
                &prisoner
                    .national_id
                    .as_deref()
                    .map(|id| keys.lookup_hash(LOOKUP_NATIONAL_ID, id)),
            ],
        )
        .await?;
        sealed_count += 1;
    }
    let depositors = tx
        .query(
            "select person_id, full_name, contact, bank_account from identity.depositors
             where sealed is null and erased_at is null and full_name is not null for update",
            &[],
        )
        .await?;
    for row in &depositors {
        let person_id: Uuid = row.get("person_id");
        let key = new_data_key(&tx, &keys, person_id).await?;
        let (nonce, sealed) = seal(
            &key,
            &aad(DEPOSITOR_AAD, person_id),
            &DepositorSecret {
                full_name: row.get("full_name"),
                contact: row.get("contact"),
                bank_account: row.get("bank_account"),
            },
        )?;
        tx.execute(
            "update identity.depositors set sealed = $2, nonce = $3, data_key_id = $1,
                full_name = null, contact = null, bank_account = null
             where person_id = $1",
            &[&person_id, &sealed, &nonce],
        )
        .await?;
        sealed_count += 1;
    }
    tx.commit().await?;
    Ok(sealed_count)
}
