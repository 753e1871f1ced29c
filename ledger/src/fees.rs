//! Fees as postings (docs/fees.md): every fee is an entry of its own on a named fee account, with
//! its kind in the entry's metadata and a row in `fees.charges` naming the entry; who bears a
//! card-level fee is a policy per prison, fee kind and currency (`fees.policies`, append-only);
//! the fee report per prison and month is summed from the fee entries' postings.
//!
//! | fee | debit | credit |
//! |---|---|---|
//! | `processor_program` (a settlement FEE row) | `processor_fees` (expense) | `processor_funding` |
//! | a card-level fee the service bears | `fee_<kind>` (expense) | `fees_income` |
//! | a card-level fee the prisoner bears | the prisoner's spendable | `fees_income` |
//!
//! A card-level fee is charged by the service's tariff whoever bears it (`fees_income`); the
//! debit says who bears it. The service's net fee cost is then `processor_fees` + the `fee_<kind>`
//! expenses − `fees_income`: the processor's bill less what prisoners paid.

use deadpool_postgres::{GenericClient, Transaction};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::accounts::institution_account;
use crate::entry_text::EntryText;
use crate::error::{LedgerError, LedgerResult};
use crate::model::{AccountType, EntryDraft, ExternalRef, Overdraft, PostingDraft};
use crate::money::{Currency, Money};
use crate::store;

/// The external reference kind of a fee entry: `<fee_kind>:<source_ref>`, unique.
pub const FEE_REF_KIND: &str = "fee";

/// The institution's account purposes for fees.
pub mod fee_purpose {
    /// What the processor charges the program (an expense): the settlement file's FEE rows.
    pub const PROCESSOR_FEES: &str = "processor_fees";
    /// ATM withdrawal fees the service bears (an expense).
    pub const ATM_WITHDRAWAL: &str = "fee_atm_withdrawal";
    /// Card replacement fees the service bears (an expense).
    pub const CARD_REPLACEMENT: &str = "fee_card_replacement";
}

/// The kinds of fee. Room for more: a kind is a variant here, a purpose above and a value in
/// V23's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeKind {
    /// A program fee the processor charges in its settlement file (a FEE row): no card, no
    /// prison; always the service's.
    ProcessorProgram,
    /// A cash withdrawal at an ATM (a clearing whose authorization's channel was `ATM`, or whose
    /// merchant category is 6011, automated cash disbursement).
    AtmWithdrawal,
    /// A replacement card (a reissue staff asked for).
    CardReplacement,
}

impl FeeKind {
    pub const ALL: [FeeKind; 3] = [
        FeeKind::ProcessorProgram,
        FeeKind::AtmWithdrawal,
        FeeKind::CardReplacement,
    ];

    /// The kinds a prison's policy sets (those with a card, so with a prison and a prisoner).
    pub const CARD_LEVEL: [FeeKind; 2] = [FeeKind::AtmWithdrawal, FeeKind::CardReplacement];

    pub fn as_str(self) -> &'static str {
        match self {
            FeeKind::ProcessorProgram => "processor_program",
            FeeKind::AtmWithdrawal => "atm_withdrawal",
            FeeKind::CardReplacement => "card_replacement",
        }
    }

    pub fn parse(text: &str) -> LedgerResult<FeeKind> {
        FeeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| {
                LedgerError::invalid(
                    "fee_kind_invalid",
                    "fee kind is processor_program, atm_withdrawal or card_replacement",
                )
            })
    }

    /// The expense account purpose the service's share of this fee is booked on.
    pub fn expense_purpose(self) -> &'static str {
        match self {
            FeeKind::ProcessorProgram => fee_purpose::PROCESSOR_FEES,
            FeeKind::AtmWithdrawal => fee_purpose::ATM_WITHDRAWAL,
            FeeKind::CardReplacement => fee_purpose::CARD_REPLACEMENT,
        }
    }

    pub fn is_card_level(self) -> bool {
        FeeKind::CARD_LEVEL.contains(&self)
    }

    /// The entry's description, from the closed vocabulary a kiosk translates.
    fn entry_text(self) -> EntryText {
        match self {
            FeeKind::ProcessorProgram => EntryText::FeeProcessorProgram,
            FeeKind::AtmWithdrawal => EntryText::FeeAtmWithdrawal,
            FeeKind::CardReplacement => EntryText::FeeCardReplacement,
        }
    }
}

/// Who bears a fee. The service, unless a prison's policy says otherwise.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Bearer {
    #[default]
    Service,
    Prisoner,
}

impl Bearer {
    pub fn as_str(self) -> &'static str {
        match self {
            Bearer::Service => "service",
            Bearer::Prisoner => "prisoner",
        }
    }

    pub fn parse(text: &str) -> LedgerResult<Bearer> {
        match text {
            "service" => Ok(Bearer::Service),
            "prisoner" => Ok(Bearer::Prisoner),
            _ => Err(LedgerError::invalid(
                "borne_by_invalid",
                "borne_by is service or prisoner",
            )),
        }
    }
}

/// A prison's policy for one card-level fee kind in one currency, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeePolicy {
    pub id: i64,
    pub prison_id: Uuid,
    pub fee_kind: FeeKind,
    pub amount: Money,
    pub borne_by: Bearer,
    pub reason: String,
    pub set_by: String,
    pub set_at: OffsetDateTime,
}

impl TryFrom<&tokio_postgres::Row> for FeePolicy {
    type Error = LedgerError;

    fn try_from(row: &tokio_postgres::Row) -> LedgerResult<FeePolicy> {
        let currency = Currency::from_code(row.get::<_, &str>("currency"))?;
        Ok(FeePolicy {
            id: row.get("id"),
            prison_id: row.get("prison_id"),
            fee_kind: FeeKind::parse(row.get("fee_kind"))?,
            amount: Money::new(row.get("amount_minor"), currency),
            borne_by: Bearer::parse(row.get("borne_by"))?,
            reason: row.get("reason"),
            set_by: row.get("set_by"),
            set_at: row.get("set_at"),
        })
    }
}

const POLICY_COLUMNS: &str = "id, prison_id, fee_kind, currency::text as currency, amount_minor, borne_by, reason, set_by, set_at";

/// The policy in force for a fee kind in a prison and currency, if one was ever set.
pub async fn policy_in_force(
    client: &impl GenericClient,
    prison_id: Uuid,
    fee_kind: FeeKind,
    currency: Currency,
) -> LedgerResult<Option<FeePolicy>> {
    let statement = client
        .prepare_cached(&format!(
            "select {POLICY_COLUMNS} from fees.policies
             where prison_id = $1 and fee_kind = $2 and currency = $3
             order by id desc limit 1"
        ))
        .await?;
    client
        .query_opt(
            &statement,
            &[&prison_id, &fee_kind.as_str(), &currency.code()],
        )
        .await?
        .as_ref()
        .map(FeePolicy::try_from)
        .transpose()
}

/// Every policy a prison ever had, newest first (the history: nothing is overwritten).
pub async fn policy_history(
    client: &impl GenericClient,
    prison_id: Uuid,
) -> LedgerResult<Vec<FeePolicy>> {
    client
        .query(
            &format!(
                "select {POLICY_COLUMNS} from fees.policies where prison_id = $1
                 order by id desc limit 500"
            ),
            &[&prison_id],
        )
        .await?
        .iter()
        .map(FeePolicy::try_from)
        .collect()
}

/// A new policy for a card-level fee kind.
#[derive(Debug, Clone)]
pub struct NewFeePolicy {
    pub prison_id: Uuid,
    pub fee_kind: FeeKind,
    pub amount: Money,
    pub borne_by: Bearer,
    pub reason: String,
    pub set_by: String,
}

/// Records a policy (a new row beside the old ones). The same amount and bearer as the policy
/// in force changes nothing and answers that one. Program fees take no policy
/// (`fee_kind_not_set_per_prison`): the processor bills the program, not a card.
pub async fn set_policy(tx: &Transaction<'_>, policy: &NewFeePolicy) -> LedgerResult<FeePolicy> {
    if !policy.fee_kind.is_card_level() {
        return Err(LedgerError::invalid(
            "fee_kind_not_set_per_prison",
            "processor program fees are the service's: only atm_withdrawal and card_replacement \
             have a policy per prison",
        ));
    }
    if policy.amount.amount_minor < 0 {
        return Err(LedgerError::invalid(
            "fee_amount_negative",
            "a fee is zero or more",
        ));
    }
    if policy.amount.amount_minor > policy.amount.currency.max_amount_minor() {
        return Err(LedgerError::invalid(
            "amount_beyond_bound",
            "the fee is beyond the currency's bound",
        ));
    }
    let reason = policy.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(LedgerError::invalid(
            "reason_required",
            "a reason of 1 to 500 characters is required",
        ));
    }
    // One writer per prison and kind at a time, so "the same again" is decided on what is there.
    tx.execute(
        "select pg_advisory_xact_lock(hashtext($1))",
        &[&format!(
            "fee_policy:{}:{}",
            policy.prison_id,
            policy.fee_kind.as_str()
        )],
    )
    .await?;
    if let Some(current) = policy_in_force(
        tx,
        policy.prison_id,
        policy.fee_kind,
        policy.amount.currency,
    )
    .await?
        && current.amount == policy.amount
        && current.borne_by == policy.borne_by
    {
        return Ok(current);
    }
    let row = tx
        .query_one(
            &format!(
                "insert into fees.policies
                     (prison_id, fee_kind, currency, amount_minor, borne_by, reason, set_by)
                 values ($1, $2, $3, $4, $5, $6, $7)
                 returning {POLICY_COLUMNS}"
            ),
            &[
                &policy.prison_id,
                &policy.fee_kind.as_str(),
                &policy.amount.currency.code(),
                &policy.amount.amount_minor,
                &policy.borne_by.as_str(),
                &reason,
                &policy.set_by,
            ],
        )
        .await?;
    FeePolicy::try_from(&row)
}

/// A fee booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeCharge {
    pub entry_id: Uuid,
    pub fee_kind: FeeKind,
    pub prison_id: Option<Uuid>,
    pub amount: Money,
    pub borne_by: Bearer,
}

/// Writes the fee's entry and its `fees.charges` row. Idempotent by (kind, source): the same fee
/// again replays the entry and writes no second row.
#[allow(clippy::too_many_arguments)]
async fn book(
    tx: &Transaction<'_>,
    fee_kind: FeeKind,
    source_ref: &str,
    prison_id: Option<Uuid>,
    policy_id: Option<i64>,
    borne_by: Bearer,
    effective_date: Date,
    postings: Vec<PostingDraft>,
    metadata: serde_json::Value,
) -> LedgerResult<Uuid> {
    let reference = format!("{}:{source_ref}", fee_kind.as_str());
    let entry = store::post_entry(
        tx,
        &EntryDraft {
            idempotency_key: format!("fee:{reference}"),
            effective_date,
            // Who bore it is in the metadata and `fees.charges`.
            description: fee_kind.entry_text().english().to_owned(),
            metadata,
            external_refs: vec![ExternalRef {
                kind: FEE_REF_KIND.into(),
                value: reference,
                unique: true,
            }],
            postings,
            overdraft: Overdraft::Refuse,
        },
    )
    .await?;
    tx.execute(
        "insert into fees.charges
             (fee_kind, prison_id, source_ref, entry_id, borne_by, policy_id, effective_date)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (fee_kind, source_ref) do nothing",
        &[
            &fee_kind.as_str(),
            &prison_id,
            &source_ref,
            &entry.id,
            &borne_by.as_str(),
            &policy_id,
            &effective_date,
        ],
    )
    .await?;
    Ok(entry.id)
}

/// Books one program fee row of a settlement file: debit `processor_fees`, credit the processor
/// funding account (the processor took it from there). `source_ref` is `YYYY-MM-DD:<record_id>`.
pub async fn book_program_fee(
    tx: &Transaction<'_>,
    source_ref: &str,
    amount: Money,
    effective_date: Date,
    metadata: serde_json::Value,
) -> LedgerResult<FeeCharge> {
    let expense = institution_account(
        tx,
        FeeKind::ProcessorProgram.expense_purpose(),
        AccountType::Expense,
        amount.currency,
    )
    .await?;
    let funding = institution_account(
        tx,
        crate::model::institution_purpose::PROCESSOR_FUNDING,
        AccountType::Asset,
        amount.currency,
    )
    .await?;
    let entry_id = book(
        tx,
        FeeKind::ProcessorProgram,
        source_ref,
        None,
        None,
        Bearer::Service,
        effective_date,
        vec![
            PostingDraft::debit(expense, amount),
            PostingDraft::credit(funding, amount)?,
        ],
        metadata_with_kind(metadata, FeeKind::ProcessorProgram, Bearer::Service),
    )
    .await?;
    Ok(FeeCharge {
        entry_id,
        fee_kind: FeeKind::ProcessorProgram,
        prison_id: None,
        amount,
        borne_by: Bearer::Service,
    })
}

fn metadata_with_kind(
    metadata: serde_json::Value,
    fee_kind: FeeKind,
    borne_by: Bearer,
) -> serde_json::Value {
    let mut object = match metadata {
        serde_json::Value::Object(object) => object,
        _ => serde_json::Map::new(),
    };
    object.insert("fee_kind".into(), fee_kind.as_str().into());
    object.insert("borne_by".into(), borne_by.as_str().into());
    serde_json::Value::Object(object)
}

/// A card-level fee's event: which card account, which prison, what caused it.
#[derive(Debug, Clone)]
pub struct CardFeeEvent<'a> {
    pub fee_kind: FeeKind,
    pub prison_id: Uuid,
    /// The prisoner's spendable account (the card's account).
    pub spendable_account_id: Uuid,
    pub currency: Currency,
    /// What caused it: the processor transaction id, the staff action id.
    pub source_ref: &'a str,
    pub effective_date: Date,
}

/// Books a card-level fee per the prison's policy in force: nothing when no policy sets a fee
/// above zero. A prisoner-borne fee never takes the prisoner's available balance below zero:
/// when it does not cover the fee, the service bears it (`metadata.shifted_to_service`).
pub async fn charge_card_fee(
    tx: &Transaction<'_>,
    event: &CardFeeEvent<'_>,
) -> LedgerResult<Option<FeeCharge>> {
    let Some(policy) = policy_in_force(tx, event.prison_id, event.fee_kind, event.currency).await?
    else {
        return Ok(None);
    };
    if policy.amount.amount_minor <= 0 {
        return Ok(None);
    }
    let amount = policy.amount;
    let mut borne_by = policy.borne_by;
    let mut shifted_to_service = false;
    if borne_by == Bearer::Prisoner {
        let balance = store::balance(tx, event.spendable_account_id).await?;
        if balance.available.amount_minor < amount.amount_minor {
            borne_by = Bearer::Service;
            shifted_to_service = true;
        }
    }
    let income = institution_account(
        tx,
        crate::model::institution_purpose::FEES_INCOME,
        AccountType::Income,
        amount.currency,
    )
    .await?;
    let debit_account = match borne_by {
        Bearer::Prisoner => event.spendable_account_id,
        Bearer::Service => {
            institution_account(
                tx,
                event.fee_kind.expense_purpose(),
                AccountType::Expense,
                amount.currency,
            )
            .await?
        }
    };
    let metadata = serde_json::json!({
        "prison_id": event.prison_id,
        "policy_id": policy.id,
        "source_ref": event.source_ref,
        "shifted_to_service": shifted_to_service,
    });
    let entry_id = book(
        tx,
        event.fee_kind,
        event.source_ref,
        Some(event.prison_id),
        Some(policy.id),
        borne_by,
        event.effective_date,
        vec![
            PostingDraft::debit(debit_account, amount),
            PostingDraft::credit(income, amount)?,
        ],
        metadata_with_kind(metadata, event.fee_kind, borne_by),
    )
    .await?;
    Ok(Some(FeeCharge {
        entry_id,
        fee_kind: event.fee_kind,
        prison_id: Some(event.prison_id),
        amount,
        borne_by,
    }))
}

/// The prison a person is in now: their latest card mode's (`controls.card_modes`).
pub async fn prison_of_person(
    client: &impl GenericClient,
    person_id: Uuid,
) -> LedgerResult<Option<Uuid>> {
    let statement = client
        .prepare_cached(
            "select prison_id from controls.card_modes where person_id = $1
             order by effective_from desc, id desc limit 1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&person_id])
        .await?
        .map(|row| row.get("prison_id")))
}

/// One line of the fee report: a fee kind, who bore it, in a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeeReportLine {
    pub fee_kind: FeeKind,
    /// True for the processor's program fees: the whole program's, the same on every prison's
    /// report, not apportioned (docs/fees.md).
    pub program_wide: bool,
    pub borne_by: Bearer,
    pub currency: Currency,
    pub count: i64,
    pub total_minor: i64,
}

/// The fees of a prison (and the program-wide fees) with effective dates in `[from, until)`,
/// summed from the fee entries' debit postings; fees whose entry was reversed are left out.
pub async fn report_lines(
    client: &impl GenericClient,
    prison_id: Uuid,
    from: Date,
    until: Date,
) -> LedgerResult<Vec<FeeReportLine>> {
    let rows = client
        .query(
            "select c.fee_kind, c.prison_id is null as program_wide, c.borne_by,
                    p.currency::text as currency, count(*) as count,
                    sum(p.amount_minor)::bigint as total_minor
             from fees.charges c
             join journal_postings p on p.entry_id = c.entry_id and p.amount_minor > 0
             where (c.prison_id = $1 or c.prison_id is null)
               and c.effective_date >= $2 and c.effective_date < $3
               and not exists (select 1 from journal_entries r where r.reverses_entry_id = c.entry_id)
             group by 1, 2, 3, 4
             order by 2, 1, 3, 4",
            &[&prison_id, &from, &until],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FeeReportLine {
                fee_kind: FeeKind::parse(row.get("fee_kind"))?,
                program_wide: row.get("program_wide"),
                borne_by: Bearer::parse(row.get("borne_by"))?,
                currency: Currency::from_code(row.get::<_, &str>("currency"))?,
                count: row.get("count"),
                total_minor: row.get("total_minor"),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Bearer, FeeKind};

    #[test]
    fn every_fee_kind_and_bearer_reads_back_from_its_name_and_nothing_else_does() {
        for kind in FeeKind::ALL {
            assert_eq!(FeeKind::parse(kind.as_str()).unwrap(), kind);
        }
        for bearer in [Bearer::Service, Bearer::Prisoner] {
            assert_eq!(Bearer::parse(bearer.as_str()).unwrap(), bearer);
        }
        assert_eq!(
            FeeKind::parse("atm").unwrap_err().code(),
            "fee_kind_invalid"
        );
        assert_eq!(
            Bearer::parse("family").unwrap_err().code(),
            "borne_by_invalid"
        );
        assert_eq!(
            Bearer::default(),
            Bearer::Service,
            "the service bears by default"
        );
    }

    #[test]
    fn only_card_level_fees_have_a_policy_and_each_kind_has_its_own_expense_account() {
        assert!(!FeeKind::ProcessorProgram.is_card_level());
        assert!(FeeKind::AtmWithdrawal.is_card_level());
        assert!(FeeKind::CardReplacement.is_card_level());
        let purposes: std::collections::BTreeSet<_> = FeeKind::ALL
            .iter()
            .map(|kind| kind.expense_purpose())
            .collect();
        assert_eq!(purposes.len(), FeeKind::ALL.len());
    }
}
