#!/usr/bin/env bash
# Runs Saldo's whole test suite against a real PostgreSQL.
#
# Uses the server named by TEST_DATABASE_URL, DATABASE_URL or the PG* variables, else the one on
# 127.0.0.1:5432; when none answers, a throwaway cluster made by Debian's pg_virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs cargo test (under pg_virtualenv when given as "$1") and ends with one summary line
# over all test binaries, so the last line says how many tests ran.
run_tests() {
  local log status
  log=$(mktemp)
  set +e
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  awk '/^test result:/ { passed += $4; failed += $6; ignored += $8 }
       END { printf "summary: %d passed, %d failed, %d skipped\n", passed, failed, ignored }' "$log"
  rm -f "$log"
  return "$status"
}

# axe-core for the accessibility tests (tests/a11y, pinned by its lock file).
if [[ ! -f tests/a11y/node_modules/axe-core/axe.min.js ]]; then
  if command -v npm >/dev/null; then
    npm ci --prefix tests/a11y --no-audit --no-fund
  else
    echo "npm not found: the accessibility tests will fail (apt-get install npm)" >&2
  fi
fi

host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
if [[ -n "${TEST_DATABASE_URL:-}${DATABASE_URL:-}" ]] || pg_isready -q -h "$host" -p "$port" 2>/dev/null; then
  run_tests cargo test --workspace "$@"
  exit $?
fi
if command -v pg_virtualenv >/dev/null; then
  echo "no PostgreSQL on $host:$port: running the tests in a throwaway cluster (pg_virtualenv)" >&2
  run_tests pg_virtualenv -o fsync=off -o max_connections=200 cargo test --workspace "$@"
  exit $?
fi
cat >&2 <<'MSG'
The tests need PostgreSQL and none was found.
  Debian/Ubuntu:  apt-get install postgresql   (then run this script again)
  or point them at a server:  TEST_DATABASE_URL=postgres://user@host:port/postgres ./scripts/test.sh
MSG
exit 1
