#!/usr/bin/env bash
# Changelog (issue 14): `recur run --changelog-topic` against a real broker,
# killed at the worst moments and restarted on lost or moved state dirs; the
# final features and stored offsets equal a clean run's (no changelog, never
# killed) and the offline reference: nothing lost, nothing counted twice.
#  1. killed inside a store flush after its changelog transaction committed and
#     before its RocksDB write (FeatureStore::BeforeFlushWrite): the log is
#     ahead of the disk, and the restart catches the store up from the log;
#  2. kill -9 at a random moment mid-ingest;
#  3. the state dir deleted: every store restored from the changelog;
#  4. the stores moved to another state dir ("another machine" that has an
#     old copy) after more input, killed inside a flush again;
#  5. deleted again, then run to the end.
source "$(dirname "$0")/lib.sh"
KILL_AFTER_COMMIT="${KILL_AFTER_COMMIT:-$(dirname "$RECUR")/tests/streams/recur_kill_after_commit}"
start_broker 19790
create_input_topics 4
create_changelog_topic 4

"$RECUR" simulate --shops 3 --customers 600 --days 420 --seed 14 --duplicate-rate 0.01 --late-rate 0.01 -o "$WORK/events.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events"
split -n l/6 -d "$WORK/events.jsonl" "$WORK/part-"
produce() { "$RECUR" produce "$WORK/part-0$1" --brokers "$BROKER" 2>>"$WORK/produce.log"; }
ARGS=(--brokers "$BROKER" --changelog-topic recur.changelog --batch-size 2000 --linger-ms 50 --commit-interval-ms 200)

# No changelog topic: a clear error before anything is read.
rc=0
"$RECUR" run "${ARGS[@]/recur.changelog/no.such.changelog}" --state-dir "$WORK/none" >/dev/null 2>"$WORK/none.log" || rc=$?
[[ $rc -ne 0 ]] && grep -q "changelog topic 'no.such.changelog' does not exist" "$WORK/none.log" \
  || fail "a missing changelog topic: exit $rc, $(tail -2 "$WORK/none.log")"

# 1. Killed inside the 2nd store flush, between the changelog and the disk
#    (should the input end first, the run exits when idle and the test fails).
produce 0
produce 1
rc=0
"$KILL_AFTER_COMMIT" --at FeatureStore::BeforeFlushWrite 2 run "${ARGS[@]}" --state-dir "$WORK/state" \
  --exit-when-idle-ms 5000 >/dev/null 2>"$WORK/r1.log" || rc=$?
[[ $rc -eq 137 ]] || fail "round 1: expected the hook's SIGKILL in flush 2, got exit $rc: $(tail -3 "$WORK/r1.log")"

# 2. The restart catches up from the log, then is killed at a random moment.
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/state" >/dev/null 2>"$WORK/r2.log" &
pid=$!
wait_assigned "$WORK/r2.log" "$pid"
grep -q "restored .* records .* from recur.changelog" "$WORK/r2.log" \
  || fail "round 2: no store caught up from the changelog after the kill inside a flush"
produce 2
sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.2 + rand()*0.6}')"
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
cp -r "$WORK/state" "$WORK/old-copy"  # what "another machine" kept of these partitions

# 3. The state dir lost: every store restored from the changelog.
rm -rf "$WORK/state"
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/state" >/dev/null 2>"$WORK/r3.log" &
pid=$!
wait_assigned "$WORK/r3.log" "$pid"
[[ $(grep -c "restored .* records .* from recur.changelog" "$WORK/r3.log") -eq 4 ]] \
  || fail "round 3: not every store was restored: $(grep -i restor "$WORK/r3.log")"
produce 3
sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.2 + rand()*0.6}')"
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true

# 4. The old copy, behind the log by rounds 2-3, on "another machine"; killed inside a flush.
produce 4
rc=0
"$KILL_AFTER_COMMIT" --at FeatureStore::BeforeFlushWrite 2 run "${ARGS[@]}" --state-dir "$WORK/old-copy" \
  --exit-when-idle-ms 5000 >/dev/null 2>"$WORK/r4.log" || rc=$?
[[ $rc -eq 137 ]] || fail "round 4: expected the hook's SIGKILL in flush 2, got exit $rc: $(tail -3 "$WORK/r4.log")"
grep -q "restored .* records .* from recur.changelog" "$WORK/r4.log" \
  || fail "round 4: the old copy did not catch up from the changelog"

# 5. Lost again; restored and run to the end.
rm -rf "$WORK/state" "$WORK/old-copy"
produce 5
"$RECUR" run "${ARGS[@]}" --state-dir "$WORK/state" --exit-when-idle-ms 3000 >"$WORK/final.json" 2>"$WORK/final.log" \
  || fail "final run failed: $(tail -3 "$WORK/final.log")"

assert_like_clean_run "$WORK/state" "$WORK/events.jsonl"

# kcat, an independent reader: every partition's changelog starts with the
# store's format marker, and deleted keys are tombstones (null values).
for p in 0 1 2 3; do
  first=$(kcat -C -b "$BROKER" -t recur.changelog -p "$p" -o beginning -c 1 -e -q -f '%k' 2>/dev/null)
  [[ $first == m:format ]] || fail "changelog partition $p starts with '$first', not the format marker"
done
tombstones=$(kcat -C -b "$BROKER" -t recur.changelog -e -q -Z -f '%S\n' 2>/dev/null | grep -c '^-1$' || true)
[[ $tombstones -gt 0 ]] || fail "no tombstone in the changelog (pruned days and cleared marks are deletes)"
log "PASS changelog ($(topic_count recur.changelog) changelog records, $tombstones tombstones)"
