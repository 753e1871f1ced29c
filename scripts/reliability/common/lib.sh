# Shared by the reliability parts (sourced, never run on its own; scripts/reliability.sh runs
# only scripts/reliability/*.sh). Builds the binaries once, makes a database, starts and stops
# `saldo serve`, and cleans up what the part started (by process id, never by name).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
SHORT="${RELIABILITY_SHORT:-0}"
PROFILE="${RELIABILITY_PROFILE:-debug}"
PART="${PART:-$(basename "$0" .sh)}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/saldo-reliability-$PART.XXXXXX")"
SALDO_BIN="$ROOT/target/$PROFILE/saldo"
CHAOS_BIN="$ROOT/target/$PROFILE/saldo-chaos"
SERVER_PID=""
SERVER_URL=""
DB_NAME=""
DB_ADMIN_URL="${RELIABILITY_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
STARTED_PIDS=()

log() { echo "[$PART] $*"; }

fail() {
  log "$*"
  echo "FAIL $PART"
  exit 1
}

build() {
  local flags=()
  [ "$PROFILE" = release ] && flags=(--release)
  (cd "$ROOT" && cargo build -q "${flags[@]}" -p saldo -p saldo-bench --bin saldo --bin saldo-chaos) \
    || fail "build failed"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# A database of our own on the given server (default: the shared one on 5432), dropped at exit.
create_database() {
  local admin="${1:-$DB_ADMIN_URL}"
  DB_NAME="saldo_rel_${PART//-/_}_$$"
  psql -q -X "$admin" -c "create database $DB_NAME" >/dev/null || fail "cannot create $DB_NAME"
  DB_ADMIN_URL="$admin"
  DATABASE_URL="${admin%/*}/$DB_NAME"
  export DATABASE_URL
}

drop_database() {
  [ -n "$DB_NAME" ] && psql -q -X "$DB_ADMIN_URL" \
    -c "drop database if exists $DB_NAME with (force)" >/dev/null 2>&1
  DB_NAME=""
}

new_secret() {
  SALDO_WEBHOOK_SECRETS="$("$CHAOS_BIN" secret)" || fail "no secret"
  export SALDO_WEBHOOK_SECRETS
}

# start_server PORT: `saldo serve` in the background, waits for /ready (60 s).
start_server() {
  local port="$1"
  SERVER_URL="http://127.0.0.1:$port"
  SALDO_DATA_DIR="$WORK/data" SALDO_LOG="${SALDO_LOG:-warn}" \
    "$SALDO_BIN" serve --listen "127.0.0.1:$port" >>"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  STARTED_PIDS+=("$SERVER_PID")
  wait_ready 600 || fail "saldo serve did not become ready (see $WORK/server.log)"
}

# wait_ready TRIES: /ready answers 200 (TRIES × 100 ms).
wait_ready() {
  local tries="$1"
  for _ in $(seq 1 "$tries"); do
    [ "$(ready_status)" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

ready_status() {
  curl -s -o /dev/null -m 5 -w '%{http_code}' "$SERVER_URL/ready" || true
}

kill_server() {
  local signal="${1:-KILL}"
  [ -n "$SERVER_PID" ] || return 0
  kill -s "$signal" "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  local status=$?
  SERVER_PID=""
  return $status
}

# A random whole number in [low, high].
random_between() { echo $((RANDOM % ($2 - $1 + 1) + $1)); }

# The value of a figure `name N` in the audit line.
figure() { grep -o "$1 [0-9]*" | head -1 | awk '{print $NF}'; }

cleanup() {
  declare -F part_cleanup >/dev/null && part_cleanup
  for pid in "${STARTED_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  drop_database
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

# A throwaway PostgreSQL cluster of our own (never the shared one): PG_PORT, PG_DIR, PG_URL.
PG_BIN="${SALDO_PG_BIN:-/usr/lib/postgresql/15/bin}"
PG_DIR=""
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_ctl_own() { as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" "$@" >/dev/null; }
start_own_cluster() {
  PG_DIR="$WORK/pg"
  PG_PORT="$(free_port)"
  mkdir -p "$PG_DIR"
  chmod 755 "$WORK"
  [ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null || fail "initdb failed"
  printf "port = %s\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n" \
    "$PG_PORT" "$PG_DIR" | as_pg tee -a "$PG_DIR/data/postgresql.conf" >/dev/null
  pg_ctl_own -w start || fail "the throwaway cluster did not start"
  PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
}
stop_own_cluster() {
  [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ] && pg_ctl_own -m immediate stop 2>/dev/null
  PG_DIR=""
}
