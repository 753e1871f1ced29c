//! Saldo's side of the processor connection, as configured: the outbox worker, and the identity
//! store seen from the egress guard (whose personal data to look for; where disclosures are
//! logged).

use std::sync::Arc;

use card_adapter::client::{ClientConfig, ProcessorClient};
use card_adapter::egress::{EgressRecord, PgEgressRegister};
use card_adapter::outbox::{OutboxWorker, PersonalData};
use card_adapter::pseudonym::PseudonymKeys;
use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::identity::PrisonerField;
use crate::identity::access_log::{
    self, Access, Accessor, Action, ActorKind, Outcome, Purpose, SubjectKind,
};

/// How often the worker looks for due calls (it sends up to
/// `card_adapter::outbox::MAX_CALLS_IN_FLIGHT` at once).
const OUTBOX_POLL_MS: u64 = 500;

#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    pub base_url: String,
    pub api_key: String,
    pub program: String,
    pub program_card_name: String,
    pub pseudonyms: PseudonymKeys,
}

/// The identity store as the egress guard's source of personal data.
pub struct IdentityPersonalData {
    pub pool: Pool,
}

fn system(purpose: Purpose) -> Accessor {
    Accessor {
        actor_kind: ActorKind::System,
        actor_id: None,
        purpose,
        case_ref: None,
        request_id: None,
    }
}

impl IdentityPersonalData {
    async fn load(&self, person_id: Uuid) -> anyhow::Result<Vec<String>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let view = crate::identity::store::access_prisoner(
            &tx,
            &system(Purpose::EgressCheck),
            None,
            person_id,
            Action::Consult,
            &PrisonerField::RECORD,
        )
        .await
        .map_err(|_| anyhow::anyhow!("identity store unavailable"))?;
        let mut values = Vec::new();
        if let Some(view) = view {
            values.extend(view.prisoner_number);
            values.extend(view.national_id);
            values.extend(view.unit);
            values.extend(view.payout_iban);
            if let Some(name) = view.full_name {
                // The whole name, and the surname alone, which identifies too. Not every part:
                // a given name like "Card" would block the program's own card name.
                if let Some(surname) = name.split_whitespace().last()
                    && surname != name
                {
                    values.push(surname.to_owned());
                }
                values.push(name);
            }
            if let Some(date) = view.date_of_birth {
                values.push(date.to_string());
                values.push(format!(
                    "{:02}{:02}{:04}",
                    date.day(),
                    u8::from(date.month()),
                    date.year()
                ));
            }
            if let Ok(Some(prison)) = crate::identity::store::prison(&tx, view.prison_id).await {
                values.push(prison.name);
                values.push(prison.code);
            }
        }
        tx.commit().await?;
        Ok(values)
    }
}

impl PersonalData for IdentityPersonalData {
    fn values_for(
        &self,
        person_id: Uuid,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Vec<String>> + Send + '_>> {
        Box::pin(async move {
            match self.load(person_id).await {
                Ok(values) => values,
                Err(error) => {
                    // Without the values the guard still refuses personal fields by name; the
                    // call goes ahead only if it passes that.
                    tracing::warn!(%person_id, error = %error, "egress guard could not load personal data");
                    Vec::new()
                }
            }
        })
    }

    fn record_disclosure<'a>(
        &'a self,
        person_id: Uuid,
        sent: &'a EgressRecord,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let fields: Vec<&str> = sent.fields.iter().map(String::as_str).collect();
            let endpoint = sent.endpoint();
            let result = async {
                let client = self.pool.get().await?;
                access_log::record(
                    &client,
                    &system(Purpose::EgressCheck),
                    &Access {
                        action: Action::Disclose,
                        subject_kind: SubjectKind::Prisoner,
                        subject_person_id: Some(person_id),
                        prison_id: None,
                        fields: &fields,
                        outcome: Outcome::Ok,
                        recipient: Some(&endpoint),
                    },
                )
                .await?;
                anyhow::Ok(())
            }
            .await;
            if let Err(error) = result {
                tracing::warn!(%person_id, error = %error, "disclosure not logged");
            }
        })
    }
}

/// Saldo's processor client: every request it sends, reads included, is written to the egress
/// register in `pool`'s database.
pub fn processor_client(pool: Pool, config: ClientConfig) -> anyhow::Result<ProcessorClient> {
    ProcessorClient::new(config, Arc::new(PgEgressRegister { pool }))
        .map_err(|error| anyhow::anyhow!("processor client: {error}"))
}

pub fn outbox_worker(pool: Pool, config: &ProcessorConfig) -> anyhow::Result<OutboxWorker> {
    let client = processor_client(
        pool.clone(),
        ClientConfig::new(
            config.base_url.clone(),
            config.api_key.clone(),
            config.program_card_name.clone(),
        ),
    )?;
    Ok(OutboxWorker {
        personal_data: Arc::new(IdentityPersonalData { pool: pool.clone() }),
        pool,
        client,
        program_card_name: config.program_card_name.clone(),
        pseudonyms: config.pseudonyms.clone(),
        program: config.program.clone(),
        wake: card_adapter::outbox::OutboxWake::default(),
    })
}

/// Delivers the outbox until the process ends: calls go out concurrently, each card's in order
/// (`OutboxWorker::run`).
pub async fn run_outbox(worker: OutboxWorker) {
    Arc::new(worker).run(OUTBOX_POLL_MS).await;
}
