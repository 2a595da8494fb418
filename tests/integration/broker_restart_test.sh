#!/usr/bin/env bash
# Broker restart: `recur run` keeps running while the broker is stopped and
# started again on the same data between two halves of a stream, notices both,
# resumes, and ends with features
# identical to the offline reference, exit 0. And with no broker at all,
# `recur run` gives up after --broker-down-timeout with a non-zero exit and a
# message that says what to do.
source "$(dirname "$0")/lib.sh"

# 1. The broker goes away and comes back while the pipeline runs. recur runs
# until told to stop (no idle window: a busy machine may take any time to
# restart the broker); the test waits for the condition, every event read, and
# then stops it with SIGTERM.
start_broker 19440
create_input_topics 4
"$RECUR" simulate --shops 3 --customers 400 --days 200 --seed 13 --duplicate-rate 0.02 --late-rate 0.02 -o "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
head -n "$((n / 2))" "$WORK/events.jsonl" >"$WORK/first.jsonl"
tail -n +"$((n / 2 + 1))" "$WORK/events.jsonl" >"$WORK/second.jsonl"

"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --batch-size 2000 --stats 1 \
  >"$WORK/run.json" 2>"$WORK/run.log" &
RUN=$!
"$RECUR" produce "$WORK/first.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
until grep -q '"applied":[1-9]' "$WORK/run.log"; do
  kill -0 "$RUN" 2>/dev/null || fail "recur run exited early: $(tail -5 "$WORK/run.log")"
  sleep 0.1
done

log "stopping the broker"
down_at=$SECONDS
"$ROOT/ops/kafka/stop" --dir "$BROKER_DIR" >/dev/null
sleep 5
kill -0 "$RUN" 2>/dev/null || fail "recur run exited while the broker was down: $(tail -5 "$WORK/run.log")"
log "starting the broker again"
"$ROOT/ops/kafka/start" --dir "$BROKER_DIR" >/dev/null
kill -0 "$RUN" 2>/dev/null || fail "recur run exited while the broker was restarting: $(tail -5 "$WORK/run.log")"
"$RECUR" produce "$WORK/second.jsonl" --brokers "$BROKER" 2>>"$WORK/produce.log"
log "broker back and second half produced $((SECONDS - down_at)) s after the stop"
wait_events_read "$WORK/run.log" "$n" "$RUN"
log "all $n events read: stopping recur run"
kill -TERM "$RUN"
rc=0
wait "$RUN" || rc=$?
[[ $rc -eq 0 ]] || fail "recur run exited $rc after the broker restart: $(tail -5 "$WORK/run.log")"
grep -q 'Kafka unreachable' "$WORK/run.log" || fail "recur did not notice the broker was down (no 'Kafka unreachable' in its log)"
grep -q 'Kafka reachable again' "$WORK/run.log" || fail "recur did not log that the broker was back ('Kafka reachable again')"
stats=$(grep '^{' "$WORK/run.json" | tail -1)
[[ $(jq .events_in <<<"$stats") -eq $n ]] || fail "events_in is $(jq .events_in <<<"$stats"), the topics hold $n: $stats"
[[ $(topic_count recur.dlq) -eq 0 ]] || fail "records went to the DLQ: $(topic_count recur.dlq)"

AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"

# 2. Nothing listening: a non-zero exit, and advice. --broker-down-timeout 5
# must end it well before the default 300 s; 240 s only catches a hang, it is
# no measure of speed (the machine may be busy).
start=$SECONDS
rc=0
timeout 240 "$RECUR" run --brokers 127.0.0.1:1 --broker-down-timeout 5 --exit-when-idle-ms 1000 \
  --state-dir "$WORK/state-nobroker" >"$WORK/nobroker.json" 2>"$WORK/nobroker.log" || rc=$?
took=$((SECONDS - start))
[[ $rc -ne 0 ]] || fail "recur run exited 0 with no broker: $(tail -5 "$WORK/nobroker.log")"
[[ $rc -ne 124 ]] || fail "recur run was still running after 240 s with no broker (--broker-down-timeout 5)"
grep -q 'no Kafka broker reachable' "$WORK/nobroker.log" && grep -q 'check --brokers' "$WORK/nobroker.log" \
  || fail "no actionable message when no broker is reachable: $(tail -5 "$WORK/nobroker.log")"
log "no broker: exit $rc after $took s: $(grep -o 'no Kafka broker reachable.*' "$WORK/nobroker.log" | head -1)"

echo "PASS broker_restart"
