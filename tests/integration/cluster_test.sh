#!/usr/bin/env bash
# A 3-broker cluster (ops/kafka/start-cluster; replication factor 3,
# min.insync.replicas 2) under `recur run --changelog-topic`: one broker is
# killed with SIGKILL while recur ingests and restarted later; then recur is
# killed, its state dir deleted, and the restart restores every store from
# the replicated changelog. The final features and offsets equal a clean run's.
source "$(dirname "$0")/lib.sh"
start_cluster 19800
create_input_topics 4
create_changelog_topic 4
"$RECUR" simulate --shops 2 --customers 500 --days 300 --seed 16 --duplicate-rate 0.01 --late-rate 0.01 -o "$WORK/events.jsonl"
split -n l/3 -d "$WORK/events.jsonl" "$WORK/part-"
produce() { "$RECUR" produce "$WORK/part-0$1" --brokers "$BROKER" 2>>"$WORK/produce.log" || fail "produce $1 failed"; }
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --batch-size 2000 --linger-ms 50 --commit-interval-ms 200 --stats 1)

produce 0
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/state" >/dev/null 2>"$WORK/r1.log" &
pid=$!
wait_assigned "$WORK/r1.log" "$pid"
# Broker 2 dies while the second part is produced and read.
kill -9 "$(cat "$CLUSTER_DIR/node-2/broker.pid")"
log "broker 2 killed"
produce 1
wait_events_read "$WORK/r1.log" "$(cat "$WORK/part-00" "$WORK/part-01" | wc -l)" "$pid"
log "recur read the first two parts with broker 2 down"
"$ROOT/ops/kafka/start" --dir "$CLUSTER_DIR/node-2" >/dev/null 2>"$WORK/node-2.log" || fail "broker 2 did not restart"
log "broker 2 back"
# Let a flush land after the restart, then the state dir is lost.
flushes() { grep -o '"flushes":[0-9]*' "$WORK/r1.log" | tail -1 | cut -d: -f2 | grep . || echo 0; }
f0=$(flushes)
produce 2
until [[ $(flushes) -gt $f0 ]]; do
  kill -0 "$pid" 2>/dev/null || fail "recur run exited: $(tail -3 "$WORK/r1.log")"
  sleep 0.2
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
rm -rf "$WORK/state"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/state" --exit-when-idle-ms 3000 >/dev/null 2>"$WORK/r2.log" \
  || fail "the restored run failed: $(tail -3 "$WORK/r2.log")"
[[ $(grep -c "restored .* records .* from recur.changelog" "$WORK/r2.log") -eq 4 ]] \
  || fail "not every store was restored: $(grep -i restor "$WORK/r2.log")"
assert_like_clean_run "$WORK/state" "$WORK/events.jsonl"
log "PASS cluster"
