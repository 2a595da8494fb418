#!/usr/bin/env bash
# A zombie cannot write the changelog (issue 14): instance A ingests without
# flushing, is frozen (SIGSTOP) past its session timeout, and B takes all its
# partitions, restoring them from the changelog (which fences A's
# transactional producers). A, woken up, tries to flush what it applied:
# the broker refuses (fenced), A says so and writes nothing, neither to the
# changelog nor to its disk. B's state then equals a clean run's.
source "$(dirname "$0")/lib.sh"
start_broker 19796
create_input_topics 4
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 --compact --config max.message.bytes=33554432 \
  recur.changelog >/dev/null 2>&1 || fail "could not create the changelog topic"
"$RECUR" simulate --shops 2 --customers 500 --days 200 --seed 15 --duplicate-rate 0.01 -o "$WORK/events.jsonl"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
events=$(wc -l <"$WORK/events.jsonl")
log "$events events"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --stats 1 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

# A applies everything and, with a 10-minute commit interval, flushes nothing.
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" --commit-interval-ms 600000 >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$events" "$a"
kill -STOP "$a"
log "A frozen with $events events applied and not flushed"

# B joins; once A's session has expired it owns every partition.
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" --commit-interval-ms 200 >/dev/null 2>"$WORK/b.log" &
b=$!
until grep -q "assigned 20 partitions" "$WORK/b.log"; do
  kill -0 "$b" 2>/dev/null || fail "B exited: $(tail -3 "$WORK/b.log")"
  sleep 0.2
done
wait_events_read "$WORK/b.log" "$events" "$b"
log "B owns every partition and read every event"

# A wakes up: its flush (on the revocation it finds) is refused by the broker.
kill -CONT "$a"
until grep -Eqi "fenc|another instance opened" "$WORK/a.log"; do
  kill -0 "$a" 2>/dev/null || break
  sleep 0.2
done
grep -Eqi "fenc|another instance opened" "$WORK/a.log" \
  || fail "A never reported its changelog writes fenced: $(grep -i changelog "$WORK/a.log" | tail -3)"
log "A: $(grep -Ei "fenc|another instance opened" "$WORK/a.log" | head -1 | cut -c1-220)"
kill -9 "$a" 2>/dev/null || true
wait "$a" 2>/dev/null || true
AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$WORK/a" "$AS_OF" >"$WORK/a.jsonl" || fail "A's stores can not be read"
[[ ! -s "$WORK/a.jsonl" ]] || fail "A wrote $(wc -l <"$WORK/a.jsonl") customers to its disk after it was fenced"

# B stops cleanly; run once more to the end, owning every partition (A is gone).
kill -TERM "$b"
wait "$b" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
"$RECUR" run --brokers "$BROKER" --changelog-topic recur.changelog --state-dir "$WORK/b" --exit-when-idle-ms 3000 \
  >/dev/null 2>"$WORK/b2.log" || fail "B's last run failed: $(tail -3 "$WORK/b2.log")"
assert_like_clean_run "$WORK/b" "$WORK/events.jsonl"
# And a store restored from the changelog alone is the same.
"$RECUR" run --brokers "$BROKER" --changelog-topic recur.changelog --state-dir "$WORK/c" --exit-when-idle-ms 3000 \
  >/dev/null 2>"$WORK/c.log" || fail "restore failed: $(tail -3 "$WORK/c.log")"
features_of "$WORK/c" "$AS_OF" >"$WORK/c.jsonl"
assert_same_features "$WORK/clean.jsonl" "$WORK/c.jsonl"
log "PASS changelog fencing"
