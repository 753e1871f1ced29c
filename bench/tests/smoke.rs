//! A smoke run of the harness (tiny sizes, one second per phase, the server in process): the
//! report carries every figure. The real benchmark never runs in the normal test command.
use saldo_bench::report::FIGURE_IDS;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_run_reports_every_figure() {
    let report = saldo_bench::run(saldo_bench::Options::quick())
        .await
        .expect("the quick run completes");
    for id in FIGURE_IDS {
        let figure = report
            .figure(id)
            .unwrap_or_else(|| panic!("figure {id} missing from the report"));
        if !id.starts_with("baseline_") {
            assert!(
                figure.value.is_some(),
                "figure {id} has no value: {figure:?}"
            );
        }
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        json["figures"].as_array().unwrap().len(),
        report.figures.len()
    );
    let markdown = report.to_markdown();
    assert!(markdown.contains("| figure | value | target | baseline (same run) |"));
    // Nothing failed in the webhook path.
    assert_eq!(
        report.figure("auth_10000_cards_errors").unwrap().value,
        Some(0)
    );
}
