#!/usr/bin/env bash
# Rebalance: a second `recur run` joining the same consumer group (same --group,
# same --state-dir: one store per partition number) takes over some partitions
# while the stream is flowing. Both instances exit 0, both held partitions after
# the second one joined, every record was read exactly once across the two, and
# the features equal the offline reference of the whole stream. Half the stream
# is produced before B starts, a quarter while it joins, a quarter after.
source "$(dirname "$0")/lib.sh"
start_broker 19430
create_input_topics 4

"$RECUR" simulate --shops 3 --customers 600 --days 200 --seed 9 --duplicate-rate 0.02 --late-rate 0.02 -o "$WORK/events.jsonl"
n=$(wc -l <"$WORK/events.jsonl")
# Half before B joins, a quarter while it joins, the last quarter once it holds partitions.
q=$((n / 4))
head -n "$((2 * q))" "$WORK/events.jsonl" >"$WORK/first.jsonl"
sed -n "$((2 * q + 1)),$((3 * q))p" "$WORK/events.jsonl" >"$WORK/third.jsonl"
tail -n +"$((3 * q + 1))" "$WORK/events.jsonl" >"$WORK/fourth.jsonl"

# Instances run until SIGTERM (no idle window: the last quarter may take any
# time to arrive); the test stops them once they have read every record. exec:
# $! is then recur itself, which the SIGTERM must reach.
run_instance() {  # NAME: a pipeline instance in the background, stats every second
  exec "$RECUR" run --brokers "$BROKER" --group rebalance --state-dir "$WORK/state" --batch-size 5000 --stats 1 \
    >"$WORK/$1.json" 2>"$WORK/$1.log"
}

"$RECUR" produce "$WORK/first.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
run_instance a &
A=$!
wait_for_log "$WORK/a.log" 'assigned [1-9][0-9]* partitions' "$A"
wait_for_log "$WORK/a.log" '"applied":[1-9]' "$A"  # A is consuming
# The third quarter flows while B joins, so A gives partitions away mid-stream.
"$RECUR" produce "$WORK/third.jsonl" --brokers "$BROKER" 2>"$WORK/produce3.log" &
P=$!
run_instance b &
B=$!
wait_for_log "$WORK/b.log" 'assigned [1-9][0-9]* partitions' "$B"
wait "$P" || fail "producing the third quarter failed: $(cat "$WORK/produce3.log")"
log "instance B joined: $(grep -c 'assigned' "$WORK/a.log") assignment(s) seen by A"
"$RECUR" produce "$WORK/fourth.jsonl" --brokers "$BROKER" 2>>"$WORK/produce.log"
until [[ $(($(events_read "$WORK/a.log") + $(events_read "$WORK/b.log"))) -ge $n ]]; do
  kill -0 "$A" 2>/dev/null || fail "instance A exited before the end: $(tail -5 "$WORK/a.log")"
  kill -0 "$B" 2>/dev/null || fail "instance B exited before the end: $(tail -5 "$WORK/b.log")"
  sleep 0.2
done
log "every record read: stopping both instances"
kill -TERM "$A" "$B"
rc=0
wait "$A" || rc=$?
[[ $rc -eq 0 ]] || fail "instance A exited $rc: $(tail -5 "$WORK/a.log")"
wait "$B" || rc=$?
[[ $rc -eq 0 ]] || fail "instance B exited $rc: $(tail -5 "$WORK/b.log")"

# Both held partitions after B joined: B's assignments all are; A's first one is not.
a_assigned=$(grep -Ec 'assigned [1-9][0-9]* partitions' "$WORK/a.log")
b_assigned=$(grep -Ec 'assigned [1-9][0-9]* partitions' "$WORK/b.log")
[[ $a_assigned -ge 2 ]] || fail "A was never (re)assigned partitions after B joined: $(grep assigned "$WORK/a.log")"
[[ $b_assigned -ge 1 ]] || fail "B never held partitions"
grep -q 'partitions revoked' "$WORK/a.log" || fail "A never gave partitions away"
log "A: $(grep -o 'assigned [0-9]* partitions' "$WORK/a.log" | paste -sd,), B: $(grep -o 'assigned [0-9]* partitions' "$WORK/b.log" | paste -sd,)"

# Exactly once across the two: every record read by one instance only, and the
# second half split between them.
a_in=$(grep '^{' "$WORK/a.json" | tail -1 | jq .events_in)
b_in=$(grep '^{' "$WORK/b.json" | tail -1 | jq .events_in)
[[ $b_in -gt 0 ]] || fail "B read nothing"
[[ $((a_in + b_in)) -eq $n ]] || fail "A read $a_in and B read $b_in records: $((a_in + b_in)) in all, the topics hold $n"
log "A read $a_in records, B $b_in: $n in all"

AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"
echo "PASS rebalance"
