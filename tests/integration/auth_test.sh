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

# expect_auth_failure NAME COMMAND...: COMMAND ends by itself (waited on for up
# to 120 s: the bound only catches a hang, the old behaviour waited 300 s), exits
# non-zero, says authentication/SASL, and never prints the secret.
expect_auth_failure() {
  local name=$1 rc=0 pid
  shift
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pid=$!
  for ((i = 0; i < 1200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    fail "$name: still running 120 s after starting with bad credentials: $(tail -3 "$WORK/$name.err")"
  fi
  wait "$pid" || rc=$?
  [[ $rc -ne 0 ]] || fail "$name: exit 0 with bad credentials"
  grep -Eqi 'authentication|SASL' "$WORK/$name.err" \
    || fail "$name: the error does not name authentication/SASL: $(tail -3 "$WORK/$name.err")"
  if grep -qF -- "$SECRET" "$WORK/$name.out" "$WORK/$name.err"; then
    fail "$name: the password appears in the output"
  fi
  grep -qi 'no Kafka broker' "$WORK/$name.err" && fail "$name: blamed --brokers: $(tail -3 "$WORK/$name.err")"
  log "$name: exit $rc: $(grep -Eio 'recur: error: .{0,120}' "$WORK/$name.err" | head -1)"
}

expect_auth_failure run "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" \
  --broker-down-timeout 300 "${SASL[@]}"
expect_auth_failure produce "$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" "${SASL[@]}"
expect_auth_failure replay "$RECUR" replay --brokers "$BROKER" --state-dir "$WORK/live" \
  --out "$WORK/replay-out" "${SASL[@]}"

echo "PASS auth"
