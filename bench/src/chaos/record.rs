//! The record of a chaos run: one JSON object per line, appended as each answer arrives, so a
//! crash of the load tool itself loses at most the line being written. What is in it is what the
//! processor would know: what it sent, and what (if anything) was acknowledged.

use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub const AUTHORIZATION_REQUEST: &str = "authorization.request";
pub const AUTHORIZATION_ADVICE: &str = "authorization.advice";
pub const TRANSACTION_CLEARING: &str = "transaction.clearing";

/// A card's balance row when the run started: the audit's baseline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardStart {
    pub card_id: String,
    pub account_id: uuid::Uuid,
    pub posted_minor: i64,
    pub held_minor: i64,
}

/// One delivery of one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// The webhook-id: the same on every delivery of the message.
    pub event_id: String,
    pub event_type: String,
    pub authorization_id: String,
    pub card_id: String,
    pub amount_minor: i64,
    pub transaction_id: Option<String>,
    /// The signed body, byte for byte, for redelivery.
    pub body: String,
    /// Answered 2xx in time (2,000 ms for an authorization request, protocol 3.3).
    pub acked: bool,
    pub status: Option<u16>,
    pub answer: Option<serde_json::Value>,
    pub error: Option<String>,
    pub latency_us: u64,
    /// When it was sent (Unix milliseconds), to place it against faults injected meanwhile.
    #[serde(default)]
    pub sent_unix_ms: u64,
    /// A redelivery by `saldo-chaos redeliver`, not the first delivery.
    pub redelivery: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "line", rename_all = "snake_case")]
pub enum Line {
    Start {
        run_id: String,
        cards: Vec<CardStart>,
    },
    Delivery(Delivery),
}

/// Appends lines to the record; each line is one `write` of its own, unbuffered.
#[derive(Clone)]
pub struct Recorder {
    file: Arc<Mutex<std::fs::File>>,
    fsync: bool,
}

impl Recorder {
    pub fn open(path: &Path, fsync: bool) -> anyhow::Result<Recorder> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Recorder {
            file: Arc::new(Mutex::new(file)),
            fsync,
        })
    }

    pub fn write(&self, line: &Line) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        let mut file = self
            .file
            .lock()
            .map_err(|_| anyhow::anyhow!("the record's lock is poisoned"))?;
        file.write_all(text.as_bytes())?;
        if self.fsync {
            file.sync_data()?;
        }
        Ok(())
    }
}

/// Reads a record; a torn last line (the load tool killed mid-write) is skipped.
pub fn read(path: &Path) -> anyhow::Result<Vec<Line>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut lines = Vec::new();
    let mut torn = 0_u32;
    for text in file.lines() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&text) {
            Ok(line) => lines.push(line),
            Err(_) => torn += 1,
        }
    }
    if torn > 1 {
        anyhow::bail!("the record has {torn} unreadable lines: not a saldo-chaos record?");
    }
    Ok(lines)
}

pub fn deliveries(lines: &[Line]) -> impl Iterator<Item = &Delivery> {
    lines.iter().filter_map(|line| match line {
        Line::Delivery(delivery) => Some(delivery),
        Line::Start { .. } => None,
    })
}
