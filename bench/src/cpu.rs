//! What a phase cost in CPU, and how the server batched it: the machine's busy time from
//! `/proc/stat`, the server's and the load generator's (this process) from `/proc/<pid>/stat`,
//! sampled before and after the phase, and the mean batch size from the server's `/metrics`.
//! At a few connections the decisions are bound by CPU per decision and by batch size
//! (docs/performance.md), so each run reports both beside pgbench's CPU per transaction.

/// `/proc` reports times in USER_HZ ticks, 100 a second on Linux (fixed by its ABI).
const TICK_US: u64 = 10_000;

/// CPU ticks spent so far.
#[derive(Debug, Clone, Copy)]
pub struct CpuSample {
    busy_ticks: u64,
    idle_ticks: u64,
    /// `None` when the server runs in this process (its time is in `own_ticks`).
    server_ticks: Option<u64>,
    own_ticks: u64,
}

/// CPU per operation over a phase, in microseconds.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    /// Of the whole machine (both cores, every process).
    pub per_op_us: u64,
    pub server_per_op_us: Option<u64>,
    pub load_generator_per_op_us: u64,
    /// Everything else: PostgreSQL, in a benchmark run.
    pub rest_per_op_us: u64,
    pub idle_percent: u64,
}

impl CpuSample {
    /// `None` where `/proc` cannot be read (not Linux).
    pub fn take(server_pid: Option<u32>) -> Option<CpuSample> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(|field| field.parse().unwrap_or(0))
            .collect();
        // user nice system idle iowait irq softirq steal
        let idle_ticks = ticks.get(3)?.checked_add(*ticks.get(4)?)?;
        let busy_ticks = ticks.iter().sum::<u64>().checked_sub(idle_ticks)?;
        Some(CpuSample {
            busy_ticks,
            idle_ticks,
            server_ticks: server_pid.and_then(process_ticks),
            own_ticks: process_ticks(std::process::id())?,
        })
    }

    /// What `operations` cost between this sample and `later`; `None` without operations.
    pub fn until(&self, later: &CpuSample, operations: u64) -> Option<CpuUse> {
        if operations == 0 {
            return None;
        }
        let per_op = |ticks: u64| ticks.saturating_mul(TICK_US) / operations;
        let busy = later.busy_ticks.saturating_sub(self.busy_ticks);
        let idle = later.idle_ticks.saturating_sub(self.idle_ticks);
        let server = match (self.server_ticks, later.server_ticks) {
            (Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        let own = later.own_ticks.saturating_sub(self.own_ticks);
        Some(CpuUse {
            per_op_us: per_op(busy),
            server_per_op_us: server.map(per_op),
            load_generator_per_op_us: per_op(own),
            rest_per_op_us: per_op(busy.saturating_sub(own).saturating_sub(server.unwrap_or(0))),
            idle_percent: idle.saturating_mul(100) / busy.saturating_add(idle).max(1),
        })
    }
}

impl CpuUse {
    /// Where it went, for a figure's note.
    pub fn note(&self) -> String {
        let server = match self.server_per_op_us {
            Some(us) => format!(
                "server {us} µs, load generator {} µs",
                self.load_generator_per_op_us
            ),
            None => format!(
                "server and load generator (one process) {} µs",
                self.load_generator_per_op_us
            ),
        };
        format!(
            "{server}, the rest (PostgreSQL) {} µs; {} % idle",
            self.rest_per_op_us, self.idle_percent
        )
    }
}

/// A process's user and system ticks (`utime` and `stime`, fields 14 and 15).
fn process_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 2..)?
        .split_whitespace()
        .collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    user.checked_add(system)
}

/// A histogram's running `_sum` and `_count` in the server's `/metrics`, whole numbers (the
/// batch sizes are counts).
#[derive(Debug, Clone, Copy, Default)]
pub struct HistogramTotals {
    sum: u64,
    count: u64,
}

impl HistogramTotals {
    pub async fn read(client: &reqwest::Client, base: &str, metric: &str) -> HistogramTotals {
        let Ok(response) = client.get(format!("{base}/metrics")).send().await else {
            return HistogramTotals::default();
        };
        let text = response.text().await.unwrap_or_default();
        HistogramTotals::parse(&text, metric)
    }

    fn parse(text: &str, metric: &str) -> HistogramTotals {
        let value = |suffix: &str| -> u64 {
            let name = format!("{metric}_{suffix} ");
            text.lines()
                .find_map(|line| line.strip_prefix(name.as_str()))
                // An exporter may print a whole number as `123` or `123.0`.
                .and_then(|value| value.trim().split('.').next()?.parse().ok())
                .unwrap_or(0)
        };
        HistogramTotals {
            sum: value("sum"),
            count: value("count"),
        }
    }

    /// The mean of what was recorded between `self` and `later`, in hundredths; `None` when
    /// nothing was.
    pub fn mean_centi_until(&self, later: &HistogramTotals) -> Option<u64> {
        let count = later.count.checked_sub(self.count).filter(|&c| c > 0)?;
        let sum = later.sum.checked_sub(self.sum)?;
        Some(sum.saturating_mul(100) / count)
    }
}

/// What a load phase cost: CPU per request and the server's mean batch size over it.
#[derive(Debug, Clone, Copy)]
pub struct PhaseCost {
    pub cpu: Option<CpuUse>,
    /// From the server's histogram `batch_metric`, in hundredths.
    pub batch_centi: Option<u64>,
}

/// Runs `phase`, sampling the CPU and reading the server's `batch_metric` histogram before and
/// after it.
pub async fn measure_phase(
    client: &reqwest::Client,
    server_base: &str,
    server_pid: Option<u32>,
    batch_metric: &str,
    phase: impl std::future::Future<Output = crate::load::LoadResult>,
) -> (crate::load::LoadResult, PhaseCost) {
    let batches_before = HistogramTotals::read(client, server_base, batch_metric).await;
    let cpu_before = CpuSample::take(server_pid);
    let result = phase.await;
    let cpu = cpu_before
        .zip(CpuSample::take(server_pid))
        .and_then(|(before, after)| before.until(&after, result.requests));
    let batch_centi = batches_before
        .mean_centi_until(&HistogramTotals::read(client, server_base, batch_metric).await);
    (result, PhaseCost { cpu, batch_centi })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histograms_mean_between_two_scrapes_is_read_in_hundredths() {
        let before = HistogramTotals::parse(
            "x_bucket{le=\"1\"} 3\nx_sum 10\nx_count 4\nxy_sum 99\n",
            "x",
        );
        let after = HistogramTotals::parse("x_sum 110.0\nx_count 44\n", "x");
        assert_eq!(before.mean_centi_until(&after), Some(250));
        assert_eq!(after.mean_centi_until(&after), None);
    }

    #[test]
    fn cpu_per_operation_splits_the_machine_into_server_load_generator_and_the_rest() {
        let before = CpuSample {
            busy_ticks: 1_000,
            idle_ticks: 500,
            server_ticks: Some(100),
            own_ticks: 10,
        };
        let after = CpuSample {
            busy_ticks: 1_160,
            idle_ticks: 540,
            server_ticks: Some(150),
            own_ticks: 20,
        };
        let cpu = before.until(&after, 1_000).unwrap();
        assert_eq!(cpu.per_op_us, 1_600);
        assert_eq!(cpu.server_per_op_us, Some(500));
        assert_eq!(cpu.load_generator_per_op_us, 100);
        assert_eq!(cpu.rest_per_op_us, 1_000);
        assert_eq!(cpu.idle_percent, 20);
        assert!(before.until(&after, 0).is_none());
    }
}
