#!/usr/bin/env bash
# Scores from a real broker, checked with kcat and an independent Protobuf reader:
#  1. determinism: the same topics consumed twice from scratch (new group, new
#     store, different batch sizes) give byte-identical scores, key by key;
#     every customer has one;
#  2. crash: `recur run` dies (SIGKILL, by the test binary recur_kill_after_commit:
#     the same `recur`, with a callback on the sync point Pipeline::AfterStateCommit) right after a state
#     commit (write-through: --commit-interval-ms 0) and before its scores are delivered, four times;
#     then, with write-back stores, twice while a batch is applied on the apply stage's thread
#     (ApplyStage::Apply) and four times inside a store's flush (FeatureStore::BeforeFlushWrite);
#     then once between two steps of a re-scoring pass (ScoreStage::RescoreChunk,
#     --rescore-step 50) and once at the end of one (ScoreStage::RescorePublished);
#     after the restarts every customer has a score, and the final scores equal run 1's;
#  3. reload under load: CURRENT is swapped while events flow; every score names
#     exactly one version per model, no customer goes back to the old model, and
#     every customer's last score is from the new models;
#  4. killed right after a model swap (ScoreStage::AfterReload): the restart
#     re-scores everyone with the new models.
source "$(dirname "$0")/lib.sh"
MAKE_TEST_MODELS="${MAKE_TEST_MODELS:-$(dirname "$RECUR")/tests/scorer/make_test_models}"
KILL_AFTER_COMMIT="${KILL_AFTER_COMMIT:-$(dirname "$RECUR")/tests/streams/recur_kill_after_commit}"
start_broker 19480
create_input_topics 4
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 scores.a scores.b scores.c scores.d >/dev/null 2>&1 \
  || fail "could not create the scores topics"
"$MAKE_TEST_MODELS" "$WORK/models" 1 || fail "make_test_models"

"$RECUR" simulate --shops 3 --customers 400 --days 200 --seed 5 --duplicate-rate 0.01 --late-rate 0.01 -o "$WORK/events.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
input_keys "$WORK/events.jsonl" >"$WORK/keys.txt"
run() { "$RECUR" run --brokers "$BROKER" --models-dir "$WORK/models" "$@"; }
# kill_run N ARGS...: `run ARGS...`, SIGKILLed right after its N-th state commit.
kill_run() { "$KILL_AFTER_COMMIT" "$1" run --brokers "$BROKER" --models-dir "$WORK/models" "${@:2}"; }

# 1. Determinism.
run --group a --state-dir "$WORK/A" --scores-topic scores.a --exit-when-idle-ms 3000 >"$WORK/a.json" 2>"$WORK/a.log" \
  || fail "run a: $(tail -3 "$WORK/a.log")"
run --group b --state-dir "$WORK/B" --scores-topic scores.b --exit-when-idle-ms 3000 --batch-size 777 --linger-ms 20 \
  >"$WORK/b.json" 2>"$WORK/b.log" || fail "run b: $(tail -3 "$WORK/b.log")"
scores scores.a last >"$WORK/a.last"
scores scores.b last >"$WORK/b.last"
cut -f1 "$WORK/a.last" | cmp -s - "$WORK/keys.txt" || fail "run a: not every customer has a score ($(wc -l <"$WORK/a.last") of $(wc -l <"$WORK/keys.txt"))"
cmp -s "$WORK/a.last" "$WORK/b.last" || { diff "$WORK/a.last" "$WORK/b.last" | head -5 >&2; fail "scores differ between two runs from scratch"; }
log "determinism: $(wc -l <"$WORK/a.last") customers, last scores byte-identical ($(topic_count scores.a) and $(topic_count scores.b) messages)"

# 2. Killed between state commit and score delivery.
for n in 2 3 5 4; do
  rc=0
  kill_run "$n" --group c --state-dir "$WORK/C" --scores-topic scores.c --batch-size 1500 --linger-ms 20 \
    --commit-interval-ms 0 >/dev/null 2>>"$WORK/c.log" || rc=$?
  [[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL after commit $n, got exit $rc: $(tail -3 "$WORK/c.log")"
done
# Write-back: killed while the n-th batch is applied on the apply stage's thread
# (ApplyStage::Apply), the loop reading the next batch meanwhile.
for n in 3 2; do
  rc=0
  "$KILL_AFTER_COMMIT" --at ApplyStage::Apply "$n" run --brokers "$BROKER" --models-dir "$WORK/models" \
    --group c --state-dir "$WORK/C" --scores-topic scores.c --batch-size 1500 --linger-ms 20 \
    --commit-interval-ms 100 --exit-when-idle-ms 5000 >/dev/null 2>>"$WORK/c.log" || rc=$?
  [[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL in apply $n, got exit $rc: $(tail -3 "$WORK/c.log")"
done
# Write-back: killed inside the n-th flush, after its WriteBatch is built and before it is written.
for n in 2 1 3 2; do
  rc=0
  "$KILL_AFTER_COMMIT" --at FeatureStore::BeforeFlushWrite "$n" run --brokers "$BROKER" --models-dir "$WORK/models" \
    --group c --state-dir "$WORK/C" --scores-topic scores.c --batch-size 1500 --linger-ms 20 \
    --commit-interval-ms 100 >/dev/null 2>>"$WORK/c.log" || rc=$?
  [[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL in flush $n, got exit $rc: $(tail -3 "$WORK/c.log")"
done
# Killed in the middle of a re-scoring pass that runs in steps of 50 customers
# beside ingest: some of its steps published and recorded, the rest not.
rc=0
"$KILL_AFTER_COMMIT" --at ScoreStage::RescoreChunk 3 run --brokers "$BROKER" --models-dir "$WORK/models" \
  --group c --state-dir "$WORK/C" --scores-topic scores.c --batch-size 1500 --linger-ms 20 --rescore-step 50 \
  --exit-when-idle-ms 5000 >/dev/null 2>>"$WORK/c.log" || rc=$?
[[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL in a step of a re-scoring pass, got exit $rc: $(tail -3 "$WORK/c.log")"
# Killed at the end of a whole pass: its scores published, not yet recorded.
rc=0
"$KILL_AFTER_COMMIT" --at ScoreStage::RescorePublished 1 run --brokers "$BROKER" --models-dir "$WORK/models" \
  --group c --state-dir "$WORK/C" --scores-topic scores.c --batch-size 1500 --linger-ms 20 \
  --exit-when-idle-ms 5000 >/dev/null 2>>"$WORK/c.log" || rc=$?
[[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL in a re-scoring pass, got exit $rc: $(tail -3 "$WORK/c.log")"
grep -q "scores not confirmed before the last stop: scoring them first" "$WORK/c.log" \
  || fail "no restart found customers pending"
run --group c --state-dir "$WORK/C" --scores-topic scores.c --exit-when-idle-ms 3000 >"$WORK/c.json" 2>>"$WORK/c.log" \
  || fail "final run c: $(tail -3 "$WORK/c.log")"
scores scores.c last >"$WORK/c.last"
cut -f1 "$WORK/c.last" | cmp -s - "$WORK/keys.txt" || fail "after the crashes not every customer has a score"
cmp -s "$WORK/a.last" "$WORK/c.last" || { diff "$WORK/a.last" "$WORK/c.last" | head -5 >&2; fail "scores after crashes differ from a clean run"; }
log "crash: 4 kills after a state commit, 2 while a batch is applied, 4 inside a flush, 2 in re-scoring passes; every customer scored; last scores identical to the clean run"

# 3. Reload under load: produce again in parts into fresh topics' worth of time
# (a second copy of the events, shifted by the run's own days, is not needed:
# a new group re-reads the same topics while parts of new events keep arriving).
"$RECUR" simulate --shops 3 --customers 400 --days 20 --seed 6 --start 2025-09-01 -o "$WORK/more.jsonl"
split -n l/6 -d "$WORK/more.jsonl" "$WORK/more-"
"$RECUR" run --brokers "$BROKER" --models-dir "$WORK/models" --group d --state-dir "$WORK/D" --scores-topic scores.d \
  --linger-ms 20 >"$WORK/d.json" 2>"$WORK/d.log" &
pid=$!
for i in 0 1 2 3 4 5; do
  "$RECUR" produce "$WORK/more-0$i" --brokers "$BROKER" 2>>"$WORK/produce.log"
  if [[ $i -eq 2 ]]; then "$MAKE_TEST_MODELS" "$WORK/models" 2 || fail "make_test_models 2"; log "CURRENT swapped to r2/p2"; fi
  sleep 1
done
cat "$WORK/keys.txt" <(input_keys "$WORK/more.jsonl") | sort -u >"$WORK/all-keys.txt"
# every_customer_on_new_models: the swap is logged and the last score of every
# customer comes from r2/p2. Waited for, however long a busy machine takes.
every_customer_on_new_models() {
  grep -q "models swapped.*-> risk=r2 repurchase=p2" "$WORK/d.log" || return 1
  scores scores.d messages | awk -F'\t' '{v[$1] = $3 "/" $4} END {for (k in v) print k "\t" v[k]}' \
    | sort >"$WORK/d.now"
  cut -f1 "$WORK/d.now" | cmp -s - "$WORK/all-keys.txt" && [[ -z "$(cut -f2 "$WORK/d.now" | grep -v '^r2/p2$')" ]]
}
until every_customer_on_new_models; do
  kill -0 "$pid" 2>/dev/null || fail "run d exited before every customer was scored by r2/p2: $(tail -3 "$WORK/d.log")"
  sleep 1
done
kill -TERM "$pid"
wait "$pid" || fail "run d did not stop cleanly: $(tail -3 "$WORK/d.log")"
# The trainer promotes one target at a time, so the swap may show in two steps.
grep -q "models swapped between batches: .*-> risk=r2 repurchase=p2" "$WORK/d.log" || fail "no swap logged"
scores scores.d messages >"$WORK/d.messages"
python3 - "$WORK/d.messages" <<'PY' || fail "reload under load"
import sys
seen_new = set(); last = {}; n = {"r1": 0, "r2": 0}
for line in open(sys.argv[1]):
    key, as_of, rv, pv, risk = line.rstrip("\n").split("\t")
    assert (rv, pv) in {("r1", "p1"), ("r2", "p2"), ("r2", "p1"), ("r1", "p2")}, line
    n[rv] += 1
    if rv == "r2": seen_new.add(key)
    elif key in seen_new: sys.exit("%s went back to the old model: %s" % (key, line))
    last[key] = (rv, pv)
stale = [k for k, v in last.items() if v != ("r2", "p2")]
assert n["r1"] > 0 and n["r2"] > 0, n
assert not stale, "last score not from the new models: %s" % stale[:5]
print("%d messages, %d with r1, %d with r2, %d customers" % (sum(n.values()), n["r1"], n["r2"], len(last)), file=sys.stderr)
PY
cut -f1 <(scores scores.d last) | cmp -s - "$WORK/all-keys.txt" || fail "reload: not every customer has a score"
# 4. Killed right after a model swap, before the pass with the new models ran:
#    the restart owes that pass (the store remembers which models its last pass
#    used), and every customer's last score ends up from the new models.
"$KILL_AFTER_COMMIT" --at ScoreStage::AfterReload 1 run --brokers "$BROKER" --models-dir "$WORK/models" \
  --group d --state-dir "$WORK/D" --scores-topic scores.d --linger-ms 20 >/dev/null 2>"$WORK/e.log" &
pid=$!
for _ in $(seq 1 600); do grep -q "assigned" "$WORK/e.log" && break; sleep 0.1; done
"$MAKE_TEST_MODELS" "$WORK/models" 3 || fail "make_test_models 3"
rc=0
wait "$pid" || rc=$?
[[ $rc -eq 137 ]] || fail "expected the test hook's SIGKILL after a model swap, got exit $rc: $(tail -3 "$WORK/e.log")"
"$RECUR" run --brokers "$BROKER" --models-dir "$WORK/models" --group d --state-dir "$WORK/D" --scores-topic scores.d \
  --exit-when-idle-ms 3000 >/dev/null 2>>"$WORK/e.log" || fail "run after the swap: $(tail -3 "$WORK/e.log")"
stale=$(scores scores.d messages | awk -F'\t' '{v[$1] = $3 " " $4} END {for (k in v) if (v[k] != "r3 p3") n++; print n + 0}')
[[ $stale -eq 0 ]] || fail "$stale customers' last score is not from r3/p3 after a kill during the reload"
grep -q "last re-scoring pass used .*: re-scoring" "$WORK/e.log" || fail "the restart did not see the owed pass"
log "reload: killed right after a model swap; the restart re-scored everyone with the new models"
log "PASS scores"
