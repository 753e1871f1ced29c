#!/usr/bin/env bash
# Processor faults (tests/tests/e2e/processor_faults.rs): the simulator breaks connections before
# and after carrying a call out, times out, answers 503, 502 after carrying it out, and 429 with
# Retry-After, on card creation and fence syncs; the outbox finishes with one cardholder, one
# card and one key per call at the processor; a permanent 4xx is a dead letter staff see.
# The existing outbox fault tests (card_outbox, the_outbox_recovers…) run beside them.
PART=processor-faults
source "$(dirname "$0")/common/lib.sh"

cd "$ROOT"
output="$(cargo test -q -p saldo-tests --test e2e -- processor_faults card_outbox the_outbox_recovers 2>&1)"
status=$?
echo "$output" | grep -E "^test |test result|panicked|FAILED" | head -40
[ "$status" = 0 ] || fail "processor fault tests failed"
result="$(echo "$output" | grep -E '^test result' | tail -1)"
passed="$(echo "$result" | grep -o '[0-9]* passed' | awk '{print $1}')"
[ "${passed:-0}" -ge 3 ] || fail "too few tests ran: $result"
log "figures: $passed processor fault tests passed (${result#test result: })"
echo "PASS $PART"
