//! Saldo's server under test: the real `saldo serve` binary as a child process (so its memory is
//! its own), or in this process (smoke runs, or when no binary is at hand).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use processor_protocol::signature::WebhookSecret;
use tokio::task::JoinHandle;

pub enum Kind {
    Child(tokio::process::Child),
    InProcess(JoinHandle<anyhow::Result<()>>),
}

pub struct Server {
    pub base: String,
    pub kind: Kind,
}

/// `VmHWM` (peak resident set) or another `Vm…` line of `/proc/<pid>/status`, in KiB.
pub fn proc_status_kib(pid: Option<u32>, field: &str) -> Option<u64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|line| line.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The `saldo` binary next to this one (`target/release/saldo` beside `saldo-bench`).
pub fn sibling_saldo_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Test binaries live in target/<profile>/deps.
    [dir.join("saldo"), dir.join("../saldo")]
        .into_iter()
        .find(|path| path.is_file())
}

pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl Server {
    pub async fn start_child(
        binary: &Path,
        database_url: &str,
        secret: &WebhookSecret,
        pool_size: usize,
        log_filter: &str,
    ) -> anyhow::Result<Server> {
        let port = free_port()?;
        let child = tokio::process::Command::new(binary)
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", database_url)
            .env("SALDO_WEBHOOK_SECRETS", secret.to_whsec())
            .env("SALDO_DB_POOL_SIZE", pool_size.to_string())
            .env("SALDO_LOG", log_filter)
            .env_remove("SALDO_PROCESSOR_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let server = Server {
            base: format!("http://127.0.0.1:{port}"),
            kind: Kind::Child(child),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    pub async fn start_in_process(
        pool: deadpool_postgres::Pool,
        secret: &WebhookSecret,
    ) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = saldo::state::AppState::new(pool).with_webhook_secrets(vec![secret.clone()]);
        let handle = tokio::spawn(saldo::app::serve(state, listener));
        let server = Server {
            base: format!("http://{address}"),
            kind: Kind::InProcess(handle),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(response) = client.get(format!("{}/ready", self.base)).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the server at {} did not become ready in 30 s", self.base)
    }

    pub fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Child(child) => child.id(),
            Kind::InProcess(_) => None,
        }
    }

    pub fn is_child(&self) -> bool {
        matches!(self.kind, Kind::Child(_))
    }

    /// Peak resident memory of the server so far (in-process: of this whole process).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        proc_status_kib(self.pid(), "VmHWM:")
    }

    pub async fn stop(self) {
        match self.kind {
            Kind::Child(mut child) => {
                let _ = child.kill().await;
            }
            Kind::InProcess(handle) => handle.abort(),
        }
    }
}
