//! The baseline: PostgreSQL's own `pgbench` against the same server at the same concurrency.

use std::process::Stdio;

use tokio::process::Command;

/// Connection settings for PostgreSQL's command-line tools (libpq's environment variables).
pub fn libpq_env(config: &tokio_postgres::Config) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => env.push(("PGHOST", host.clone())),
        Some(tokio_postgres::config::Host::Unix(path)) => {
            env.push(("PGHOST", path.display().to_string()))
        }
        None => env.push(("PGHOST", "127.0.0.1".to_owned())),
    }
    env.push((
        "PGPORT",
        config
            .get_ports()
            .first()
            .copied()
            .unwrap_or(5432)
            .to_string(),
    ));
    if let Some(user) = config.get_user() {
        env.push(("PGUSER", user.to_owned()));
    }
    if let Some(password) = config.get_password() {
        env.push(("PGPASSWORD", String::from_utf8_lossy(password).into_owned()));
    }
    env
}

/// `tps = 1234.567890 (without initial connection time)` → transactions per 1000 s (milli-tps).
pub fn parse_tps_milli(output: &str) -> Option<u64> {
    let line = output
        .lines()
        .find(|line| line.starts_with("tps = ") && line.contains("without initial"))
        .or_else(|| output.lines().find(|line| line.starts_with("tps = ")))?;
    let number = line
        .trim_start_matches("tps = ")
        .split_whitespace()
        .next()?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, "0"));
    let whole: u64 = whole.parse().ok()?;
    let mut milli = 0_u64;
    for (index, digit) in fraction.chars().take(3).enumerate() {
        let digit = u64::from(digit.to_digit(10)?);
        milli += digit * [100, 10, 1][index];
    }
    Some(whole * 1000 + milli)
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// Transactions per 1000 seconds; `None` when pgbench is missing or failed.
    pub tps_milli: Option<u64>,
    pub note: String,
}

fn missing(note: impl Into<String>) -> Outcome {
    Outcome {
        tps_milli: None,
        note: note.into(),
    }
}

async fn pgbench(
    env: &[(&'static str, String)],
    args: &[String],
) -> Result<std::process::Output, String> {
    Command::new("pgbench")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => {
                "pgbench is not installed (Debian: apt-get install postgresql-client): baseline missing"
                    .to_owned()
            }
            _ => format!("pgbench could not start: {error}"),
        })
}

/// `pgbench -i -s <scale>` into `dbname` (which must exist).
pub async fn initialise(config: &tokio_postgres::Config, dbname: &str, scale: u32) -> Outcome {
    let env = libpq_env(config);
    let args = vec![
        "-i".to_owned(),
        "-q".to_owned(),
        "-s".to_owned(),
        scale.to_string(),
        dbname.to_owned(),
    ];
    match pgbench(&env, &args).await {
        Err(note) => missing(note),
        Ok(output) if !output.status.success() => missing(format!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Ok(_) => Outcome {
            tps_milli: Some(0),
            note: format!("pgbench -i -s {scale}"),
        },
    }
}

/// `pgbench -c N -j 2 -T secs -b <builtin>`.
pub async fn run(
    config: &tokio_postgres::Config,
    dbname: &str,
    clients: usize,
    duration_s: u64,
    builtin: &str,
) -> Outcome {
    let env = libpq_env(config);
    let threads = clients.clamp(1, 2);
    let args = vec![
        "-c".to_owned(),
        clients.to_string(),
        "-j".to_owned(),
        threads.to_string(),
        "-T".to_owned(),
        duration_s.to_string(),
        "-b".to_owned(),
        builtin.to_owned(),
        dbname.to_owned(),
    ];
    match pgbench(&env, &args).await {
        Err(note) => missing(note),
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            match parse_tps_milli(&stdout) {
                Some(tps) if output.status.success() => Outcome {
                    tps_milli: Some(tps),
                    note: format!("pgbench -c {clients} -j {threads} -T {duration_s} -b {builtin}"),
                },
                _ => missing(format!(
                    "pgbench failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_tps() {
        let output = "latency average = 20.1 ms\ninitial connection time = 12.3 ms\ntps = 1592.304711 (without initial connection time)\n";
        assert_eq!(super::parse_tps_milli(output), Some(1_592_304));
        assert_eq!(super::parse_tps_milli("tps = 12 (x)"), Some(12_000));
        assert_eq!(super::parse_tps_milli("nothing"), None);
    }
}
