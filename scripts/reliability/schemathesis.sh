#!/usr/bin/env bash
# Reliability part "schemathesis": schemathesis against /openapi.json of a real `saldo serve`,
# seeded through its own API, once with a staff session of every role (so each operation is
# reached by a role allowed to call it). Response checks on: no 5xx, status codes, content
# types, headers and bodies as documented. Prints the figures and ends with PASS/FAIL
# schemathesis. RELIABILITY_SHORT=1 is CI's short form (fewer cases per operation).
#
# Needs: cargo, python3 (schemathesis is installed into a venv under ~/.cache/saldo when
# missing), and a PostgreSQL like the tests' (TEST_DATABASE_URL / DATABASE_URL / PG*, else
# 127.0.0.1:5432 user postgres): a database saldo_fuzz_<pid> is made and dropped.
set -euo pipefail
cd "$(dirname "$0")/../.."
PART=schemathesis
HERE=scripts/reliability

fail() { echo "$PART: $*" >&2; echo "FAIL $PART"; exit 1; }

# The short form leaves out the coverage phase (boundary values of every constraint), which
# makes most of the cases.
if [[ "${RELIABILITY_SHORT:-0}" == 1 ]]; then
  EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-10}"
  PHASES=examples,fuzzing
else
  EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-60}"
  PHASES=examples,coverage,fuzzing
fi
SEED="${SCHEMATHESIS_SEED:-20}"
SCHEMATHESIS_VERSION=4.32.5
VENV="${SALDO_SCHEMATHESIS_VENV:-$HOME/.cache/saldo/schemathesis-$SCHEMATHESIS_VERSION}"
if [[ ! -x "$VENV/bin/st" ]]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV" || fail "python3 -m venv failed"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" || fail "pip install failed"
fi

cargo build -q -p saldo || fail "cargo build failed"
SALDO="${CARGO_TARGET_DIR:-target}/debug/saldo"

# The database: a fresh one on the tests' server.
ADMIN_URL="${TEST_DATABASE_URL:-${DATABASE_URL:-postgres://${PGUSER:-postgres}@${PGHOST:-127.0.0.1}:${PGPORT:-5432}/postgres}}"
DB="saldo_fuzz_$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/saldo-schemathesis.XXXXXX")
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  psql -q "$ADMIN_URL" -c "drop database if exists $DB with (force)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
psql -q "$ADMIN_URL" -c "create database $DB" >/dev/null || fail "cannot create database $DB on $ADMIN_URL"
export DATABASE_URL="${ADMIN_URL%/*}/$DB"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
PASSWORD="fuzz-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
export SALDO_DATA_DIR="$WORK/data" SALDO_LISTEN="127.0.0.1:$PORT" SALDO_LOG="${SALDO_LOG:-warn}"
export SALDO_WEBHOOK_SECRETS="whsec_$(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
mkdir -p "$SALDO_DATA_DIR"

"$SALDO" migrate >/dev/null || fail "saldo migrate failed"
PRISON=$("$SALDO" prison add --code FUZ --name "Fuzz Prison" --time-zone Europe/Helsinki --country FI \
  | sed -n 's/^prison FUZ created: //p')
[[ -n "$PRISON" ]] || fail "saldo prison add failed"
SALDO_STAFF_PASSWORD="$PASSWORD" "$SALDO" staff add --username fuzz_admin --role admin --prison FUZ >/dev/null \
  || fail "saldo staff add failed"

"$SALDO" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 120); do
  curl -fsS "$BASE/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; fail "saldo serve exited"; }
  sleep 0.5
done
curl -fsS "$BASE/ready" >/dev/null || fail "saldo serve is not ready"

"$VENV/bin/python" "$HERE/schemathesis_seed.py" "$BASE" "$PRISON" fuzz_admin "$PASSWORD" "$WORK" \
  || fail "seeding failed"

# Signing out would end the session the rest of the run uses: those two operations are left out.
EXCLUDE='^(POST /api/staff/logout|POST /staff/sign-out)$'
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
status=0
# The roles run side by side, one schemathesis each, against the one server.
pids=()
while read -r role token; do
  echo "schemathesis: role $role, phases $PHASES, at most $EXAMPLES cases per operation"
  (cd "$WORK" && exec "$VENV/bin/st" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks "$CHECKS" --exclude-name-regex "$EXCLUDE" \
    --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 --no-shrink \
    --phases "$PHASES" --suppress-health-check all --warnings off \
    --report ndjson --report-ndjson-path "$WORK/$role.ndjson" \
    >"$WORK/$role.log" 2>&1) &
  pids+=($!)
done <"$WORK/sessions"
for pid in "${pids[@]}"; do wait "$pid" || status=1; done

if ! "$VENV/bin/python" "$HERE/schemathesis_figures.py" "$WORK"/*.ndjson; then
  status=1
fi
if grep -q "panicked" "$WORK/server.log"; then
  grep -m 5 "panicked" "$WORK/server.log" >&2
  status=1
fi
if [[ $status -ne 0 ]]; then
  for log in "$WORK"/*.log; do
    grep -E -A 12 "^_+ (GET|POST|PUT|DELETE) " "$log" | head -n 80 >&2 || true
  done
  mkdir -p target/reliability && cp "$WORK"/*.log "$WORK"/*.ndjson target/reliability/ 2>/dev/null || true
  echo "FAIL $PART"
  exit 1
fi
echo "PASS $PART"
