//! The crate layout is the boundary (issue #22): the ledger, the processor protocol, the card
//! adapter, the processor and prison-management simulators and reconciliation sit below the HTTP crate (`saldo`) and
//! never reach personal data (the `identity` crate). A dependency on one of those, direct or
//! through another workspace crate, fails here.
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Crates that must stay below the boundary.
const CHECKED: &[&str] = &[
    "ledger",
    "processor-protocol",
    "card-adapter",
    "processor-sim",
    "pms-sim",
    "services-sim",
    "recon",
    "entitlements",
];
/// What they must not depend on. `identity` may not exist yet: the check then holds trivially,
/// and becomes effective the day that crate appears.
const FORBIDDEN: &[&str] = &["saldo", "identity"];

/// Each workspace package's dependencies on other workspace packages, as
/// (normal and build dependencies, dev-dependencies), from `cargo metadata --no-deps`.
fn workspace_dependencies() -> BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let packages = metadata["packages"].as_array().expect("a list of packages");
    let names: BTreeSet<String> = packages
        .iter()
        .filter_map(|package| package["name"].as_str().map(str::to_owned))
        .collect();
    packages
        .iter()
        .map(|package| {
            let mut build = BTreeSet::new();
            let mut dev = BTreeSet::new();
            for dependency in package["dependencies"].as_array().into_iter().flatten() {
                let name = dependency["name"].as_str().unwrap_or_default().to_owned();
                // Forbidden names count even when they are no workspace package (yet).
                if !names.contains(&name) && !FORBIDDEN.contains(&name.as_str()) {
                    continue;
                }
                match dependency["kind"].as_str() {
                    Some("dev") => dev.insert(name),
                    _ => build.insert(name),
                };
            }
            let name = package["name"].as_str().unwrap_or_default().to_owned();
            (name, (build, dev))
        })
        .collect()
}

/// Every workspace crate that `name` depends on: its own dependencies of any kind, then theirs
/// (normal and build dependencies; another crate's dev-dependencies are not linked).
fn reachable(
    name: &str,
    graph: &BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
) -> BTreeSet<String> {
    let (build, dev) = &graph[name];
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = build.iter().chain(dev).cloned().collect();
    while let Some(next) = queue.pop() {
        if next == name || !seen.insert(next.clone()) {
            continue;
        }
        if let Some((build, _)) = graph.get(&next) {
            queue.extend(build.iter().cloned());
        }
    }
    seen
}

#[test]
fn lower_crates_do_not_depend_on_the_http_crate_or_identity() {
    let graph = workspace_dependencies();
    for crate_name in CHECKED {
        assert!(
            graph.contains_key(*crate_name),
            "{crate_name} is not a workspace package any more: update this check"
        );
        let reachable = reachable(crate_name, &graph);
        for forbidden in FORBIDDEN {
            assert!(
                !reachable.contains(*forbidden),
                "{crate_name} depends on {forbidden} (directly or through {:?}); \
                 it must stay below it (issue #22)",
                reachable
            );
        }
    }
}
