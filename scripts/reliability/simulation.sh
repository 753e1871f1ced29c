#!/usr/bin/env bash
# The deterministic simulation (tests/tests/e2e/simulation.rs): the card flow with messages
# delayed, reordered and duplicated, answers lost, sessions cut between two writes, clock jumps;
# Saldo's balances checked against a model after every step. 10,000 steps (short: 3,000).
# SALDO_SIM_SEED replays a failing seed.
PART=simulation
source "$(dirname "$0")/common/lib.sh"

steps=10000
[ "$SHORT" = 1 ] && steps=3000
export SALDO_SIM_STEPS="${SALDO_SIM_STEPS:-$steps}"
cd "$ROOT"
output="$(cargo test -q -p saldo-tests --test e2e simulation -- --nocapture 2>&1)"
status=$?
# The panic's message (what differed, the last steps) follows its "panicked at" line.
echo "$output" | grep -E "^simulation|SALDO_SIM_SEED|FAILED|test result" | head -20
echo "$output" | grep -A 30 "panicked at" | head -40
[ "$status" = 0 ] || fail "the simulation failed (the seed is above)"
figures="$(echo "$output" | grep '^simulation: seed .*ledger whole' | tail -1)"
[ -n "$figures" ] || fail "no figures from the simulation"
log "figures: ${figures#simulation: }"
echo "PASS $PART"
