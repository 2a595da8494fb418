#!/usr/bin/env bash
# Cooperative rebalancing (issue 14): instance A owns the four partition
# numbers and ingests while the stream keeps arriving; B joins with its own
# state dir. A gives up only the partition numbers that move to B (their
# stores flushed and closed), keeps reading the others without a new
# assignment, and applies more events of them after the revocation; B
# restores what it takes from the changelog. The pause A's kept partitions
# saw is printed (a figure for docs/BENCHMARKS.md, not a pass condition).
# Then B leaves and A takes its partition numbers back: their stores open
# (caught up from the changelog) on a thread of their own, held there by the
# test binary until A has applied more events of the partitions it kept, which
# shows that an opening no longer stops them. Then A leaves and a last run to
# the end in A's state dir gives a clean run's features and offsets.
#   REBALANCE=eager tests/integration/cooperative_test.sh   # the same, eager: prints its pause
source "$(dirname "$0")/lib.sh"
MODE="${REBALANCE:-cooperative}"
start_broker 19830
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 2 --customers 500 --days 300 --seed 17 --duplicate-rate 0.01 -o "$WORK/events.jsonl"
split -n l/2 -d "$WORK/events.jsonl" "$WORK/half-"
split -n l/12 -d "$WORK/half-01" "$WORK/chunk-"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --batch-size 2000 --linger-ms 50 --commit-interval-ms 200
  --stats 1 -X session.timeout.ms=6000 -X heartbeat.interval.ms=500)
[[ $MODE == cooperative ]] && ARGS+=(--cooperative-rebalance)

"$RECUR" produce "$WORK/half-00" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
# A is `recur` with a test hook: a store's opening waits while $WORK/hold exists.
KILL_AFTER_COMMIT="${KILL_AFTER_COMMIT:-$(dirname "$RECUR")/tests/streams/recur_kill_after_commit}"
"$KILL_AFTER_COMMIT" --at PartitionStores::OpenOne --hold "$WORK/hold" 1 run "${ARGS[@]}" \
  --state-dir "$WORK/a" >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$(wc -l <"$WORK/half-00")" "$a"
log "A read the first half ($MODE)"
events_applied() { grep -o '"applied":[0-9]*' "$1" | tail -1 | cut -d: -f2 | grep . || echo 0; }
produce_chunks() {
  for i in "$@"; do "$RECUR" produce "$WORK/chunk-$(printf %02d "$i")" --brokers "$BROKER" 2>>"$WORK/produce.log" || return 1; done
}
# Seven chunks of the second half arrive while B joins (the pacing only keeps
# events flowing through the rebalance; nothing waits on it); the last three
# once A's assignment changed.
(for i in 0 1 2 3 4 5 6; do
  produce_chunks "$i" || exit 1
  sleep 0.3
done) &
producer=$!
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" >/dev/null 2>"$WORK/b.log" &
b=$!
wait_assigned "$WORK/b.log" "$b"
wait "$producer" || fail "producing the second half failed: $(tail -3 "$WORK/produce.log")"
until grep -q "consumption paused" "$WORK/a.log"; do
  kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
  sleep 0.2
done
produce_chunks 7 8 9 || fail "producing the last chunks failed: $(tail -3 "$WORK/produce.log")"
log "B assigned; the second half produced"
paused=$(grep -o "consumption paused [0-9]* ms" "$WORK/a.log" | head -1)
[[ -n $paused ]] || fail "A logged no rebalance: $(grep -iE "revoked|assigned" "$WORK/a.log" | tail -3)"
log "A's partitions that stayed: $paused"
if [[ $MODE == cooperative ]]; then
  revoked=$(grep -m1 "partition numbers .* revoked, their stores closed; [0-9]* stay" "$WORK/a.log") \
    || fail "A logged no incremental revocation: $(grep -iE "revoked|assigned" "$WORK/a.log" | tail -3)"
  stay=$(sed 's/.*closed; \([0-9]*\) stay.*/\1/' <<<"$revoked")
  [[ $stay -ge 1 ]] || fail "A kept no partition: $revoked"
  ! grep -q "partitions revoked, stores closed" "$WORK/a.log" || fail "A's whole assignment was revoked"
  [[ $(grep -c "assigned [0-9]* partitions" "$WORK/a.log") -eq 1 ]] \
    || fail "A was assigned again: $(grep "assigned" "$WORK/a.log")"
  # A applies more of its kept partitions after the revocation, without a new assignment.
  at_revoke=$(sed -n "1,/partition numbers .* revoked/p" "$WORK/a.log" | grep -o '"applied":[0-9]*' | tail -1 | cut -d: -f2)
  until [[ $(events_applied "$WORK/a.log") -gt ${at_revoke:-0} ]]; do
    kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
    sleep 0.2
  done
  grep -q "restored [0-9,]* records .* from recur.changelog" "$WORK/b.log" \
    || fail "B restored nothing from the changelog: $(grep -i restor "$WORK/b.log" | tail -3)"
  log "A: $(cut -d' ' -f4- <<<"$revoked"); A had applied ${at_revoke:-0} events then, $(events_applied "$WORK/a.log") after"
fi
if [[ $MODE == cooperative ]]; then
  # Everything produced so far read by A or B, then B leaves: A takes its partition
  # numbers back. Their stores' opening is held (the test hook) while the last
  # chunks arrive; A must apply more of what it kept meanwhile.
  total=$(cat "$WORK/half-00" "$WORK"/chunk-0* | wc -l)
  until [[ $(($(events_read "$WORK/a.log") + $(events_read "$WORK/b.log"))) -ge $total ]]; do
    kill -0 "$a" 2>/dev/null && kill -0 "$b" 2>/dev/null || fail "A or B exited: $(tail -3 "$WORK/a.log" "$WORK/b.log")"
    sleep 0.2
  done
  touch "$WORK/hold"
  kill -TERM "$b"
  wait "$b" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
  opening="assigned: opening their stores while the [0-9]* open are read on"
  wait_for_log "$WORK/a.log" "$opening" "$a"
  # The applied count of a stats line written after the opening began.
  until tail -n +"$(grep -n "$opening" "$WORK/a.log" | tail -1 | cut -d: -f1)" "$WORK/a.log" | grep -q '"applied":'; do
    kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
    sleep 0.2
  done
  at_hold=$(events_applied "$WORK/a.log")
  produce_chunks 10 11 || fail "producing the last chunks failed: $(tail -3 "$WORK/produce.log")"
  until [[ $(events_applied "$WORK/a.log") -gt $at_hold ]]; do
    kill -0 "$a" 2>/dev/null || fail "A exited: $(tail -3 "$WORK/a.log")"
    sleep 0.2
  done
  ! grep -q "stores opened in [0-9]* ms beside the others" "$WORK/a.log" || fail "the hold did not hold"
  rm "$WORK/hold"
  wait_for_log "$WORK/a.log" "stores opened in [0-9]* ms beside the others" "$a"
  log "A applied $at_hold -> $(events_applied "$WORK/a.log") events while B's stores opened;" \
    "$(grep -o "partition numbers [0-9,]*: stores opened in [0-9]* ms" "$WORK/a.log")"
else
  kill -TERM "$b"
  wait "$b" || fail "B did not stop cleanly: $(tail -3 "$WORK/b.log")"
  produce_chunks 10 11 || fail "producing the last chunks failed: $(tail -3 "$WORK/produce.log")"
fi
kill -TERM "$a"
wait "$a" || fail "A did not stop cleanly: $(tail -3 "$WORK/a.log")"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" --exit-when-idle-ms 3000 >/dev/null 2>"$WORK/a2.log" \
  || fail "A's last run failed: $(tail -3 "$WORK/a2.log")"
assert_like_clean_run "$WORK/a" "$WORK/events.jsonl"
log "PASS cooperative ($MODE)"
