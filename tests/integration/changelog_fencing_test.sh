#!/usr/bin/env bash
# A zombie cannot write the changelog (issue 14): instance A ingests without
# flushing, is frozen (SIGSTOP) past its session timeout, and B takes all its
# partitions, restoring them from the changelog (which fences A's
# transactional producers). A, woken up, tries to flush what it applied:
# the broker refuses (fenced); A says so, drops it and rejoins the group as
# a new member, and B keeps running (an earlier version restarted A's
# producer, which fenced B). B's state, and a store restored from the
# changelog alone, then equal a clean run's.
source "$(dirname "$0")/lib.sh"
start_broker 19796
create_input_topics 4
create_changelog_topic 4
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

# A wakes up: its flush (on the revocation it finds) is refused by the
# broker; A drops what it applied since its last flush (B has it from the
# topics) and rejoins the group instead of stopping.
kill -CONT "$a"
until grep -q "rejoining the group" "$WORK/a.log"; do
  kill -0 "$a" 2>/dev/null || fail "A exited instead of rejoining: $(tail -3 "$WORK/a.log")"
  sleep 0.2
done
grep -q "another instance opened" "$WORK/a.log" \
  || fail "A never reported its changelog writes fenced: $(grep -i changelog "$WORK/a.log" | tail -3)"
log "A: $(grep -m1 "rejoining the group" "$WORK/a.log" | cut -c1-260)"
# A is a member again and gets partitions (restored from B's changelog writes).
until [[ $(grep -c "assigned [0-9]* partitions" "$WORK/a.log") -ge 2 ]]; do
  kill -0 "$a" 2>/dev/null || fail "A exited after rejoining: $(tail -3 "$WORK/a.log")"
  kill -0 "$b" 2>/dev/null || fail "B exited: $(tail -3 "$WORK/b.log")"
  sleep 0.2
done
log "A rejoined: $(grep "assigned [0-9]* partitions" "$WORK/a.log" | tail -1 | cut -d' ' -f4-9)"
kill -TERM "$a"
wait "$a" || fail "A did not stop cleanly: $(tail -3 "$WORK/a.log")"
AS_OF=$(last_event_day "$WORK/events.jsonl")

# B stops cleanly; run once more to the end, owning every partition.
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
