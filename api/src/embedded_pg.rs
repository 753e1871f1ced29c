//! The embedded default database: with no `DATABASE_URL`, Saldo runs its own private PostgreSQL
//! cluster in a data directory that persists between runs.
//!
//! It uses the machine's PostgreSQL server binaries (Debian's `postgresql` package). PostgreSQL
//! refuses to run as root, so when Saldo runs as root the cluster belongs to the `postgres`
//! system user and is driven through `runuser`. The cluster listens on 127.0.0.1 only, with a
//! generated password (SCRAM) kept in a 0600 file beside it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

pub const DEFAULT_PORT: u16 = 54329;
const DB_USER: &str = "saldo";
const DB_NAME: &str = "saldo";
const SYSTEM_USER_AS_ROOT: &str = "postgres";
/// Written once the cluster and its database exist, so an interrupted first run starts over.
const INITIALIZED_MARKER: &str = "cluster-initialized";

pub struct EmbeddedPostgres {
    data_dir: PathBuf,
    bin_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    /// Stopped on shutdown only when this process started it.
    started_here: bool,
}

/// Where the data lives when not configured: a system path for root, the user's data dir else.
pub fn default_data_dir() -> PathBuf {
    if is_root() {
        PathBuf::from("/var/lib/saldo")
    } else {
        let base = std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share"))
            })
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("saldo")
    }
}

fn is_root() -> bool {
    // The effective uid, read without libc: /proc/self/status "Uid: real effective ...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("Uid:"))
                .and_then(|line| line.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Finds initdb/pg_ctl: `SALDO_PG_BIN`, else the newest /usr/lib/postgresql/<v>/bin, else PATH.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("SALDO_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    for dir in std::env::var("PATH").unwrap_or_default().split(':') {
        if Path::new(dir).join("initdb").exists() && Path::new(dir).join("pg_ctl").exists() {
            return Ok(PathBuf::from(dir));
        }
    }
    bail!(
        "no PostgreSQL server binaries found (initdb, pg_ctl). Install them \
         (Debian: apt-get install postgresql) or set DATABASE_URL to use an existing server"
    )
}

impl EmbeddedPostgres {
    pub fn new(data_dir: PathBuf, port: u16) -> anyhow::Result<EmbeddedPostgres> {
        Ok(EmbeddedPostgres {
            data_dir,
            bin_dir: find_bin_dir()?,
            port,
            run_as: is_root().then(|| SYSTEM_USER_AS_ROOT.to_owned()),
            started_here: false,
        })
    }

    fn cluster_dir(&self) -> PathBuf {
        self.data_dir.join("pg")
    }

    fn password_file(&self) -> PathBuf {
        self.data_dir.join("db-password")
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(binary);
                command
            }
            None => Command::new(binary),
        }
    }

    fn run(&self, mut command: Command, what: &str) -> anyhow::Result<()> {
        let output = command
            .output()
            .with_context(|| format!("could not run {what}"))?;
        if !output.status.success() {
            bail!(
                "{what} failed: {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    fn chown_to_cluster_user(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(user) = &self.run_as {
            let status = Command::new("chown")
                .args(["-R", &format!("{user}:"), &path.display().to_string()])
                .status()
                .context("could not run chown")?;
            if !status.success() {
                bail!("chown of {} to {user} failed", path.display());
            }
        }
        Ok(())
    }

    /// Creates the cluster on first use, starts it unless it runs already, and returns a URL.
    pub fn start(&mut self) -> anyhow::Result<String> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("could not create {}", self.data_dir.display()))?;
        // The cluster's own user must be able to reach its directory.
        std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o755))?;
        let cluster = self.cluster_dir();
        if !self.data_dir.join(INITIALIZED_MARKER).exists() {
            self.init_cluster(&cluster)?;
            std::fs::write(self.data_dir.join(INITIALIZED_MARKER), "")?;
        }
        let password = std::fs::read_to_string(self.password_file())
            .context("the embedded database's password file is missing")?
            .trim()
            .to_owned();
        let mut status = self.command("pg_ctl");
        status.arg("status").arg("-D").arg(&cluster);
        let running = status.output().map(|o| o.status.success()).unwrap_or(false);
        if !running {
            let mut start = self.command("pg_ctl");
            start
                .arg("start")
                .arg("-w")
                .arg("-D")
                .arg(&cluster)
                .arg("-l")
                .arg(cluster.join("postgres.log"))
                .arg("-o")
                .arg(format!(
                    "-p {} -c listen_addresses=127.0.0.1 -k {}",
                    self.port,
                    cluster.display()
                ));
            self.run(start, "pg_ctl start")?;
            self.started_here = true;
            tracing::info!(data_dir = %self.data_dir.display(), port = self.port, "embedded PostgreSQL started");
        } else {
            tracing::info!(data_dir = %self.data_dir.display(), port = self.port, "embedded PostgreSQL already running");
        }
        Ok(format!(
            "postgres://{DB_USER}:{password}@127.0.0.1:{}/{DB_NAME}",
            self.port
        ))
    }

    /// For commands that only read: the cluster must exist already (it is started for the
    /// command if it is stopped, and stopped again after, as [`EmbeddedPostgres::start`] does);
    /// none is ever created for them.
    pub fn start_existing(&mut self) -> anyhow::Result<String> {
        if !self.data_dir.join(INITIALIZED_MARKER).exists() {
            bail!(
                "no embedded database in {} and no DATABASE_URL: this command only reads and \
                 creates nothing (set DATABASE_URL, or SALDO_DATA_DIR to where `saldo serve` keeps \
                 its database)",
                self.data_dir.display()
            );
        }
        self.start()
    }

    fn init_cluster(&self, cluster: &Path) -> anyhow::Result<()> {
        if cluster.exists() {
            // A half-made cluster from an interrupted first run: stop it if it runs, start over.
            let mut stop = self.command("pg_ctl");
            stop.arg("stop")
                .arg("-w")
                .arg("-D")
                .arg(cluster)
                .args(["-m", "immediate"]);
            let _ = stop.output();
            std::fs::remove_dir_all(cluster)?;
        }
        std::fs::create_dir_all(cluster)?;
        std::fs::set_permissions(cluster, std::fs::Permissions::from_mode(0o700))?;
        let password: String = {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..32)
                .map(|_| {
                    const ALPHABET: &[u8] =
                        b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
                    char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])
                })
                .collect()
        };
        let password_file = self.password_file();
        std::fs::write(&password_file, &password)?;
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))?;
        // initdb reads the password from a file its own user can read; removed right after.
        let initdb_password = self.data_dir.join("initdb-password");
        std::fs::write(&initdb_password, &password)?;
        std::fs::set_permissions(&initdb_password, std::fs::Permissions::from_mode(0o600))?;
        self.chown_to_cluster_user(&initdb_password)?;
        self.chown_to_cluster_user(cluster)?;
        let mut initdb = self.command("initdb");
        initdb
            .arg("-D")
            .arg(cluster)
            .args([
                "-U",
                DB_USER,
                "--auth=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg(format!("--pwfile={}", initdb_password.display()));
        let result = self.run(initdb, "initdb");
        let _ = std::fs::remove_file(&initdb_password);
        result?;
        // The database named after the user, so the URL needs no extra setup step.
        let mut start = self.command("pg_ctl");
        // With a log file, so the server does not hold our output pipes open.
        start
            .arg("start")
            .arg("-w")
            .arg("-D")
            .arg(cluster)
            .arg("-l")
            .arg(cluster.join("postgres.log"))
            .arg("-o")
            .arg(format!(
                "-p {} -c listen_addresses= -k {}",
                self.port,
                cluster.display()
            ));
        self.run(start, "pg_ctl start (setup)")?;
        let mut createdb = self.command("createdb");
        createdb
            .env("PGPASSWORD", &password)
            .args(["-h"])
            .arg(cluster)
            .args(["-p", &self.port.to_string(), "-U", DB_USER, DB_NAME]);
        let created = self.run(createdb, "createdb");
        let mut stop = self.command("pg_ctl");
        stop.arg("stop")
            .arg("-w")
            .arg("-D")
            .arg(cluster)
            .args(["-m", "fast"]);
        self.run(stop, "pg_ctl stop (setup)")?;
        created?;
        tracing::info!(data_dir = %self.data_dir.display(), "embedded PostgreSQL cluster created");
        Ok(())
    }

    pub fn stop(&mut self) {
        if !self.started_here {
            return;
        }
        let mut stop = self.command("pg_ctl");
        stop.arg("stop")
            .arg("-w")
            .arg("-D")
            .arg(self.cluster_dir())
            .args(["-m", "fast"]);
        match self.run(stop, "pg_ctl stop") {
            Ok(()) => tracing::info!("embedded PostgreSQL stopped"),
            Err(error) => {
                tracing::warn!(error = %error, "embedded PostgreSQL did not stop cleanly")
            }
        }
        self.started_here = false;
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}
