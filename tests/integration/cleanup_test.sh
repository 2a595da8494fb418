#!/usr/bin/env bash
# Stores of partitions that moved away are deleted without standbys too (issue
# 14; `--state-cleanup-delay-ms`, here 0: at once; Kafka Streams' cleaner runs
# whether or not it keeps standbys). A, with a changelog and no
# --standby-replicas, reads everything on 4 partition numbers; B joins and
# takes some. Checked: each store A no longer owns is deleted from its state
# dir, with a log line, while the ones it owns stay; then B stops, A takes
# every partition back (the deleted stores restored from the changelog) and
# equals a clean run.
#   PORT=19866 tests/integration/cleanup_test.sh
source "$(dirname "$0")/lib.sh"
start_broker "${PORT:-19866}"
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 2 --customers "${CUSTOMERS:-1000}" --days "${DAYS:-90}" --seed 31 -o "$WORK/events.jsonl"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --state-cleanup-delay-ms 0
  --commit-interval-ms 200 --stats 1 -X session.timeout.ms=1500 -X heartbeat.interval.ms=300)

# (owned, partition_dirs, instances_alive: lib.sh)
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" >/dev/null 2>"$WORK/a.log" &
a=$!
wait_events_read "$WORK/a.log" "$(wc -l <"$WORK/events.jsonl")" "$a"
[[ $(partition_dirs a | wc -l) -eq 4 ]] || fail "A should hold 4 stores: $(partition_dirs a | paste -sd,)"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/b" >/dev/null 2>"$WORK/b.log" &
b=$!
until [[ $(owned b | wc -l) -ge 1 && $( (owned a; owned b) | sort -u | wc -l) -eq 4 && $(owned a | wc -l) -ge 1 ]]; do
  instances_alive "$a" "$b"
  sleep 0.2
done
log "A owns $(owned a | paste -sd,), B owns $(owned b | paste -sd,)"
# Every store of A's that B owns now is deleted, each with its line; A's own stay.
for p in $(owned b); do
  until grep -q "standby: deleted the store of partition $p " "$WORK/a.log"; do
    instances_alive "$a" "$b"
    sleep 0.2
  done
done
[[ "$(partition_dirs a | paste -sd,)" == "$(owned a | sort -n | paste -sd,)" ]] \
  || fail "A's state dir holds $(partition_dirs a | paste -sd,), A owns $(owned a | paste -sd,)"
grep -h "standby: deleted" "$WORK/a.log" >&2
log "A's state dir holds only the stores it owns"
# B leaves; A takes every partition, restoring the deleted stores from the
# changelog, and runs to the end.
for p in "$b" "$a"; do
  kill -TERM "$p"
  wait "$p" || fail "an instance did not stop cleanly: $(tail -3 "$WORK"/*.log)"
done
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/a" --exit-when-idle-ms 3000 >/dev/null 2>"$WORK/a2.log" \
  || fail "A's last run failed: $(tail -3 "$WORK/a2.log")"
grep -q "restored" "$WORK/a2.log" || fail "A's last run restored nothing: $(tail -5 "$WORK/a2.log")"
assert_like_clean_run "$WORK/a" "$WORK/events.jsonl"
log "PASS cleanup"
