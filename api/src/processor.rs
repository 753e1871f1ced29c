//! Saldo's side of the processor connection, as configured: the outbox worker, and the identity
//! store seen from the egress guard (whose personal data to look for; where disclosures are
//! logged).

use std::sync::Arc;

use card_adapter::client::{ClientConfig, ProcessorClient};
use card_adapter::egress::{EgressRecord, PgEgressRegister};
use card_adapter::outbox::{OutboxWorker, PersonalData};
use card_adapter::processors::DEFAULT_PROCESSOR;
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
    /// `p1` for the default processor (`SALDO_PROCESSOR_URL`); others from `SALDO_PROCESSORS`.
    pub processor_id: String,
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

/// Saldo's client of the default processor: every request it sends, reads included, is written
/// to the egress register in `pool`'s database.
pub fn processor_client(pool: Pool, config: ClientConfig) -> anyhow::Result<ProcessorClient> {
    processor_client_for(pool, DEFAULT_PROCESSOR, config)
}

/// [`processor_client`] for any processor: its register rows name it.
pub fn processor_client_for(
    pool: Pool,
    processor_id: &str,
    config: ClientConfig,
) -> anyhow::Result<ProcessorClient> {
    let register = PgEgressRegister {
        pool,
        processor_id: processor_id.to_owned(),
    };
    ProcessorClient::new(config, Arc::new(register))
        .map_err(|error| anyhow::anyhow!("processor client: {error}"))
}

/// The worker that delivers `config`'s processor's calls (and only those).
pub fn outbox_worker(pool: Pool, config: &ProcessorConfig) -> anyhow::Result<OutboxWorker> {
    let client = processor_client_for(
        pool.clone(),
        &config.processor_id,
        ClientConfig::new(
            config.base_url.clone(),
            config.api_key.clone(),
            config.program_card_name.clone(),
        ),
    )?;
    Ok(OutboxWorker {
        processor_id: config.processor_id.clone(),
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

/// A processor beside the default one (`SALDO_PROCESSORS`): where it is, how Saldo appears to
/// it, and the secrets its webhooks are signed with.
#[derive(Debug, Clone)]
pub struct OtherProcessor {
    pub config: ProcessorConfig,
    pub webhook_secrets: Vec<processor_protocol::signature::WebhookSecret>,
}

/// What the default processor's settings say, for the others to inherit where they say nothing.
pub struct ProcessorDefaults<'a> {
    pub program: &'a str,
    pub program_card_name: &'a str,
    pub pseudonym_keys: &'a str,
    pub pseudonym_key_version: u32,
}

/// Parses `SALDO_PROCESSORS`: one processor per line (or `;`-separated), an id then
/// `key=value` words: `url=` (required), `api_key=`, `webhook_secrets=whsec_a,whsec_b`,
/// `pseudonym_key_version=` (required: a version of `SALDO_PSEUDONYM_KEYS` no other processor
/// uses, so the processors' pseudonyms of one person cannot be linked), `program=`,
/// `card_name=` (underscores read as spaces). E.g.
/// `p2 url=https://api.new.example api_key=sk_live webhook_secrets=whsec_x pseudonym_key_version=2`.
pub fn parse_other_processors(
    spec: &str,
    defaults: &ProcessorDefaults<'_>,
) -> anyhow::Result<Vec<OtherProcessor>> {
    let mut processors: Vec<OtherProcessor> = Vec::new();
    let mut versions = vec![defaults.pseudonym_key_version];
    for line in spec
        .split(['\n', ';'])
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
    {
        let mut words = line.split_whitespace();
        let processor_id = words.next().unwrap_or_default().to_owned();
        if !card_adapter::processors::is_valid_id(&processor_id)
            || processor_id == DEFAULT_PROCESSOR
        {
            anyhow::bail!(
                "SALDO_PROCESSORS: {processor_id:?} is not a processor id (1 to 16 of a-z, 0-9, _; not {DEFAULT_PROCESSOR}, the default)"
            );
        }
        if processors
            .iter()
            .any(|p| p.config.processor_id == processor_id)
        {
            anyhow::bail!("SALDO_PROCESSORS: {processor_id} is configured twice");
        }
        let mut settings = std::collections::BTreeMap::new();
        for word in words {
            let (key, value) = word.split_once('=').ok_or_else(|| {
                anyhow::anyhow!("SALDO_PROCESSORS: {processor_id}: expected key=value")
            })?;
            settings.insert(key, value);
        }
        let known = [
            "url",
            "api_key",
            "webhook_secrets",
            "pseudonym_key_version",
            "program",
            "card_name",
        ];
        if let Some(unknown) = settings.keys().find(|key| !known.contains(key)) {
            anyhow::bail!("SALDO_PROCESSORS: {processor_id}: unknown setting {unknown}");
        }
        let base_url = settings
            .get("url")
            .ok_or_else(|| anyhow::anyhow!("SALDO_PROCESSORS: {processor_id}: url= is required"))?
            .to_string();
        let version: u32 = settings
            .get("pseudonym_key_version")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "SALDO_PROCESSORS: {processor_id}: pseudonym_key_version= (a number) is required"
                )
            })?;
        if versions.contains(&version) {
            anyhow::bail!(
                "SALDO_PROCESSORS: {processor_id}: pseudonym key version {version} is another processor's; each processor needs its own"
            );
        }
        versions.push(version);
        let pseudonyms = PseudonymKeys::parse(defaults.pseudonym_keys, version)
            .map_err(|error| anyhow::anyhow!("SALDO_PROCESSORS: {processor_id}: {error}"))?;
        let webhook_secrets = settings
            .get("webhook_secrets")
            .map(|secrets| {
                secrets
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(processor_protocol::signature::WebhookSecret::parse)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(|error| anyhow::anyhow!("SALDO_PROCESSORS: {processor_id}: {error}"))?
            .unwrap_or_default();
        processors.push(OtherProcessor {
            config: ProcessorConfig {
                processor_id,
                base_url,
                api_key: settings
                    .get("api_key")
                    .copied()
                    .unwrap_or_default()
                    .to_owned(),
                program: settings
                    .get("program")
                    .copied()
                    .unwrap_or(defaults.program)
                    .to_owned(),
                program_card_name: settings
                    .get("card_name")
                    .map(|name| name.replace('_', " "))
                    .unwrap_or_else(|| defaults.program_card_name.to_owned()),
                pseudonyms,
            },
            webhook_secrets,
        });
    }
    Ok(processors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn keys() -> String {
        let b64 = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        format!("1:{},2:{}", b64(1), b64(2))
    }

    fn defaults(keys: &str) -> ProcessorDefaults<'_> {
        ProcessorDefaults {
            program: "prison-fi",
            program_card_name: "PRISON SERVICE CARD",
            pseudonym_keys: keys,
            pseudonym_key_version: 1,
        }
    }

    #[test]
    fn a_second_processor_is_read_with_its_own_key_version_and_secrets() {
        let keys = keys();
        let secret = processor_protocol::signature::WebhookSecret::generate();
        let spec = format!(
            "# the new processor\np2 url=http://127.0.0.1:9 api_key=sk_2 webhook_secrets={} pseudonym_key_version=2",
            secret.to_whsec()
        );
        let parsed = parse_other_processors(&spec, &defaults(&keys)).unwrap();
        assert_eq!(parsed.len(), 1);
        let p2 = &parsed[0];
        assert_eq!(p2.config.processor_id, "p2");
        assert_eq!(p2.config.pseudonyms.current_version(), 2);
        assert_eq!(p2.config.program, "prison-fi");
        assert_eq!(p2.webhook_secrets.len(), 1);
    }

    #[test]
    fn processors_sharing_a_pseudonym_key_version_or_an_id_are_refused() {
        let keys = keys();
        for bad in [
            "p2 url=http://x pseudonym_key_version=1",
            "p2 url=http://x",
            "p2 pseudonym_key_version=2",
            "p1 url=http://x pseudonym_key_version=2",
            "P2 url=http://x pseudonym_key_version=2",
            "p2 url=http://x pseudonym_key_version=2 colour=red",
            "p2 url=http://x pseudonym_key_version=3",
        ] {
            assert!(
                parse_other_processors(bad, &defaults(&keys)).is_err(),
                "{bad}"
            );
        }
    }
}
