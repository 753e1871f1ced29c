//! Several database hosts (issue 17): the URL a Patroni cluster needs, with the primary found by
//! `target_session_attrs=read-write`; `/ready` while no primary answers; a connection that cannot
//! write any more is dropped by the pool; and the pool's order (the session returned last goes
//! out first). The failover itself is `scripts/ha-failover-test.sh`.
use ledger::{Currency, NewAccount, person_purpose};
use saldo::database::{DatabaseOptions, open};
use saldo_tests::TestDb;
use uuid::Uuid;

use crate::fixtures::*;

/// A loopback port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `db`'s URL with a dead host in front of the real one, and only read-write sessions accepted.
fn multi_host_url(db: &TestDb, attrs: &str) -> String {
    let url = db.url();
    let (scheme_user, rest) = url.split_once('@').unwrap();
    format!(
        "{scheme_user}@127.0.0.1:{},{rest}?{attrs}connect_timeout=2",
        dead_port()
    )
}

/// Through `saldo`'s own `DATABASE_URL` handling, as `saldo serve` does.
fn pool_for(url: &str) -> deadpool_postgres::Pool {
    let database = open(&DatabaseOptions {
        database_url: Some(url.to_owned()),
        data_dir: None,
        embedded_port: 0,
        read_only: false,
    })
    .unwrap();
    ledger::db::pool(database.config.clone(), 4).unwrap()
}

async fn spawn_app(pool: deadpool_postgres::Pool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(saldo::app::serve(
        saldo::state::AppState::new(pool),
        listener,
    ));
    format!("http://{address}")
}

async fn ready(base: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("{base}/ready")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn spendable_account() -> NewAccount {
    NewAccount::person(Uuid::now_v7(), person_purpose::SPENDABLE, Currency::EUR)
}

#[tokio::test]
async fn a_multi_host_url_skips_a_dead_host_and_writes_on_the_live_one() {
    let db = TestDb::new().await;
    let pool = pool_for(&multi_host_url(&db, "target_session_attrs=read-write&"));
    let base = spawn_app(pool.clone()).await;
    let (status, body) = ready(&base).await;
    assert_eq!(status, 200, "{body}");
    let account = ledger::Ledger::new(pool)
        .open_account(&key(), &spendable_account())
        .await
        .unwrap();
    assert_eq!(
        db.ledger().account(account.id).await.unwrap().id,
        account.id
    );
}

/// A database whose sessions cannot write stands in for a standby: with `read-write` required no
/// host qualifies (as while Patroni promotes), and without it `/ready` still refuses.
#[tokio::test]
async fn ready_is_503_while_no_host_accepts_writes() {
    let db = TestDb::new().await;
    db.raw_client()
        .await
        .batch_execute(&format!(
            "alter database {} set default_transaction_read_only = on",
            db.name
        ))
        .await
        .unwrap();

    let base = spawn_app(pool_for(&multi_host_url(
        &db,
        "target_session_attrs=read-write&",
    )))
    .await;
    let (status, body) = ready(&base).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "database_unavailable");

    let base = spawn_app(pool_for(&multi_host_url(&db, ""))).await;
    let (status, body) = ready(&base).await;
    assert_eq!(status, 503);
    assert_eq!(body["code"], "database_read_only");
}

/// A write refused with SQLSTATE 25006 (the node is a standby now) must not leave that
/// connection in the pool: the next write gets a new connection, which can write.
#[tokio::test]
async fn a_read_only_error_makes_the_pool_drop_the_connection() {
    let db = TestDb::new().await;
    let pool = ledger::db::pool(db.config.clone(), 1).unwrap();
    let first_pid: i32 = {
        let client = pool.get().await.unwrap();
        client
            .batch_execute("set default_transaction_read_only = on")
            .await
            .unwrap();
        client
            .query_one("select pg_backend_pid() as pid", &[])
            .await
            .unwrap()
            .get("pid")
    };
    let ledger = ledger::Ledger::new(pool.clone());
    let refused = ledger
        .open_account(&key(), &spendable_account())
        .await
        .unwrap_err();
    let ledger::LedgerError::Database(error) = &refused else {
        panic!("expected a database error, got {refused:?}");
    };
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION)
    );

    ledger
        .open_account(&key(), &spendable_account())
        .await
        .unwrap();
    let client = pool.get().await.unwrap();
    let pid: i32 = client
        .query_one("select pg_backend_pid() as pid", &[])
        .await
        .unwrap()
        .get("pid");
    assert_ne!(pid, first_pid, "the read-only connection was reused");
}

/// A session lost under a statement (a killed backend, a failover) goes back to the pool, and its
/// end may not be seen yet when the next request takes a connection: that request would fail on
/// the dead session too (the simulation met it). So a connection-class error, told to the ledger
/// as every error type is (`database_error_from!`), makes every connection opened before it be
/// reopened. The error is raised by the server with its real SQLSTATE; when a real kill is seen
/// in time is a race no test can pin down.
#[tokio::test]
async fn after_a_lost_connection_no_session_opened_before_it_is_handed_out_again() {
    let db = TestDb::new().await;
    let pool = ledger::db::pool(db.config.clone(), 2).unwrap();
    let (first, second) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    let before = [backend_pid(&first).await, backend_pid(&second).await];
    let lost = first
        .batch_execute(
            "do $$ begin raise exception 'connection lost' using errcode = '08006'; end $$",
        )
        .await
        .unwrap_err();
    let told = ledger::LedgerError::from(lost);
    assert!(
        matches!(&told, ledger::LedgerError::Database(error) if ledger::db::is_unavailable(error))
    );
    drop((first, second));

    let (third, fourth) = (pool.get().await.unwrap(), pool.get().await.unwrap());
    for pid in [backend_pid(&third).await, backend_pid(&fourth).await] {
        assert!(
            !before.contains(&pid),
            "session {pid}, opened before the lost connection, was handed out again"
        );
    }
}

async fn backend_pid(client: &tokio_postgres::Client) -> i32 {
    client
        .query_one("select pg_backend_pid() as pid", &[])
        .await
        .unwrap()
        .get("pid")
}

/// Sessions are handed out last returned, first out: under light load one warm backend serves
/// request after request, instead of each request waking the session idle longest. A session
/// reopened meanwhile (another test marking a lost connection) makes the scenario start again.
#[tokio::test]
async fn the_pool_hands_out_the_session_returned_last() {
    let db = TestDb::new().await;
    let pool = ledger::db::pool(db.config.clone(), 3).unwrap();
    for _attempt in 0..3 {
        let sessions = [
            pool.get().await.unwrap(),
            pool.get().await.unwrap(),
            pool.get().await.unwrap(),
        ];
        let mut returned = Vec::new();
        for session in sessions {
            returned.push(backend_pid(&session).await);
            drop(session);
        }
        let next = backend_pid(&pool.get().await.unwrap()).await;
        if !returned.contains(&next) {
            continue;
        }
        assert_eq!(
            Some(&next),
            returned.last(),
            "the session returned first ({}) or in between was handed out, not the last one",
            returned[0]
        );
        return;
    }
    panic!("every attempt met a reopened session");
}
