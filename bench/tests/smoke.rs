//! A smoke run of the harness (tiny sizes, one second per phase, the server in process): the
//! report carries every figure, at every level of a sweep. The real benchmark never runs in the
//! normal test command.
use saldo_bench::report::{ONCE_IDS, PER_LEVEL_IDS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_sweep_reports_every_figure_at_every_level() {
    let mut options = saldo_bench::Options::quick();
    options.concurrency_sweep = vec![2, 4];
    let report = saldo_bench::run(options)
        .await
        .expect("the quick run completes");
    assert_eq!(report.levels, vec![2, 4]);
    // The one-off figures are measured once, at no level.
    for id in ONCE_IDS {
        let figures: Vec<_> = report.figures.iter().filter(|f| f.id == *id).collect();
        assert_eq!(figures.len(), 1, "figure {id} once: {figures:?}");
        assert_eq!(figures[0].concurrency, None, "figure {id}");
        assert!(figures[0].value.is_some(), "figure {id} has no value");
    }
    // The two lists name every figure the report carries.
    for figure in &report.figures {
        assert!(
            PER_LEVEL_IDS.contains(&figure.id) || ONCE_IDS.contains(&figure.id),
            "figure {} in no list",
            figure.id
        );
    }
    for id in PER_LEVEL_IDS {
        for level in [2, 4] {
            let figure = report
                .figure_at(id, level)
                .unwrap_or_else(|| panic!("figure {id} missing at {level} connections"));
            assert!(
                figure.value.is_some() || id.starts_with("baseline_"),
                "figure {id} has no value at {level} connections: {figure:?}"
            );
        }
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        json["figures"].as_array().unwrap().len(),
        report.figures.len()
    );
    assert_eq!(json["levels"], serde_json::json!([2, 4]));
    // The server's settings the batch jobs depend on, as it reports them.
    for setting in ["shared_buffers", "autovacuum"] {
        let value = json["machine"][setting].as_str().unwrap_or("");
        assert!(!value.is_empty(), "machine.{setting} is missing: {json}");
    }
    let markdown = report.to_markdown();
    assert!(markdown.contains("| figure | target | 2 connections | 4 connections |"));
    assert!(markdown.contains("| connections | figure | value | target | baseline (same run) |"));
    // Nothing failed in the webhook path, at either level.
    for level in [2, 4] {
        assert_eq!(
            report
                .figure_at("auth_10000_cards_errors", level)
                .unwrap()
                .value,
            Some(0)
        );
    }
}

/// A run that fails part way (here the server cannot start, after pgbench's baselines) still
/// writes its reports, with the figures it measured and what stopped it, then fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_that_fails_part_way_still_writes_what_it_measured() {
    let mut options = saldo_bench::Options::quick();
    options.quick = false;
    options.in_process = false;
    options.saldo_bin = Some("/nonexistent/saldo".into());
    let dir = std::env::temp_dir().join(format!("saldo-bench-partial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    options.markdown = Some(dir.join("report.md"));
    options.json = Some(dir.join("report.json"));

    let error = saldo_bench::run_and_write(options)
        .await
        .expect_err("the server cannot start");
    let markdown = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(markdown.contains("The run stopped early"), "{markdown}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["stopped_by"], format!("{error:#}"));
    let baseline = json["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "baseline_pgbench_tpcb_tps")
        .unwrap_or_else(|| panic!("pgbench's baseline is kept: {json}"));
    assert!(baseline["value"].as_i64().unwrap() > 0, "{baseline}");
    assert_eq!(baseline["concurrency"], 4, "{baseline}");
    std::fs::remove_dir_all(&dir).unwrap();
}
