#!/usr/bin/env bash
# The reliability suite (docs/reliability.md): runs every scripts/reliability/*.sh part, each
# printing its figures and a last line `PASS <part>` or `FAIL <part>`, then `N passed, M failed`.
#
#   scripts/reliability.sh [--short] [part…]
#
# --short: CI's short form (RELIABILITY_SHORT=1 for every part). Naming parts (crash, db-faults…)
# runs only those. Exit status: 0 when every part passed.
set -uo pipefail
cd "$(dirname "$0")/.."

short=0
selected=()
for arg in "$@"; do
  case "$arg" in
    --short) short=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "unknown option $arg" >&2
      exit 2
      ;;
    *) selected+=("$arg") ;;
  esac
done
export RELIABILITY_SHORT=$short

passed=0
failed=0
failures=()
logs="$(mktemp -d "${TMPDIR:-/tmp}/saldo-reliability.XXXXXX")"
for part in scripts/reliability/*.sh; do
  name="$(basename "$part" .sh)"
  if [ ${#selected[@]} -gt 0 ] && [[ " ${selected[*]} " != *" $name "* ]]; then
    continue
  fi
  echo "== $name"
  started=$(date +%s)
  bash "$part" 2>&1 | tee "$logs/$name.log"
  status=${PIPESTATUS[0]}
  echo "($name: $(($(date +%s) - started)) s)"
  if [ "$status" = 0 ] && [ "$(tail -n 1 "$logs/$name.log")" = "PASS $name" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
done
rm -rf "$logs"
[ "$failed" -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
