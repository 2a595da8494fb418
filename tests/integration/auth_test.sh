#!/usr/bin/env bash
# Authentication failures are reported at once as what they are (issue 15,
# item 5): SASL against the broker's PLAINTEXT listener makes `recur run`,
# `recur produce` and `recur replay` exit non-zero with a message naming
# authentication/SASL, long before `--broker-down-timeout` (300 s) would blame
# --brokers, and without printing the password.
source "$(dirname "$0")/lib.sh"

start_broker 19662
create_input_topics 2
"$RECUR" simulate --shops 1 --customers 20 --days 5 --seed 3 -o "$WORK/events.jsonl" 2>/dev/null
# A live state dir for `recur replay` to start from.
"$RECUR" import "$WORK/events.jsonl" --state-dir "$WORK/live" --partitions 2 >/dev/null 2>&1 || fail "import"

SECRET="pw-$RANDOM-never-printed"
SASL=(-X security.protocol=SASL_PLAINTEXT -X sasl.mechanism=PLAIN -X sasl.username=u
  -X "sasl.password=$SECRET")

# Each command fails by itself, at once, naming authentication (lib.sh).
expect_auth_failure "$WORK" run "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" \
  --broker-down-timeout 300 "${SASL[@]}"
expect_auth_failure "$WORK" produce "$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" "${SASL[@]}"
expect_auth_failure "$WORK" replay "$RECUR" replay --brokers "$BROKER" --state-dir "$WORK/live" \
  --out "$WORK/replay-out" "${SASL[@]}"

echo "PASS auth"
