#!/usr/bin/env bash
# Overload and shutdown: 200 authorization requests in flight at once. Every request is answered
# inside the processor's 2,000 ms deadline (a decline when a decision cannot be made in time),
# the server's peak memory stays bounded; then SIGTERM under the same load: requests in flight
# are answered, saldo exits cleanly, and nothing is half written (redelivery + audit).
PART=overload
source "$(dirname "$0")/common/lib.sh"

concurrency=200
duration_s=20
[ "$SHORT" = 1 ] && duration_s=6
# Peak resident memory allowed to the server under this load.
max_rss_kib=$((512 * 1024))
seed="${RELIABILITY_SEED:-$$}"

build
create_database
new_secret
"$CHAOS_BIN" seed --prisoners 1000 >/dev/null || fail "seed failed"
port="$(free_port)"
SALDO_DB_POOL_SIZE=32 start_server "$port"

record="$WORK/record.jsonl"
"$CHAOS_BIN" load --url "$SERVER_URL" --concurrency "$concurrency" --duration-s "$duration_s" \
  --cards 1000 --record "$record" --seed "$seed" || fail "load failed"
rss_kib="$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")"
late="$(jq -s '[.[] | select(.line == "delivery" and .event_type == "authorization.request" and (.error // "" | test("no answer in")))] | length' "$record")"
requests="$(jq -s '[.[] | select(.line == "delivery" and .event_type == "authorization.request")] | length' "$record")"
declined="$(jq -s '[.[] | select(.line == "delivery" and .acked and .answer.decision == "DECLINE")] | length' "$record")"
unavailable="$(jq -s '[.[] | select(.line == "delivery" and .event_type == "authorization.request" and .status == 503)] | length' "$record")"
# Unanswered requests are declined by the processor, which then advises TIMEOUT.
"$CHAOS_BIN" redeliver --url "$SERVER_URL" --record "$record" --share-percent 10 --seed "$seed" >/dev/null \
  || fail "redelivery failed"
audit="$("$CHAOS_BIN" audit --record "$record")"
audited=$?
echo "$audit"
p99_ms="$(echo "$audit" | figure 'p99')"
log "figures: $concurrency in flight, $requests requests, $late not answered in 2,000 ms, $declined declined, $unavailable answered 503 (declined by the processor), p99 ${p99_ms} ms, server peak RSS $((rss_kib / 1024)) MiB"
[ "$audited" = 0 ] || fail "audit failed"
[ "$late" = 0 ] || fail "$late requests were not answered in time"
[ "${p99_ms:-99999}" -le 2000 ] || fail "p99 $p99_ms ms is beyond the deadline"
[ "$rss_kib" -le "$max_rss_kib" ] || fail "peak RSS $rss_kib KiB over $max_rss_kib KiB"

# SIGTERM under load.
shutdown_record="$WORK/shutdown.jsonl"
"$CHAOS_BIN" load --url "$SERVER_URL" --concurrency "$concurrency" --duration-s 8 \
  --cards 1000 --record "$shutdown_record" --seed $((seed + 1)) >"$WORK/load.out" 2>&1 &
load_pid=$!
STARTED_PIDS+=("$load_pid")
sleep 3
term_ms="$(date +%s%3N)"
kill_server TERM
exit_status=$?
exited_ms="$(date +%s%3N)"
# The processor stops sending (the load tool finishes what it has in flight and records it).
kill -TERM "$load_pid" 2>/dev/null
wait "$load_pid" || fail "load failed: $(cat "$WORK/load.out")"
# Answered after SIGTERM was sent: requests that were in flight and finished.
finished_after="$(jq -s --argjson t "$term_ms" '[.[] | select(.line == "delivery" and .acked and (.sent_unix_ms + .latency_us / 1000) > $t)] | length' "$shutdown_record")"
cut="$(jq -s '[.[] | select(.line == "delivery" and (.error // "" | test("closed before message completed|reset|IncompleteMessage")))] | length' "$shutdown_record")"
start_server "$port"
"$CHAOS_BIN" redeliver --url "$SERVER_URL" --record "$shutdown_record" --share-percent 30 --seed "$seed"
redelivered=$?
audit="$("$CHAOS_BIN" audit --record "$shutdown_record")"
audited=$?
echo "$audit"
log "figures: SIGTERM under load: exit status $exit_status after $((exited_ms - term_ms)) ms, $finished_after answered after the signal, $cut connections cut mid-request; $(echo "$audit" | head -1 | sed 's/^audit: //')"
[ "$exit_status" = 0 ] || fail "saldo exited with $exit_status on SIGTERM"
[ "$redelivered" = 0 ] || fail "redelivery failed"
[ "$audited" = 0 ] || fail "audit after SIGTERM failed"
echo "PASS $PART"
