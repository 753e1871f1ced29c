#!/usr/bin/env bash
# Backup and point-in-time restore drill on the HA cluster (scripts/ha-cluster.sh):
#  1. a demo prison on the cluster (`saldo demo`: staff, prisoners, cards, card activity);
#  2. a full pgBackRest backup, WAL archived continuously;
#  3. a bad adjustment, proposed and approved through the API (four eyes);
#  4. a restore of the backup plus WAL to the moment before it, into a scratch directory,
#     started on its own port;
#  5. `saldo verify` green on the restored copy, and the bad adjustment absent there (and present
#     on the live cluster).
# Exits non-zero when any step fails. Starts the cluster when it is not running.
#
# SALDO_HA_DIR, SALDO_HA_PORT_BASE as for ha-cluster.sh; SALDO_BIN: the saldo binary (built with
# cargo when not given).
set -euo pipefail
cd "$(dirname "$0")/.."

HA_DIR="${SALDO_HA_DIR:-/tmp/saldo-ha}"
BASE="${SALDO_HA_PORT_BASE:-7400}"
PG_BIN="${SALDO_PG_BIN:-/usr/lib/postgresql/15/bin}"
RESTORE_PORT=$((BASE + 40))
DEMO_PORT=$((BASE + 41))
RESTORE_DIR="$HA_DIR/restore"
CONF="$HA_DIR/pgbackrest.conf"
export SALDO_HA_DIR="$HA_DIR" SALDO_HA_PORT_BASE="$BASE"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "DRILL FAILED: $*" >&2; exit 1; }
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ -z ${SALDO_BIN:-} ]]; then
  cargo build -q -p saldo
  SALDO_BIN=target/debug/saldo
fi

if ! ./scripts/ha-cluster.sh primary-node >/dev/null 2>&1; then
  step "starting the cluster"
  ./scripts/ha-cluster.sh up
fi
./scripts/ha-cluster.sh wait-healthy 120
CLUSTER_URL=$(./scripts/ha-cluster.sh url saldo_demo)
psql_live() { psql -X -v ON_ERROR_STOP=1 -Atq "$CLUSTER_URL" "$@"; }

step "1. a demo prison on the cluster"
DEMO_LOG="$HA_DIR/log/drill-demo.log"
: >"$DEMO_LOG"
DATABASE_URL=$(./scripts/ha-cluster.sh url postgres) SALDO_DATA_DIR="$HA_DIR/saldo-data" \
  setsid "$SALDO_BIN" demo --listen "127.0.0.1:$DEMO_PORT" >"$DEMO_LOG" 2>&1 &
DEMO_PID=$!
cleanup() {
  kill "$DEMO_PID" 2>/dev/null || true
  if [[ -f $RESTORE_DIR/postmaster.pid ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$RESTORE_DIR" -m fast stop >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  grep -q "Saldo demo is running" "$DEMO_LOG" && break
  kill -0 "$DEMO_PID" 2>/dev/null || { cat "$DEMO_LOG"; fail "saldo demo stopped"; }
  sleep 0.5
done
grep -q "Saldo demo is running" "$DEMO_LOG" || fail "saldo demo did not come up"
API="http://127.0.0.1:$DEMO_PORT"
echo "demo seeded: $(psql_live -c "select count(*) from journal_entries") journal entries"

step "2. full backup (pgBackRest), WAL archived continuously"
as_pg pgbackrest --config="$CONF" --stanza=saldo --type=full backup
as_pg pgbackrest --config="$CONF" --stanza=saldo info | tail -n 5

step "3. a bad adjustment, approved through the API"
login() {
  curl -sf -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$2\"}" "$API/api/staff/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
FINANCE=$(login finance demo-finance-password)
APPROVER=$(login approver demo-approver-password)
read -r PRISON_ID PERSON_ID < <(psql_live -F ' ' -c "select prison_id, person_id from identity.prisoners order by prisoner_number limit 1")
# The restore point: after the backup and everything seeded, before the adjustment.
sleep 1
TARGET_TIME=$(psql_live -c "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
sleep 1
PROPOSAL=$(curl -sf -H "authorization: Bearer $FINANCE" -H 'content-type: application/json' \
  -d '{"account":"spendable","institution_account":"suspense","direction":"credit_prisoner","amount_minor":5000000,"currency":"EUR","reason_code":"correction","reason":"drill: keyed 50000.00 instead of 50.00"}' \
  "$API/api/staff/prisons/$PRISON_ID/prisoners/$PERSON_ID/adjustments" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null -X POST -H "authorization: Bearer $APPROVER" \
  "$API/api/staff/prisons/$PRISON_ID/adjustments/$PROPOSAL/approve"
BAD_ENTRY=$(psql_live -c "select entry_id from adjustments.decisions where proposal_id = '$PROPOSAL'")
[[ -n $BAD_ENTRY ]] || fail "the adjustment was not posted"
echo "restore target: $TARGET_TIME"
echo "bad adjustment: proposal $PROPOSAL, entry $BAD_ENTRY (50000.00 EUR credited), recorded at $(psql_live -c "select recorded_at from journal_entries where id = '$BAD_ENTRY'")"
kill "$DEMO_PID" 2>/dev/null || true
# Close the WAL segment holding the adjustment and wait until it is archived.
as_pg pgbackrest --config="$CONF" --stanza=saldo check

step "4. point-in-time restore to $TARGET_TIME"
rm -rf "$RESTORE_DIR"
mkdir -p "$RESTORE_DIR"
chown postgres:postgres "$RESTORE_DIR" 2>/dev/null || true
chmod 700 "$RESTORE_DIR"
RESTORE_START=$SECONDS
as_pg pgbackrest --config="$CONF" --stanza=saldo --pg1-path="$RESTORE_DIR" \
  --type=time --target="$TARGET_TIME" --target-action=promote restore
# The copy is no member of the cluster: its own port, no archiving, no synchronous standby.
as_pg "$PG_BIN/pg_ctl" -D "$RESTORE_DIR" -w -t 300 -l "$HA_DIR/log/restore.log" \
  -o "-c port=$RESTORE_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$RESTORE_DIR -c archive_mode=off -c synchronous_standby_names= -c primary_conninfo= -c hba_file=$RESTORE_DIR/pg_hba.conf -c ident_file=$RESTORE_DIR/pg_ident.conf" start
RESTORED_URL="postgres://postgres@127.0.0.1:$RESTORE_PORT/saldo_demo"
for _ in $(seq 1 120); do
  [[ $(psql -X -Atq "$RESTORED_URL" -c "select pg_is_in_recovery()" 2>/dev/null) == f ]] && break
  sleep 0.5
done
[[ $(psql -X -Atq "$RESTORED_URL" -c "select pg_is_in_recovery()") == f ]] || fail "the restored copy did not finish recovery"
echo "restored and promoted in $((SECONDS - RESTORE_START)) s"

step "5. saldo verify on the restored copy"
DATABASE_URL="$RESTORED_URL" "$SALDO_BIN" verify || fail "saldo verify failed on the restored copy"
on_copy=$(psql -X -Atq "$RESTORED_URL" -c "select count(*) from journal_entries where id = '$BAD_ENTRY'")
decided=$(psql -X -Atq "$RESTORED_URL" -c "select count(*) from adjustments.proposals where id = '$PROPOSAL'")
on_live=$(psql_live -c "select count(*) from journal_entries where id = '$BAD_ENTRY'")
echo "bad adjustment entry on the live cluster: $on_live, on the restored copy: $on_copy (its proposal: $decided)"
echo "journal entries: live $(psql_live -c "select count(*) from journal_entries"), restored $(psql -X -Atq "$RESTORED_URL" -c "select count(*) from journal_entries")"
[[ $on_live == 1 && $on_copy == 0 && $decided == 0 ]] || fail "the restored copy still has the bad adjustment"
echo
echo "DRILL PASSED: restored to before the bad adjustment, saldo verify green"
