#!/usr/bin/env bash
# A partition store deleted from the state dir is noticed (issue 15, item 8):
# the state dir's manifest (PARTITIONS) records every store it created, so
# `recur run` and `recur inspect --all` refuse, naming the missing partition and
# --rebuild-missing; `run --rebuild-missing` rebuilds it from the input topics
# (features equal the offline reference) — but only while the topics still
# start at offset 0: after kafka-delete-records it refuses, naming the topic,
# partition and first available offset, unless --accept-loss is given too.
source "$(dirname "$0")/lib.sh"

start_broker 19720
create_input_topics 2
"$RECUR" simulate --shops 2 --customers 60 --days 30 --seed 11 -o "$WORK/events.jsonl" 2>/dev/null
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
run() { "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --exit-when-idle-ms 2000 "$@"; }
run >"$WORK/run1.json" 2>"$WORK/run1.log" || fail "first run: $(tail -3 "$WORK/run1.log")"
day=$(last_event_day "$WORK/events.jsonl")
offline_reference "$WORK/events.jsonl" "$day" "$WORK/ref.txt"
features_of "$WORK/state" "$day" >"$WORK/f1.txt" || fail "inspect after the first run"
assert_same_features "$WORK/ref.txt" "$WORK/f1.txt"

# 1. partition-1's store deleted: everything that reads the state dir refuses.
rm -rf "$WORK/state/partition-1"
run_rc=0
run >/dev/null 2>"$WORK/run2.log" || run_rc=$?
[[ $run_rc -ne 0 ]] || fail "run exited 0 with partition-1's store missing"
grep -q "the store of partition 1 is missing" "$WORK/run2.log" || fail "run: $(tail -3 "$WORK/run2.log")"
grep -q -- "--rebuild-missing" "$WORK/run2.log" || fail "run does not name --rebuild-missing"
[[ ! -e "$WORK/state/partition-1" ]] || fail "the refused run created partition-1"
rc=0
"$RECUR" inspect --all --as-of "$day" --state-dir "$WORK/state" >"$WORK/inspect.out" 2>"$WORK/inspect.err" || rc=$?
[[ $rc -ne 0 ]] || fail "inspect --all exited 0 with partition-1's store missing"
[[ ! -s "$WORK/inspect.out" ]] || fail "inspect --all printed $(wc -l <"$WORK/inspect.out") customers"
grep -q "the store of partition 1 is missing" "$WORK/inspect.err" || fail "inspect: $(cat "$WORK/inspect.err")"
[[ "$(cat "$WORK/state/PARTITIONS")" == $'recur-partitions 1\n0\n1' ]] \
  || fail "manifest: $(cat "$WORK/state/PARTITIONS")"
log "partition-1 deleted: run (exit $run_rc) and inspect --all (exit $rc) refuse: $(grep -o 'the store of partition 1 is missing[^;]*' "$WORK/inspect.err" | head -1)"

# 2. --rebuild-missing: rebuilt from offset 0, features as before.
run --rebuild-missing >/dev/null 2>"$WORK/run3.log" || fail "rebuild: $(tail -3 "$WORK/run3.log")"
grep -q "partition 1 missing; rebuilding" "$WORK/run3.log" || fail "rebuild not logged"
features_of "$WORK/state" "$day" >"$WORK/f3.txt" || fail "inspect after the rebuild"
assert_same_features "$WORK/ref.txt" "$WORK/f3.txt"

# 3. The topic no longer starts at 0: a rebuild would lose those records.
libs=$("$ROOT/ops/kafka/fetch")
echo '{"version":1,"partitions":[{"topic":"shop.sessions","partition":1,"offset":3}]}' >"$WORK/delete.json"
java -Xmx256m "-Dlog4j2.configurationFile=$ROOT/ops/kafka/log4j2-tools.properties" -cp "$libs/*" \
  org.apache.kafka.tools.DeleteRecordsCommand --bootstrap-server "$BROKER" \
  --offset-json-file "$WORK/delete.json" >"$WORK/delete.log" 2>&1 || fail "delete-records: $(tail -3 "$WORK/delete.log")"
rm -rf "$WORK/state/partition-1"
rc=0
run --rebuild-missing >/dev/null 2>"$WORK/run4.log" || rc=$?
[[ $rc -ne 0 ]] || fail "rebuild from a topic without its first records exited 0"
grep -q "shop.sessions partition 1: first available offset 3 (offsets 0..2 deleted)" "$WORK/run4.log" \
  || fail "the loss is not named: $(tail -3 "$WORK/run4.log")"
grep -q -- "--accept-loss" "$WORK/run4.log" || fail "run does not name --accept-loss"
[[ ! -e "$WORK/state/partition-1" ]] || fail "the refused rebuild created partition-1"
log "rebuild refused (exit $rc): $(grep -o 'shop.sessions partition 1: first available offset [0-9]*' "$WORK/run4.log" | head -1)"
run --rebuild-missing --accept-loss >/dev/null 2>"$WORK/run5.log" || fail "accepted rebuild: $(tail -3 "$WORK/run5.log")"
grep -q "without the deleted records (--accept-loss): shop.sessions partition 1" "$WORK/run5.log" \
  || fail "the accepted loss is not logged"
[[ -d "$WORK/state/partition-1" ]] || fail "no partition-1 after the accepted rebuild"
features_of "$WORK/state" "$day" >"$WORK/f5.txt" || fail "inspect after the accepted rebuild"
cmp -s "$WORK/ref.txt" "$WORK/f5.txt" && fail "features unchanged although 3 sessions were deleted"
log "rebuild with --accept-loss: partition-1 rebuilt without the 3 deleted sessions"

echo "PASS missing_partition"
