//! Failed sign-in counters in PostgreSQL (so every server process sees the same count): per staff
//! account and per client address. Too many failures within the window lock the key for a while.
use deadpool_postgres::GenericClient;
use time::OffsetDateTime;

pub struct Rule {
    pub max_failures: i32,
    pub window_seconds: i32,
    pub lockout_seconds: i32,
}

/// A staff account: 5 failures in 15 minutes lock it for 15 minutes.
pub const ACCOUNT: Rule = Rule {
    max_failures: 5,
    window_seconds: 15 * 60,
    lockout_seconds: 15 * 60,
};

/// A client address: 20 failures in 15 minutes lock it for 15 minutes (one address may try
/// several usernames, so it gets its own, looser, counter).
pub const ADDRESS: Rule = Rule {
    max_failures: 20,
    window_seconds: 15 * 60,
    lockout_seconds: 15 * 60,
};

pub fn account_key(staff_id: uuid::Uuid) -> String {
    format!("staff:{staff_id}")
}

pub fn address_key(ip: &str) -> String {
    format!("ip:{}", ip.chars().take(64).collect::<String>())
}

/// The latest lock still in force over any of the keys.
pub async fn locked_until(
    client: &impl GenericClient,
    keys: &[String],
) -> Result<Option<OffsetDateTime>, tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "select max(locked_until) as locked_until from auth.login_throttle
             where throttle_key = any($1) and locked_until > now()",
        )
        .await?;
    Ok(client
        .query_one(&statement, &[&keys])
        .await?
        .get("locked_until"))
}

/// Counts one failure; a new window starts when the old one is over or a lock has run out.
pub async fn record_failure(
    client: &impl GenericClient,
    key: &str,
    rule: &Rule,
) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached(
            "insert into auth.login_throttle as t (throttle_key, failures, window_started_at, locked_until)
             values ($1, 1, now(), case when 1 >= $3 then now() + $4::int * interval '1 second' end)
             on conflict (throttle_key) do update set
                failures = case when t.window_started_at < now() - $2::int * interval '1 second'
                                  or t.locked_until <= now()
                                then 1 else t.failures + 1 end,
                window_started_at = case when t.window_started_at < now() - $2::int * interval '1 second'
                                           or t.locked_until <= now()
                                         then now() else t.window_started_at end,
                locked_until = case
                    when (case when t.window_started_at < now() - $2::int * interval '1 second'
                                 or t.locked_until <= now()
                               then 1 else t.failures + 1 end) >= $3
                        then now() + $4::int * interval '1 second'
                    when t.locked_until <= now() then null
                    else t.locked_until end",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &key,
                &rule.window_seconds,
                &rule.max_failures,
                &rule.lockout_seconds,
            ],
        )
        .await?;
    Ok(())
}

pub async fn clear(client: &impl GenericClient, key: &str) -> Result<(), tokio_postgres::Error> {
    let statement = client
        .prepare_cached("delete from auth.login_throttle where throttle_key = $1")
        .await?;
    client.execute(&statement, &[&key]).await?;
    Ok(())
}
