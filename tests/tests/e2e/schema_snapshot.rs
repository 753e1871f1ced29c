//! The schema after every migration, as `docs/schema.sql` records it: one file to read the
//! tables, functions and triggers in, and a migration's effect visible in review as a change to
//! it. Rewrite it with `UPDATE_SNAPSHOTS=1 cargo test -p saldo-tests --test e2e schema_snapshot`
//! (docs/ledger.md).

use saldo_tests::TestDb;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/schema.sql");

/// `pg_dump --schema-only` output without what differs between machines and runs: the server's
/// and pg_dump's version comments, and the `\restrict`/`\unrestrict` lines with their random
/// keys that newer pg_dump releases print.
fn normalize(dump: &str) -> String {
    let mut out = String::with_capacity(dump.len());
    for line in dump.lines() {
        if line.starts_with("-- Dumped from database version")
            || line.starts_with("-- Dumped by pg_dump version")
            || line.starts_with("\\restrict ")
            || line.starts_with("\\unrestrict ")
        {
            continue;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // Blank lines where a stripped line stood: at most one in a row, none at the end.
    let mut collapsed = String::with_capacity(out.len());
    let mut blank = false;
    for line in out.lines() {
        if line.is_empty() {
            if !blank {
                collapsed.push('\n');
            }
            blank = true;
        } else {
            collapsed.push_str(line);
            collapsed.push('\n');
            blank = false;
        }
    }
    collapsed.trim_end().to_owned() + "\n"
}

/// The schema of a freshly migrated database (a clone of the migrated template), as
/// `pg_dump --schema-only --no-owner --no-privileges` prints it, normalized.
async fn migrated_schema() -> String {
    let db = TestDb::new().await;
    let output = tokio::process::Command::new("pg_dump")
        .args([
            "--schema-only",
            "--no-owner",
            "--no-privileges",
            "--dbname",
            &db.url(),
        ])
        .output()
        .await
        .expect("pg_dump is not on PATH; install PostgreSQL's client (apt-get install postgresql-client)");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    normalize(&String::from_utf8(output.stdout).expect("pg_dump prints UTF-8"))
}

#[tokio::test]
async fn the_migrated_schema_matches_docs_schema_sql() {
    let actual = migrated_schema().await;
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|value| value == "1") {
        std::fs::write(SNAPSHOT, &actual).expect("write docs/schema.sql");
    }
    let expected = std::fs::read_to_string(SNAPSHOT).expect(
        "docs/schema.sql is missing: run \
         `UPDATE_SNAPSHOTS=1 cargo test -p saldo-tests --test e2e schema_snapshot`",
    );
    if expected != actual {
        let first_difference = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "the migrated schema differs from docs/schema.sql (first at line {}: {:?}); if the \
             migrations changed it on purpose, review the difference and run \
             `UPDATE_SNAPSHOTS=1 cargo test -p saldo-tests --test e2e schema_snapshot`",
            first_difference + 1,
            actual
                .lines()
                .nth(first_difference)
                .unwrap_or("<end of dump>")
        );
    }
}

#[test]
fn normalizing_drops_version_comments_and_restrict_keys() {
    let dump = "--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123\n\n\
                -- Dumped from database version 15.20\n-- Dumped by pg_dump version 15.20\n\n\
                SET lock_timeout = 0;  \n\n\n\\unrestrict AbC123\n\n";
    assert_eq!(
        normalize(dump),
        "--\n-- PostgreSQL database dump\n--\n\nSET lock_timeout = 0;\n"
    );
}
