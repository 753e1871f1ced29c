#!/usr/bin/env bash
# Reliability part "fuzz": the cargo-fuzz targets in fuzz/ (webhook envelope and events,
# settlement CSV, camt.053, payroll CSV), each for FUZZ_SECONDS (20 in CI's short form,
# RELIABILITY_SHORT=1; 300 otherwise), starting from the committed seeds in fuzz/corpus/<target>.
# New inputs go to target/fuzz-corpus/<target>, crashes to fuzz/artifacts/<target>. Prints the
# executions per target and ends with PASS/FAIL fuzz.
#
# libFuzzer needs nightly compiler flags; on a stable toolchain RUSTC_BOOTSTRAP=1 allows them, and
# `--sanitizer none` needs no sanitizer runtime. cargo-fuzz is installed from crates.io if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
PART=fuzz
if [[ "${RELIABILITY_SHORT:-0}" == 1 ]]; then
  SECONDS_EACH="${FUZZ_SECONDS:-20}"
else
  SECONDS_EACH="${FUZZ_SECONDS:-300}"
fi
TARGETS=(webhook_envelope settlement_csv camt053 payroll_csv)
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install -q cargo-fuzz --version 0.13.2 --locked || { echo "FAIL $PART"; exit 1; }
fi
cd fuzz
if ! cargo fuzz build -s none >/dev/null 2>&1; then
  cargo fuzz build -s none 2>&1 | tail -n 20 >&2
  echo "FAIL $PART"
  exit 1
fi

failed=0
total=0
for target in "${TARGETS[@]}"; do
  scratch="../target/fuzz-corpus/$target"
  mkdir -p "$scratch"
  log=$(mktemp)
  set +e
  cargo fuzz run -s none "$target" "$scratch" "corpus/$target" -- \
    -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  coverage=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
  if [[ $status -ne 0 ]]; then
    failed=$((failed + 1))
    echo "fuzz: $target FAILED after ${runs:-?} executions; the input is in fuzz/artifacts/$target:"
    grep -m 3 -E "panicked|ERROR|Test unit written" "$log" | sed 's/^/  /'
  else
    echo "fuzz: $target ${runs:-0} executions in ${SECONDS_EACH}s, coverage ${coverage:-?} edges, 0 crashes"
  fi
  total=$((total + ${runs:-0}))
  rm -f "$log"
done
echo "fuzz: ${#TARGETS[@]} targets, $total executions, $failed failed"
if [[ $failed -ne 0 ]]; then
  echo "FAIL $PART"
  exit 1
fi
echo "PASS $PART"
