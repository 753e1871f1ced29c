//! The report: every figure with its target and the same-run baseline, as markdown and JSON.
//! Integers only: rates per second, latencies in microseconds, memory in KiB, ratios in basis
//! points, means in hundredths (`centi`).

use serde::Serialize;

/// The figures measured at each level of connections.
pub const PER_LEVEL_IDS: &[&str] = &[
    "baseline_pgbench_tpcb_tps",
    "baseline_pgbench_select_only_tps",
    "baseline_pgbench_tpcb_1_client_tps",
    "auth_10000_cards_per_s",
    "auth_10000_cards_vs_pgbench_bp",
    "auth_10000_cards_p50_us",
    "auth_10000_cards_p99_us",
    "auth_10000_cards_max_us",
    "auth_10000_cards_errors",
    "baseline_pgbench_tpcb_cpu_us",
    "auth_10000_cpu_us",
    "auth_10000_cpu_vs_tpcb_bp",
    "auth_10000_batch_requests_centi",
    "auth_100_cards_per_s",
    "auth_100_vs_10000_cards_bp",
    "auth_100_cards_p99_us",
    "auth_1_card_per_s",
    "auth_1_card_p99_us",
    "auth_1_card_serial_per_s",
    "auth_1_card_serial_vs_pgbench_1_client_bp",
    "clearings_per_s",
    "clearings_vs_pgbench_bp",
    "clearings_p99_us",
    "clearings_cpu_us",
    "clearings_batch_events_centi",
    "kiosk_reads_per_s",
    "kiosk_reads_p99_us",
    "server_peak_rss_kib",
];

/// The figures measured once per run, whatever the connections (the smoke test checks these and
/// [`PER_LEVEL_IDS`] at every level).
pub const ONCE_IDS: &[&str] = &[
    "baseline_insert_rows_ms",
    "baseline_insert_payroll_rows_ms",
    "baseline_aggregate_ms",
    "payroll_10000_ms",
    "payroll_vs_baseline_bp",
    "payroll_entries_per_s",
    "verify_ms",
    "verify_vs_baseline_bp",
    "recon_settlement_ms",
    "recon_vs_baseline_bp",
    "recon_peak_rss_kib",
];

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub id: &'static str,
    pub label: String,
    /// `None`: not measured (the note says why).
    pub value: Option<u64>,
    pub unit: &'static str,
    pub target: String,
    /// `Some(true)` meets the target, `Some(false)` misses it, `None`: no target or no value.
    pub meets: Option<bool>,
    pub baseline: String,
    pub note: String,
    /// The connections it was measured at; `None` for the figures that do not depend on them
    /// (payroll, verify, reconciliation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub started_at: String,
    pub machine: Machine,
    pub options: serde_json::Value,
    /// The connection levels measured, in order.
    pub levels: Vec<usize>,
    pub figures: Vec<Figure>,
    /// Phase timings and everything else worth knowing, in order.
    pub log: Vec<String>,
    /// The error that ended the run early: the figures are those measured before it.
    pub stopped_by: Option<String>,
}

#[derive(Debug, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub server_mode: String,
    pub postgres: String,
    pub synchronous_commit: String,
    pub fsync: String,
    /// The server's buffer cache and whether autovacuum runs: the batch jobs' times depend on
    /// both (a table never vacuumed is never all-visible, so no scan of it is index-only).
    pub shared_buffers: String,
    pub autovacuum: String,
}

impl Report {
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        id: &'static str,
        label: impl Into<String>,
        value: Option<u64>,
        unit: &'static str,
        target: impl Into<String>,
        meets: Option<bool>,
        baseline: impl Into<String>,
        note: impl Into<String>,
    ) {
        let meets = if value.is_some() { meets } else { None };
        self.figures.push(Figure {
            id,
            label: label.into(),
            value,
            unit,
            target: target.into(),
            meets,
            baseline: baseline.into(),
            note: note.into(),
            concurrency: None,
        });
    }

    pub fn log(&mut self, line: impl Into<String>) {
        let line = line.into();
        eprintln!("saldo-bench: {line}");
        self.log.push(line);
    }

    /// The figure, at the first level measured when it depends on the connections.
    pub fn figure(&self, id: &str) -> Option<&Figure> {
        self.figures.iter().find(|f| f.id == id)
    }

    /// The figure measured at `concurrency` connections.
    pub fn figure_at(&self, id: &str, concurrency: usize) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.id == id && f.concurrency == Some(concurrency))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "Run of {} on {} CPUs; server: {}; PostgreSQL {} (synchronous_commit={}, fsync={}, \
             shared_buffers={}, autovacuum={}).\n\n",
            self.started_at,
            self.machine.cpus,
            self.machine.server_mode,
            self.machine.postgres,
            self.machine.synchronous_commit,
            self.machine.fsync,
            self.machine.shared_buffers,
            self.machine.autovacuum
        ));
        if let Some(error) = &self.stopped_by {
            out.push_str(&format!(
                "**The run stopped early**, the figures below are those measured before: {error}\n\n"
            ));
        }
        if self.levels.len() > 1 {
            out.push_str(&self.sweep_table());
            out.push('\n');
        }
        out.push_str(
            "| connections | figure | value | target | baseline (same run) | meets | note |\n",
        );
        out.push_str("|---:|---|---:|---|---|---|---|\n");
        for figure in &self.figures {
            let value = figure
                .value
                .map(|v| display(v, figure.unit))
                .unwrap_or_else(|| "missing".to_owned());
            let meets = match figure.meets {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "",
            };
            let connections = figure
                .concurrency
                .map(|n| n.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "| {connections} | {} | {} | {} | {} | {} | {} |\n",
                figure.label, value, figure.target, figure.baseline, meets, figure.note
            ));
        }
        out
    }

    /// One row per figure that depends on the connections, one column per level: the sweep at a
    /// glance. A value that misses its target is marked **no**.
    fn sweep_table(&self) -> String {
        let mut ids: Vec<&'static str> = Vec::new();
        for figure in &self.figures {
            if figure.concurrency.is_some() && !ids.contains(&figure.id) {
                ids.push(figure.id);
            }
        }
        let mut out = String::from("| figure | target |");
        for level in &self.levels {
            out.push_str(&format!(" {level} connections |"));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---:|".repeat(self.levels.len()));
        out.push('\n');
        for id in ids {
            let target = self
                .figure(id)
                .map(|figure| figure.target.as_str())
                .unwrap_or("");
            out.push_str(&format!("| `{id}` | {target} |"));
            for &level in &self.levels {
                let cell = match self.figure_at(id, level) {
                    Some(Figure {
                        value: Some(value),
                        unit,
                        meets,
                        ..
                    }) => {
                        let miss = if *meets == Some(false) { " **no**" } else { "" };
                        format!("{}{miss}", display(*value, unit))
                    }
                    Some(_) => "missing".to_owned(),
                    None => String::new(),
                };
                out.push_str(&format!(" {cell} |"));
            }
            out.push('\n');
        }
        out
    }
}

/// Thousands grouped with a thin space, e.g. `12 345`.
pub fn grouped(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (index, ch) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// `12345` µs as `12.345 ms`, `12345` bp as `1.2345×` and so on: integer arithmetic only.
pub fn display(value: u64, unit: &str) -> String {
    match unit {
        "us" => format!("{}.{:03} ms", value / 1000, value % 1000),
        "ms" => format!("{}.{:03} s", value / 1000, value % 1000),
        "bp" => format!("{}.{:02}×", value / 10_000, (value % 10_000) / 100),
        "kib" => format!("{} MiB", grouped(value / 1024)),
        "milli_per_s" => format!("{}/s", grouped(value / 1000)),
        "centi" => format!("{}.{:02}", grouped(value / 100), value % 100),
        other => format!("{} {other}", grouped(value)),
    }
}

/// `a / b` in basis points, `None` when `b` is zero.
pub fn ratio_bp(a: u64, b: u64) -> Option<u64> {
    (b > 0).then(|| a.saturating_mul(10_000) / b)
}

/// Events per second from a count and microseconds.
pub fn per_second(count: u64, elapsed_us: u64) -> u64 {
    count.saturating_mul(1_000_000) / elapsed_us.max(1)
}

/// The `p`-th percentile (0 to 100) of sorted microseconds, nearest rank.
pub fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let len = sorted.len() as u64;
    let rank = (len.saturating_mul(p)).div_ceil(100).max(1);
    sorted[usize::try_from(rank - 1).unwrap_or(0).min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_display() {
        assert_eq!(display(12_345, "us"), "12.345 ms");
        assert_eq!(display(15_000, "bp"), "1.50×");
        assert_eq!(grouped(1_234_567), "1 234 567");
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
        assert_eq!(percentile(&[7], 99), 7);
        assert_eq!(ratio_bp(3, 2), Some(15_000));
    }
}
