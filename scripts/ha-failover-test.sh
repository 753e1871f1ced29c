#!/usr/bin/env bash
# Failover under load (issue 17), on demand, not in the normal test run:
#  - the HA cluster (scripts/ha-cluster.sh) with a fresh database, seeded by `saldo-chaos seed`;
#  - `saldo serve` on the multi-host DATABASE_URL (target_session_attrs=read-write);
#  - `saldo-chaos load`: signed authorization requests and clearings, every answer recorded;
#  - meanwhile FAILOVERS times: `kill -9` of the primary's postmaster, Patroni promotes the
#    synchronous standby; `/ready` is watched through the switch;
#  - then `saldo-chaos redeliver` (as the processor would) and `saldo-chaos audit`: every
#    acknowledged decision and entry present exactly once, balances, `saldo verify`.
# Prints acknowledged, lost, each failover's time and the p99 during the switches; exits 0 only
# when nothing acknowledged was lost and the audit passed.
#
#   scripts/ha-failover-test.sh            FAILOVERS=5 CONCURRENCY=8 STEADY_S=8
set -euo pipefail
cd "$(dirname "$0")/.."

HA_DIR="${SALDO_HA_DIR:-/tmp/saldo-ha}"
BASE="${SALDO_HA_PORT_BASE:-7400}"
FAILOVERS="${FAILOVERS:-5}"
CONCURRENCY="${CONCURRENCY:-8}"
STEADY_S="${STEADY_S:-8}"
SERVE_PORT=$((BASE + 42))
RUN_DIR="$HA_DIR/failover-$(date -u +%Y%m%dT%H%M%S)"
export SALDO_HA_DIR="$HA_DIR" SALDO_HA_PORT_BASE="$BASE"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAILOVER TEST FAILED: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

if [[ -z ${SALDO_BIN:-} || -z ${SALDO_CHAOS_BIN:-} ]]; then
  cargo build -q -p saldo -p saldo-bench --bin saldo --bin saldo-chaos
  SALDO_BIN=target/debug/saldo
  SALDO_CHAOS_BIN=target/debug/saldo-chaos
fi

if ! ./scripts/ha-cluster.sh primary-node >/dev/null 2>&1; then
  step "starting the cluster"
  ./scripts/ha-cluster.sh up
fi
./scripts/ha-cluster.sh wait-healthy 120
mkdir -p "$RUN_DIR"
URL=$(./scripts/ha-cluster.sh url saldo_failover)
psql -X -q "$(./scripts/ha-cluster.sh url postgres)" \
  -c "drop database if exists saldo_failover with (force)" -c "create database saldo_failover"

step "seed"
"$SALDO_CHAOS_BIN" seed --database-url "$URL" --prisoners 100
SECRET=$("$SALDO_CHAOS_BIN" secret)

step "saldo serve on $URL"
SALDO_WEBHOOK_SECRETS="$SECRET" DATABASE_URL="$URL" SALDO_DATA_DIR="$RUN_DIR/data" SALDO_LOG=warn \
  setsid "$SALDO_BIN" serve --listen "127.0.0.1:$SERVE_PORT" >"$RUN_DIR/serve.log" 2>&1 &
SERVE_PID=$!
LOAD_PID=
cleanup() {
  [[ -n $LOAD_PID ]] && kill "$LOAD_PID" 2>/dev/null
  kill "$SERVE_PID" 2>/dev/null || true
}
trap cleanup EXIT
API="http://127.0.0.1:$SERVE_PORT"
ready_status() { curl -s -o /dev/null -w '%{http_code}' -m 3 "$API/ready" || echo 000; }
for _ in $(seq 1 120); do [[ $(ready_status) == 200 ]] && break; sleep 0.5; done
[[ $(ready_status) == 200 ]] || fail "saldo serve did not become ready"

step "load, with $FAILOVERS failovers"
RECORD="$RUN_DIR/record.jsonl"
# Long enough for every round (a switch takes ~7 s, healing up to ~20 s more); the load then
# runs on quietly to its end, since stopping it mid-request would leave answers unrecorded.
LOAD_S=$(((STEADY_S + 40) * FAILOVERS + STEADY_S))
SALDO_WEBHOOK_SECRETS="$SECRET" "$SALDO_CHAOS_BIN" load --url "$API" --database-url "$URL" \
  --record "$RECORD" --concurrency "$CONCURRENCY" --duration-s "$LOAD_S" >"$RUN_DIR/load.log" 2>&1 &
LOAD_PID=$!
WINDOWS="$RUN_DIR/windows.txt"
: >"$WINDOWS"
for n in $(seq 1 "$FAILOVERS"); do
  sleep "$STEADY_S"
  kill -0 "$LOAD_PID" 2>/dev/null || fail "the load ended before failover $n (see $RUN_DIR/load.log)"
  node=$(./scripts/ha-cluster.sh primary-node) || fail "no primary before failover $n"
  pid=$(./scripts/ha-cluster.sh primary-pid)
  killed_ms=$(now_ms)
  kill -9 "$pid"
  # Saldo's view: /ready 503 while no primary is reachable, 200 once the pool is on the new one.
  saw_503=0
  while :; do
    status=$(ready_status)
    [[ $status != 200 ]] && saw_503=1
    if [[ $saw_503 == 1 && $status == 200 ]]; then break; fi
    (($(now_ms) - killed_ms > 120000)) && fail "failover $n: not ready after 120 s"
    sleep 0.1
  done
  ready_ms=$(now_ms)
  new_node=$(./scripts/ha-cluster.sh primary-node)
  echo "failover $n: killed node$node's postmaster (pid $pid); node$new_node primary; /ready 200 again after $((ready_ms - killed_ms)) ms"
  echo "$killed_ms $ready_ms" >>"$WINDOWS"
  # The next kill only once every standby streams again and one is synchronous.
  ./scripts/ha-cluster.sh wait-healthy 180 || fail "cluster did not heal after failover $n"
done
wait "$LOAD_PID" || true
LOAD_PID=
cat "$RUN_DIR/load.log"

step "redeliver and audit"
SALDO_WEBHOOK_SECRETS="$SECRET" "$SALDO_CHAOS_BIN" redeliver --url "$API" --record "$RECORD" | tee "$RUN_DIR/redeliver.log"
set +e
"$SALDO_CHAOS_BIN" audit --database-url "$URL" --record "$RECORD" --json | tee "$RUN_DIR/audit.log"
audit_status=${PIPESTATUS[0]}
set -e
DATABASE_URL="$URL" "$SALDO_BIN" verify >"$RUN_DIR/verify.log" 2>&1
verify_status=$?
tail -3 "$RUN_DIR/verify.log"

step "figures"
python3 - "$RECORD" "$WINDOWS" "$RUN_DIR/audit.log" <<'PY'
import json, sys
record, windows_file, audit_file = sys.argv[1:4]
windows = [tuple(map(int, l.split())) for l in open(windows_file) if l.strip()]
figures = next(json.loads(l) for l in open(audit_file) if l.startswith("{"))
def in_switch(ms):
    return any(k <= ms <= r for k, r in windows)
switch = []
# What the processor makes of each request sent during a switch (protocol 3.3: anything but a
# 200 in 2,000 ms is a decline).
outcome = {"approved": 0, "declined by Saldo": 0, "503 (processor declines)": 0,
           "no answer in 2 s (processor declines)": 0}
approved_after = 0
for line in open(record):
    d = json.loads(line)
    if d.get("line") != "delivery" or d["event_type"] != "authorization.request" or d["redelivery"]:
        continue
    decision = (d.get("answer") or {}).get("decision") if d["acked"] else None
    if in_switch(d["sent_unix_ms"]):
        switch.append(d["latency_us"])
        if decision == "APPROVE":
            outcome["approved"] += 1
        elif decision == "DECLINE":
            outcome["declined by Saldo"] += 1
        elif d.get("status") is not None:
            outcome["503 (processor declines)" if d["status"] == 503 else f"HTTP {d['status']}"] = \
                outcome.get("503 (processor declines)" if d["status"] == 503 else f"HTTP {d['status']}", 0) + 1
        else:
            outcome["no answer in 2 s (processor declines)"] += 1
    elif windows and d["sent_unix_ms"] > windows[-1][1] and decision == "APPROVE":
        approved_after += 1
switch.sort()
p99 = switch[min(len(switch) - 1, (len(switch) * 99) // 100)] / 1000 if switch else 0
times = [r - k for k, r in windows]
print(f"failovers: {len(windows)}")
print(f"failover time (kill -9 to /ready 200), ms: {times}; max {max(times) if times else 0}, mean {sum(times) // max(len(times), 1)}")
print(f"acknowledged: {figures['acknowledged']} of {figures['messages_sent']} messages; lost: {figures['lost']}; duplicated: {figures['duplicated']}; verify violations: {figures['verify_violations']}")
print(f"authorization requests sent during the switches: {len(switch)}: {outcome}")
print(f"answer time during the switches: p99 {p99:.0f} ms, max {switch[-1] / 1000 if switch else 0:.0f} ms (the processor's deadline is 2000 ms)")
print(f"approved after the last switch: {approved_after}")
print(f"whole run: p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")
PY
lost=$(python3 -c 'import json,sys; print(next(json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))["lost"])' "$RUN_DIR/audit.log")
[[ $audit_status == 0 ]] || fail "the audit failed (see above)"
[[ $verify_status == 0 ]] || fail "saldo verify failed"
[[ $lost == 0 ]] || fail "$lost acknowledged messages lost"
echo
echo "FAILOVER TEST PASSED: $FAILOVERS failovers, 0 acknowledged messages lost, saldo verify green (logs in $RUN_DIR)"
