//! Read-only commands of the `saldo` binary on a machine without `DATABASE_URL`: they never
//! create (or start) an embedded cluster.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A data directory of its own that does not exist yet.
fn fresh_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("saldo-cli-{}", uuid::Uuid::new_v4().simple()))
}

fn saldo(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_saldo"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("SALDO_DATA_DIR", data_dir)
        // A port no one uses, should a cluster be started against the rule.
        .env("SALDO_EMBEDDED_PG_PORT", "54391")
        .env("SALDO_DATA_LOCATION", "identity:FI,ledger:FI,processor:US")
        .env("SALDO_LOG", "warn")
        .output()
        .expect("run the saldo binary")
}

fn created_anything(data_dir: &Path) -> bool {
    data_dir.exists()
}

#[test]
fn residency_without_a_database_url_creates_and_starts_nothing() {
    let data_dir = fresh_data_dir();
    let output = saldo(&data_dir, &["residency", "--json"]);
    let created = created_anything(&data_dir);
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(
        output.status.success(),
        "residency failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let map: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("the data map as JSON");
    assert!(map.get("violations").is_some(), "{map}");
    assert!(
        !created,
        "a read-only report created {}",
        data_dir.display()
    );
}

/// `saldo verify` (and the other reports that only read) use an embedded cluster only if one
/// exists: with none, they refuse and say what to set, creating nothing.
#[test]
fn verify_without_a_database_url_or_an_embedded_cluster_refuses_and_creates_nothing() {
    let data_dir = fresh_data_dir();
    let output = saldo(&data_dir, &["verify"]);
    let created = created_anything(&data_dir);
    let _ = std::fs::remove_dir_all(&data_dir);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no embedded database") && stderr.contains("DATABASE_URL"),
        "{stderr}"
    );
    assert!(
        !created,
        "a read-only report created {}",
        data_dir.display()
    );
}
