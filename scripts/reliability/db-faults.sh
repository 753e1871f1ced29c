#!/usr/bin/env bash
# Database faults: the crash load against a throwaway PostgreSQL cluster of our own, restarted
# with `pg_ctl restart -m immediate` (and stopped for a while, then started) mid-load. While it
# is down: /ready answers 503 and requests are declined or answered 5xx, never approved without
# their hold; afterwards saldo recovers without a restart, and nothing acknowledged is lost.
PART=db-faults
source "$(dirname "$0")/common/lib.sh"

rounds=6
[ "$SHORT" = 1 ] && rounds=2
seed="${RELIABILITY_SEED:-$$}"
RANDOM=$seed
log "rounds $rounds (odd: restart -m immediate; even: stop -m immediate, 2 s down, start), seed $seed"

part_cleanup() {
  # saldo first: the cluster is dropped with the directory.
  [ -n "$SERVER_PID" ] && kill -KILL "$SERVER_PID" 2>/dev/null
  stop_own_cluster
  DB_NAME=""
}

build
start_own_cluster
create_database "$PG_URL"
new_secret
"$CHAOS_BIN" seed --prisoners 100 >/dev/null || fail "seed failed"
start_server "$(free_port)"
server_pid="$SERVER_PID"

record="$WORK/record.jsonl"
"$CHAOS_BIN" load --url "$SERVER_URL" --concurrency 16 --duration-s $((rounds * 6 + 4)) \
  --record "$record" --seed "$seed" >"$WORK/load.out" 2>&1 &
load_pid=$!
STARTED_PIDS+=("$load_pid")

saw_503=0
recovered=0
for round in $(seq 1 "$rounds"); do
  sleep "$(awk "BEGIN { print $(random_between 500 2000) / 1000 }")"
  if [ $((round % 2)) = 1 ]; then
    pg_ctl_own -m immediate -w restart || fail "pg_ctl restart failed"
  else
    pg_ctl_own -m immediate stop || fail "pg_ctl stop failed"
    status=""
    for _ in $(seq 1 50); do
      status="$(ready_status)"
      [ "$status" = 503 ] && break
      sleep 0.1
    done
    [ "$status" = 503 ] && saw_503=$((saw_503 + 1))
    log "round $round: database down, /ready $status"
    sleep 2
    pg_ctl_own -w start || fail "pg_ctl start failed"
  fi
  if wait_ready 300; then
    recovered=$((recovered + 1))
  else
    fail "round $round: saldo did not recover within 30 s (see $WORK/server.log)"
  fi
  kill -0 "$server_pid" 2>/dev/null || fail "saldo serve died in round $round"
done
wait "$load_pid" || fail "load failed: $(cat "$WORK/load.out")"
cat "$WORK/load.out"
[ "$SERVER_PID" = "$server_pid" ] || fail "saldo was restarted"

"$CHAOS_BIN" redeliver --url "$SERVER_URL" --record "$record" --share-percent 30 --seed "$seed"
redelivered=$?
audit="$("$CHAOS_BIN" audit --record "$record")"
audited=$?
echo "$audit"
statuses="$(grep -oE '"status":[0-9]+' "$record" | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
unanswered="$(grep -c '"status":null' "$record")"
log "figures: rounds $rounds, /ready 503 while down $saw_503/$((rounds / 2)), recovered without restart $recovered/$rounds, answers ${statuses}no answer ${unanswered}; $(echo "$audit" | head -1 | sed 's/^audit: //')"
[ "$saw_503" = $((rounds / 2)) ] || fail "/ready did not answer 503 while the database was down"
[ "$redelivered" = 0 ] || fail "redelivery failed"
[ "$audited" = 0 ] || fail "audit failed"
echo "PASS $PART"
