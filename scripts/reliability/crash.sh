#!/usr/bin/env bash
# Crash rounds: `saldo serve` killed with SIGKILL at random moments under load (16 requests in
# flight) and restarted, 20 rounds (short: 3); then the processor's redelivery and the audit.
PART=crash
source "$(dirname "$0")/common/lib.sh"

rounds=20
[ "$SHORT" = 1 ] && rounds=3
seed="${RELIABILITY_SEED:-$$}"
RANDOM=$seed
log "rounds $rounds, seed $seed (RELIABILITY_SEED to replay the kill times)"

build
create_database
new_secret
"$CHAOS_BIN" seed --prisoners 100 >/dev/null || fail "seed failed"
port="$(free_port)"
start_server "$port"

record="$WORK/record.jsonl"
# Long enough for the rounds (each up to ~3 s with the restart), then a little quiet load.
"$CHAOS_BIN" load --url "$SERVER_URL" --concurrency 16 --duration-s $((rounds * 3 + 3)) \
  --record "$record" --seed "$seed" >"$WORK/load.out" 2>&1 &
load_pid=$!
STARTED_PIDS+=("$load_pid")

killed=0
for round in $(seq 1 "$rounds"); do
  sleep "$(awk "BEGIN { print $(random_between 200 2000) / 1000 }")"
  kill_server KILL
  killed=$((killed + 1))
  start_server "$port"
done
wait "$load_pid" || fail "load failed: $(cat "$WORK/load.out")"
cat "$WORK/load.out"

"$CHAOS_BIN" redeliver --url "$SERVER_URL" --record "$record" --share-percent 30 --seed "$seed"
redelivered=$?
audit="$("$CHAOS_BIN" audit --record "$record")"
audited=$?
echo "$audit"
log "figures: rounds $killed (SIGKILL under load, restarted), $(echo "$audit" | head -1 | sed 's/^audit: //')"
[ "$killed" -ge "$rounds" ] || fail "only $killed rounds"
[ "$redelivered" = 0 ] || fail "redelivery failed"
[ "$audited" = 0 ] || fail "audit failed"
acknowledged="$(echo "$audit" | figure acknowledged)"
[ "${acknowledged:-0}" -gt 0 ] || fail "nothing was acknowledged"
echo "PASS $PART"
