#!/usr/bin/env bash
# Snapshot of a running pipeline: `recur run` ingests from a real broker while
# the events are still being produced, and `recur snapshot` copies its state dir
# twice without stopping it. Each snapshot is readable (offsets, customers),
# its offsets lie between nothing and the final ones, and it is a consistent
# point: a second pipeline started from a copy of the first snapshot consumes
# the rest of the topics and ends with exactly the live run's features and
# offsets (a hole or a half batch in the snapshot would show as a difference).
# `recur train` accepts the second snapshot. The live run, snapshotted twice,
# still ends identical to the offline reference.
source "$(dirname "$0")/lib.sh"
start_broker 19462  # 19460-19461 are ingest_bench.sh's default
create_input_topics 4

"$RECUR" simulate --shops 3 --customers 400 --days 150 --seed 11 --duplicate-rate 0.01 --late-rate 0.01 -o "$WORK/events.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events"
split -n l/6 -d "$WORK/events.jsonl" "$WORK/part-"

# offsets_sum DIR: the sum of every stored offset of a state dir or snapshot.
offsets_sum() { "$RECUR" inspect --offsets --state-dir "$1" | awk '{s+=$4} END{print s+0}'; }
# alive PID: the live pipeline is still running.
alive() { kill -0 "$1" 2>/dev/null || fail "recur run is not running any more: $(tail -3 "$WORK/run.log")"; }

# A backlog of half the events, then the rest produced while the pipeline runs.
for part in "$WORK"/part-0[012]; do "$RECUR" produce "$part" --brokers "$BROKER" 2>>"$WORK/produce.log"; done
backlog=$(cat "$WORK"/part-0[012] | wc -l)
through4=$(cat "$WORK"/part-0[0-4] | wc -l)

# Small batches: many commits while the snapshots run. No idle window: the
# pipeline runs until the test has seen every event stored, then gets SIGTERM
# (a busy machine may pause the production for any time). Every wait below is
# for a condition, ended early only by the process it waits on exiting.
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --batch-size 500 --linger-ms 20 \
  >"$WORK/run.json" 2>"$WORK/run.log" &
run_pid=$!
until grep -q "assigned" "$WORK/run.log"; do alive "$run_pid"; sleep 0.1; done
(
  for part in 3 4 5; do
    sleep 2
    "$RECUR" produce "$WORK/part-0$part" --brokers "$BROKER" 2>>"$WORK/produce.log"
    touch "$WORK/produced-$part"
  done
) &
produce_pid=$!

until [[ -e "$WORK/state/partition-3" ]]; do alive "$run_pid"; sleep 0.1; done
# The live store opened read-only for a peek: enough for polling progress.
wait_for_offsets() {
  until (($(offsets_sum "$WORK/state" 2>/dev/null || echo 0) >= $1)); do alive "$run_pid"; sleep 0.1; done
}

take_snapshot() {  # take_snapshot NAME
  alive "$run_pid"
  "$RECUR" snapshot --state-dir "$WORK/state" --out "$WORK/snaps/$1" >"$WORK/$1.out" 2>"$WORK/$1.err" \
    || fail "snapshot $1 failed: $(cat "$WORK/$1.err")"
  alive "$run_pid"
  log "snapshot $1: $(head -1 "$WORK/$1.out")"
}
# One while the backlog is ingested; two once parts 0-4 are in (enough months for the trainer).
wait_for_offsets 1
take_snapshot one
until [[ -e "$WORK/produced-4" ]]; do
  kill -0 "$produce_pid" 2>/dev/null || [[ -e "$WORK/produced-4" ]] || fail "producing parts 3-5 failed: $(tail -3 "$WORK/produce.log")"
  sleep 0.1
done
wait_for_offsets "$through4"
take_snapshot two
[[ -e "$WORK/produced-5" ]] && log "note: production had finished before the second snapshot"
wait "$produce_pid" || fail "producing parts 3-5 failed: $(tail -3 "$WORK/produce.log")"
wait_for_offsets "$(wc -l <"$WORK/events.jsonl")"
kill -TERM "$run_pid"
wait "$run_pid" || fail "recur run failed: $(tail -3 "$WORK/run.log")"

# Readable: offsets in every partition store, customers in every snapshot.
AS_OF=$(last_event_day "$WORK/events.jsonl")
final=$(offsets_sum "$WORK/state")
one=$(offsets_sum "$WORK/snaps/one")
two=$(offsets_sum "$WORK/snaps/two")
log "stored offsets: snapshot one $one (backlog $backlog), snapshot two $two, final $final"
(( one > 0 && one <= two && two >= through4 && two <= final )) || fail "offsets not ordered: one $one, two $two, final $final"
for s in one two; do
  [[ $(ls -d "$WORK/snaps/$s"/partition-* | wc -l) -eq 4 ]] || fail "snapshot $s does not hold 4 partition stores"
  diff <(sed 1d "$WORK/$s.out") <("$RECUR" inspect --offsets --state-dir "$WORK/snaps/$s") \
    || fail "snapshot $s: offsets printed by snapshot differ from inspect --offsets"
  n=$(features_of "$WORK/snaps/$s" "$AS_OF" | wc -l)
  (( n > 0 )) || fail "snapshot $s shows no customers"
  log "snapshot $s: $n customers"
done
ls -d "$WORK"/snaps/*.tmp-* 2>/dev/null && fail "temporary snapshot directories left behind"

# Consistent point: resume a pipeline from a copy of snapshot one.
cp -a "$WORK/snaps/one" "$WORK/restored"
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/restored" --group restored --exit-when-idle-ms 3000 \
  >"$WORK/restored.json" 2>"$WORK/restored.log" || fail "run from the snapshot failed: $(tail -3 "$WORK/restored.log")"
features_of "$WORK/state" "$AS_OF" >"$WORK/live.jsonl"
features_of "$WORK/restored" "$AS_OF" >"$WORK/restored.jsonl"
assert_same_features "$WORK/live.jsonl" "$WORK/restored.jsonl"
diff <("$RECUR" inspect --offsets --state-dir "$WORK/state") <("$RECUR" inspect --offsets --state-dir "$WORK/restored") \
  || fail "offsets after resuming from the snapshot differ from the live run's"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/live.jsonl"

# The trainer takes a snapshot as its input.
"$RECUR" train --state-dir "$WORK/snaps/two" --models-dir "$WORK/models" --target repurchase_30d --max-rounds 30 \
  >"$WORK/train.out" 2>"$WORK/train.err" || fail "recur train rejected the snapshot: $(tail -3 "$WORK/train.err")"
log "train: $(head -1 "$WORK/train.out")"

# Clear refusals: an existing OUT (exit 1, untouched), no state dir (exit 1), no --out (exit 2).
rc=0; "$RECUR" snapshot --state-dir "$WORK/state" --out "$WORK/snaps/one" 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "already exists" "$WORK/err" || fail "existing OUT: rc $rc, $(cat "$WORK/err")"
rc=0; "$RECUR" snapshot --state-dir "$WORK/nope" --out "$WORK/snaps/three" 2>"$WORK/err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "does not exist" "$WORK/err" || fail "missing state dir: rc $rc, $(cat "$WORK/err")"
rc=0; "$RECUR" snapshot --state-dir "$WORK/state" 2>"$WORK/err" || rc=$?
[[ $rc -eq 2 ]] || fail "missing --out: rc $rc, $(cat "$WORK/err")"
[[ ! -e "$WORK/snaps/three" ]] || fail "a failed snapshot left its OUT"
log "PASS snapshot"
