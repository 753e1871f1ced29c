//! Saldo's settings: read once at start, from a flag or its environment variable (clap), and
//! passed down; nothing below reads the environment. Below `cli`, the demo and the privacy
//! commands, which all take them.
use std::path::PathBuf;

/// Settings read once at start (a flag or its environment variable) and passed down: nothing
/// below reads the environment.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Settings {
    /// `true`: session cookies are `Secure` whatever the connection (behind a TLS proxy that is
    /// not a trusted proxy).
    #[arg(long, env = "SALDO_COOKIE_SECURE", global = true)]
    pub cookie_secure: Option<String>,
    /// Retention periods over the defaults, e.g. `prisoner_identity=5y,access_log=5y`.
    #[arg(long, env = "SALDO_RETENTION", global = true)]
    pub retention: Option<String>,
    /// Identity store keys, `1:<base64>,2:<base64>` (else the key file).
    #[arg(long, env = "SALDO_MASTER_KEYS", global = true, hide_env_values = true)]
    pub master_keys: Option<String>,
    /// Which master key is current (default: the highest).
    #[arg(long, env = "SALDO_MASTER_KEY_VERSION", global = true)]
    pub master_key_version: Option<String>,
    /// The HMAC look-up key (with --master-keys).
    #[arg(long, env = "SALDO_LOOKUP_KEY", global = true, hide_env_values = true)]
    pub lookup_key: Option<String>,
    /// A key file (default: `<data dir>/identity-keys`, generated when missing).
    #[arg(long, env = "SALDO_KEY_FILE", global = true)]
    pub key_file: Option<String>,
    /// The entitlement statement's Ed25519 signing key (default:
    /// `<data dir>/statement-signing-key`, generated when missing).
    #[arg(long, env = "SALDO_STATEMENT_KEY_FILE", global = true)]
    pub statement_key_file: Option<String>,
    /// The country of each store and endpoint, e.g. `identity:FI,ledger:FI,processor:US`.
    #[arg(long, env = "SALDO_DATA_LOCATION", global = true)]
    pub data_location: Option<String>,
    /// A file with the same, one per line (when --data-location is not given).
    #[arg(long, env = "SALDO_DATA_LOCATION_FILE", global = true)]
    pub data_location_file: Option<String>,
}

impl Settings {
    /// `SALDO_COOKIE_SECURE=true`.
    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.as_deref() == Some("true")
    }

    /// The retention periods (the defaults when unset).
    pub fn retention(&self) -> anyhow::Result<crate::identity::retention::RetentionPolicy> {
        crate::identity::retention::RetentionPolicy::parse(
            self.retention.as_deref().unwrap_or_default(),
        )
    }

    /// Where the identity keys come from; a blank value counts as unset.
    pub fn key_source(&self, data_dir: PathBuf) -> crate::identity::crypto::KeySource {
        let given = |value: &Option<String>| {
            value
                .as_ref()
                .filter(|value| !value.trim().is_empty())
                .cloned()
        };
        crate::identity::crypto::KeySource {
            master_keys: given(&self.master_keys),
            master_key_version: given(&self.master_key_version)
                .and_then(|value| value.trim().parse().ok()),
            lookup_key: given(&self.lookup_key),
            key_file: given(&self.key_file).map(PathBuf::from),
            data_dir,
        }
    }

    /// The entitlement statement's signing key, from its file beside the identity keys
    /// (generated, 0600, on first use).
    pub fn statement_key(
        &self,
        data_dir: PathBuf,
    ) -> anyhow::Result<entitlements::ed25519_dalek::SigningKey> {
        let path = match self
            .statement_key_file
            .as_ref()
            .filter(|p| !p.trim().is_empty())
        {
            Some(path) => PathBuf::from(path),
            None => data_dir.join("statement-signing-key"),
        };
        let (seed, _) = crate::identity::crypto::signing_seed(&path)?;
        Ok(entitlements::ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The declared data locations: `SALDO_DATA_LOCATION`, or the file
    /// `SALDO_DATA_LOCATION_FILE`; empty if neither.
    pub fn data_locations(&self) -> anyhow::Result<crate::identity::residency::Locations> {
        use crate::identity::residency::Locations;
        if let Some(text) = &self.data_location {
            return Locations::parse(text);
        }
        if let Some(path) = &self.data_location_file {
            let text = std::fs::read_to_string(path)
                .map_err(|error| anyhow::anyhow!("SALDO_DATA_LOCATION_FILE {path}: {error}"))?;
            return Locations::parse(&text);
        }
        Ok(Locations::default())
    }
}
