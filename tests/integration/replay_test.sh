#!/usr/bin/env bash
# recur replay against a real broker (ports 19500-19501), checked with kcat, an
# independent Protobuf reader (scores.py) and the offline reference:
#  1. a live `recur run` with scoring is killed with kill -9 (and once by the
#     test hook between a state commit and its scores' delivery) and restarted
#     several times while events are produced, then finishes. A replay with
#     re-scoring into replay.scores and --diff recur.scores: the replayed state
#     equals the live one and the offline reference, stores end exactly at the
#     topics' end offsets, --diff finds no customer that differs (exit 0). A
#     second replay of the same input: byte-identical features and offsets,
#     byte-identical last score per customer (one score per customer); a
#     replay with --score-history: no difference either.
#  2. --swap is refused while `recur run` holds the live dir (nothing written),
#     done once it stopped; `recur run` on the swapped dir has nothing to redo.
#  3. backfill while the live pipeline keeps running: more events are produced
#     while a live run consumes them and a replay re-scores into backfill.scores;
#     the replay stops at the end offsets it captured at its start (exactly the
#     events produced before it), the live run ends equal to the offline
#     reference of everything. --to / --from a time (offsets_for_times on the
#     records' timestamps) cut the topics at the same point.
#  4. clear errors: no broker, unknown topic, --to before --from, OUT exists,
#     --diff without re-scoring, --swap with --out; nothing left behind.
# Rules: the default set minus its quantile rule. A quantile (p75) is computed
# by each day's re-scoring pass from the customers of that moment; a live run
# passes at the first caught-up moment of a day, a replay at the end of the
# stream, so quantile segments may legitimately differ (docs/DESIGN.md).
source "$(dirname "$0")/lib.sh"
MAKE_TEST_MODELS="${MAKE_TEST_MODELS:-$(dirname "$RECUR")/tests/scorer/make_test_models}"
# `recur` with a test hook: SIGKILL right after the N-th state commit (tests/streams/recur_kill_after_commit.cc).
KILL_AFTER_COMMIT="${KILL_AFTER_COMMIT:-$(dirname "$RECUR")/tests/streams/recur_kill_after_commit}"
start_broker 19500
create_input_topics 4
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 replay.scores replay2.scores replay3.scores backfill.scores r2.scores \
  >/dev/null 2>&1 || fail "could not create the scores topics"
"$MAKE_TEST_MODELS" "$WORK/models" 1 || fail "make_test_models"
"$RECUR" rules | sed 's/ and profit_avg_month_3m >= p75(profit_avg_month_3m)/ and profit_avg_month_3m >= 40/' >"$WORK/rules.txt"
grep -q 'p[0-9]*(' "$WORK/rules.txt" && fail "rules still use a quantile"
"$RECUR" rules "$WORK/rules.txt" >/dev/null || fail "test rules invalid"

# One stream (one seed: event ids are unique), 13 parts: 0-7 for 1-2, 8-12 for 3.
"$RECUR" simulate --shops 3 --customers 400 --days 260 --seed 21 --duplicate-rate 0.01 --late-rate 0.01 \
  -o "$WORK/events.jsonl"
split -n l/13 -d "$WORK/events.jsonl" "$WORK/part-"
cat "$WORK"/part-0[0-7] >"$WORK/first.jsonl"
cat "$WORK"/part-0[8-9] "$WORK"/part-1[0-2] >"$WORK/rest.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events, $(wc -l <"$WORK/first.jsonl") in parts 0-7"

# Arrays, not functions: `cmd &` must leave the recur process itself in $!.
LIVE=("$RECUR" run --brokers "$BROKER" --state-dir "$WORK/live" --models-dir "$WORK/models" --rules "$WORK/rules.txt"
  --linger-ms 20)
REPLAY=("$RECUR" replay --brokers "$BROKER" --models-dir "$WORK/models" --rules "$WORK/rules.txt")
offsets_sum() { "$RECUR" inspect --offsets --state-dir "$1" | awk '{s+=$4} END{print s+0}'; }
# wait_for FILE PATTERN PID: until FILE has PATTERN, however long a busy machine
# takes; PID exiting first is the failure (a hang is left to CTest's timeout).
wait_for() {
  until grep -q "$2" "$1" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || fail "process $3 exited before '$2' was in $1: $(tail -3 "$1")"
    sleep 0.1
  done
}

# 1. Live run, killed and restarted while parts 0-7 are produced: each round
# starts it, produces a part and kills it 0.3-2.7 s later (caught up or not:
# re-scoring passes happen in the middle of the stream); round 3 dies by the
# test hook right after a state commit, before its scores are delivered.
kills=0
for round in 0 1 2 3 4 5 6 7; do
  rc=0
  if [[ $round -eq 3 ]]; then
    # The same `recur run`, SIGKILLed right after its 2nd state commit (test binary).
    "$KILL_AFTER_COMMIT" 2 "${LIVE[@]:1}" >/dev/null 2>"$WORK/live-$round.log" &
  else
    "${LIVE[@]}" >/dev/null 2>"$WORK/live-$round.log" &
  fi
  pid=$!
  wait_for "$WORK/live-$round.log" "assigned [1-9]" "$pid"
  "$RECUR" produce "$WORK/part-0$round" --brokers "$BROKER" 2>>"$WORK/produce.log"
  if [[ $round -eq 3 ]]; then
    wait "$pid" || rc=$?
    [[ $rc -eq 137 ]] || fail "test hook: expected SIGKILL after commit 2, got exit $rc: $(tail -3 "$WORK/live-$round.log")"
    kills=$((kills + 1))
  else
    sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.3 + rand()*2.4}')"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null || true
  fi
  cat "$WORK/live-$round.log" >>"$WORK/live.log"
done
(( kills >= 6 )) || fail "only $kills kills landed"
"${LIVE[@]}" --exit-when-idle-ms 3000 >"$WORK/live.json" 2>>"$WORK/live.log" || fail "final live run: $(tail -3 "$WORK/live.log")"
first=$(wc -l <"$WORK/first.jsonl")
[[ $(offsets_sum "$WORK/live") -eq $first ]] || fail "live run stored $(offsets_sum "$WORK/live") offsets, not $first"
passes=$(grep -c "re-scored" "$WORK/live.log" || true)
log "live: $kills kills while producing, $passes re-scoring passes"
AS_OF=$(last_event_day "$WORK/first.jsonl")
features_of "$WORK/live" "$AS_OF" >"$WORK/live.features"
offline_reference "$WORK/first.jsonl" "$AS_OF" "$WORK/offline.features"
assert_same_features "$WORK/offline.features" "$WORK/live.features"

rc=0
"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/r1" --scores-topic replay.scores --diff recur.scores \
  >"$WORK/r1.out" 2>"$WORK/r1.log" || rc=$?
[[ $rc -eq 0 ]] || { grep differs "$WORK/r1.out" | head -5 >&2; fail "replay 1 --diff: exit $rc: $(tail -3 "$WORK/r1.log")"; }
grep -q "replayed $first records of 20 input partitions" "$WORK/r1.out" || fail "replay 1: $(head -1 "$WORK/r1.out")"
grep -q "every partition store ends exactly at the stop offsets" "$WORK/r1.out" || fail "replay 1: offsets not verified"
grep -q ": 0 customers differ" "$WORK/r1.out" || fail "replay 1: $(grep diff: "$WORK/r1.out")"
grep -q "events/s, ETA" "$WORK/r1.log" || fail "no progress line on stderr"
diff <("$RECUR" inspect --offsets --state-dir "$WORK/live") <("$RECUR" inspect --offsets --state-dir "$WORK/r1") \
  || fail "replay 1 offsets differ from the live run's"
features_of "$WORK/r1" "$AS_OF" >"$WORK/r1.features"
assert_same_features "$WORK/live.features" "$WORK/r1.features"
scores replay.scores last >"$WORK/r1.last"
scores recur.scores last >"$WORK/live.last"
input_keys "$WORK/first.jsonl" >"$WORK/keys.txt"
cut -f1 "$WORK/r1.last" | cmp -s - "$WORK/keys.txt" || fail "replay 1: not every customer has a score"
exact=$(comm -3 <(sort "$WORK/live.last") <(sort "$WORK/r1.last") | cut -f1 | sort -u | wc -l)
log "replay 1: $(grep '^diff:' "$WORK/r1.out"); byte-different last scores (as_of/reasons, within epsilon): $exact"

"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/r2" --scores-topic replay2.scores --batch-size 999 \
  >"$WORK/r2.out" 2>"$WORK/r2.log" || fail "replay 2: $(tail -3 "$WORK/r2.log")"
features_of "$WORK/r2" "$AS_OF" >"$WORK/r2.features"
cmp -s "$WORK/r1.features" "$WORK/r2.features" || fail "two replays of the same input: features differ"
diff <("$RECUR" inspect --offsets --state-dir "$WORK/r1") <("$RECUR" inspect --offsets --state-dir "$WORK/r2") \
  || fail "two replays: offsets differ"
scores replay2.scores last >"$WORK/r2.last"
cmp -s "$WORK/r1.last" "$WORK/r2.last" || { diff "$WORK/r1.last" "$WORK/r2.last" | head -4 >&2; fail "two replays: last scores differ"; }
log "determinism: two replays (batch sizes 20000 and 999): identical features, offsets, last scores of $(wc -l <"$WORK/r2.last") customers"
[[ $(topic_count replay.scores) -eq $(wc -l <"$WORK/keys.txt") ]] || fail "replay 1: not one score per customer"
rc=0
"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/r3" --scores-topic replay3.scores --score-history --diff recur.scores \
  >"$WORK/r3.out" 2>"$WORK/r3.log" || rc=$?
[[ $rc -eq 0 ]] || { grep differs "$WORK/r3.out" | head -5 >&2; fail "replay 3 (--score-history) --diff: exit $rc"; }
log "replay 3 (--score-history): $(grep '^diff:' "$WORK/r3.out")"

# 2. --swap: refused while `recur run` holds the live dir, then done.
"${LIVE[@]}" >/dev/null 2>"$WORK/holder.log" &
holder=$!
wait_for "$WORK/holder.log" "assigned [1-9]" "$holder"
rc=0
"$RECUR" replay --brokers "$BROKER" --state-dir "$WORK/live" --swap >"$WORK/swap1.out" 2>"$WORK/swap1.err" || rc=$?
[[ $rc -eq 1 ]] && grep -q "is in use.*Stop the pipeline first" "$WORK/swap1.err" \
  || fail "--swap while recur run holds the dir: exit $rc, $(cat "$WORK/swap1.err")"
ls -d "$WORK"/live.replay-* "$WORK"/live.old-* "$WORK"/*.tmp-* 2>/dev/null && fail "a refused --swap left a directory"
kill -TERM "$holder"
wait "$holder" || fail "holder run did not stop cleanly"
"$RECUR" replay --brokers "$BROKER" --state-dir "$WORK/live" --swap >"$WORK/swap2.out" 2>"$WORK/swap2.err" \
  || fail "--swap: $(tail -3 "$WORK/swap2.err")"
grep -q "^swapped: $WORK/live now holds the replayed state; the previous state is at $WORK/live.old-" "$WORK/swap2.out" \
  || fail "--swap output: $(cat "$WORK/swap2.out")"
old=$(ls -d "$WORK"/live.old-*)
features_of "$WORK/live" "$AS_OF" | cmp -s - "$WORK/live.features" || fail "swapped dir: features differ"
features_of "$old" "$AS_OF" | cmp -s - "$WORK/live.features" || fail "previous live dir was changed"
ls -d "$WORK"/live.replay-* "$WORK"/*.tmp-* 2>/dev/null && fail "leftover directories after --swap"
"${LIVE[@]}" --exit-when-idle-ms 2000 >"$WORK/after-swap.json" 2>"$WORK/after-swap.log" || fail "run on the swapped dir"
grep -q '"events_in":0,' "$WORK/after-swap.json" || fail "run on the swapped dir consumed again: $(cat "$WORK/after-swap.json")"
log "swap: refused while running, done when stopped; recur run resumes at the replayed offsets"

# 3. Backfill while the live pipeline keeps running.
"${LIVE[@]}" --scores-topic recur.scores >/dev/null 2>"$WORK/live3.log" &
live_pid=$!
wait_for "$WORK/live3.log" "assigned [1-9]" "$live_pid"
"$RECUR" produce "$WORK/part-08" --brokers "$BROKER" 2>>"$WORK/produce.log"
sleep 1.2
mark=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
sleep 1.2
"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/backfill" --scores-topic backfill.scores \
  >"$WORK/backfill.out" 2>"$WORK/backfill.log" &
backfill_pid=$!
wait_for "$WORK/backfill.log" "replaying" "$backfill_pid"
for part in "$WORK"/part-09 "$WORK"/part-1[0-2]; do
  kill -0 "$live_pid" 2>/dev/null || fail "live run died: $(tail -3 "$WORK/live3.log")"
  "$RECUR" produce "$part" --brokers "$BROKER" 2>>"$WORK/produce.log"
  [[ $part == */part-09 ]] && kill -0 "$backfill_pid" 2>/dev/null && log "part 9 produced while the backfill runs"
done
wait "$backfill_pid" || fail "backfill: $(tail -3 "$WORK/backfill.log")"
through8=$(cat "$WORK"/part-0[0-8] | wc -l)
total=$(wc -l <"$WORK/events.jsonl")
grep -q "replayed $through8 records" "$WORK/backfill.out" || fail "backfill: $(head -1 "$WORK/backfill.out")"
[[ $(offsets_sum "$WORK/backfill") -eq $through8 ]] || fail "backfill stored $(offsets_sum "$WORK/backfill") offsets, not $through8"
until (($(offsets_sum "$WORK/live" 2>/dev/null || echo 0) >= total)); do
  kill -0 "$live_pid" 2>/dev/null || fail "live run died: $(tail -3 "$WORK/live3.log")"
  sleep 0.2
done
sleep 2
kill -TERM "$live_pid"
wait "$live_pid" || fail "live run did not stop cleanly: $(tail -3 "$WORK/live3.log")"
[[ $(offsets_sum "$WORK/live") -eq $total ]] || fail "live stored $(offsets_sum "$WORK/live") offsets, not $total"
cat "$WORK"/part-0[0-8] >"$WORK/through8.jsonl"
AS_OF8=$(last_event_day "$WORK/through8.jsonl")
offline_reference "$WORK/through8.jsonl" "$AS_OF8" "$WORK/offline8.features"
features_of "$WORK/backfill" "$AS_OF8" >"$WORK/backfill.features"
assert_same_features "$WORK/offline8.features" "$WORK/backfill.features"
AS_OF_ALL=$(last_event_day "$WORK/events.jsonl")
offline_reference "$WORK/events.jsonl" "$AS_OF_ALL" "$WORK/offline-all.features"
features_of "$WORK/live" "$AS_OF_ALL" >"$WORK/live-all.features"
assert_same_features "$WORK/offline-all.features" "$WORK/live-all.features"
cut -f1 <(scores backfill.scores last) | cmp -s - <(input_keys "$WORK/through8.jsonl") \
  || fail "backfill: not every customer of parts 0-8 has a score"
log "backfill: stopped at its captured end ($through8 of $total records) while the live run went on to $total"

# The same cut by time: records produced before / after the mark.
"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/to-time" --to "$mark" >"$WORK/to-time.out" 2>"$WORK/to-time.log" \
  || fail "--to $mark: $(tail -3 "$WORK/to-time.log")"
diff <("$RECUR" inspect --offsets --state-dir "$WORK/backfill") <("$RECUR" inspect --offsets --state-dir "$WORK/to-time") \
  || fail "--to $mark does not stop where the backfill stopped"
"${REPLAY[@]}" --state-dir "$WORK/live" --out "$WORK/from-time" --from "$mark" >"$WORK/from-time.out" 2>"$WORK/from-time.log" \
  || fail "--from $mark: $(tail -3 "$WORK/from-time.log")"
grep -q "replayed $((total - through8)) records" "$WORK/from-time.out" || fail "--from $mark: $(head -1 "$WORK/from-time.out")"
diff <("$RECUR" inspect --offsets --state-dir "$WORK/live") <("$RECUR" inspect --offsets --state-dir "$WORK/from-time") \
  || fail "--from $mark does not end at the topics' end"
cat "$WORK"/part-09 "$WORK"/part-1[0-2] >"$WORK/after8.jsonl"
offline_reference "$WORK/after8.jsonl" "$AS_OF_ALL" "$WORK/offline-after8.features"
features_of "$WORK/from-time" "$AS_OF_ALL" >"$WORK/from-time.features"
assert_same_features "$WORK/offline-after8.features" "$WORK/from-time.features"
log "--to/--from $mark: the same cut as the backfill's end offsets"

# Other models: --diff lists every customer (model versions) and exits 4;
# --swap is then not done and the replayed state is kept.
"$MAKE_TEST_MODELS" "$WORK/models2" 2 || fail "make_test_models 2"
rc=0
"$RECUR" replay --brokers "$BROKER" --state-dir "$WORK/live" --swap --scores-topic r2.scores --models-dir "$WORK/models2" \
  --rules "$WORK/rules.txt" --to "$mark" --diff backfill.scores >"$WORK/diff2.out" 2>"$WORK/diff2.log" || rc=$?
[[ $rc -eq 4 ]] || fail "--diff with other models: exit $rc: $(tail -3 "$WORK/diff2.log")"
n=$(grep -c "^differs shop-[0-9]*/c-[0-9]* .*risk_model_version" "$WORK/diff2.out" || true)
[[ $n -eq $(wc -l <"$WORK/offline8.features") ]] || fail "--diff with other models: $n customers listed"
grep -q "^not swapped: the replayed scores differ" "$WORK/diff2.out" || fail "--swap despite differences"
ls -d "$WORK"/live.replay-* >/dev/null || fail "replayed state not kept"
features_of "$WORK/live" "$AS_OF_ALL" | cmp -s - "$WORK/live-all.features" || fail "live dir changed"
log "--diff with other models: $n customers differ (exit 4), not swapped"

# 4. Clear errors, nothing left behind.
expect_error() {  # expect_error RC PATTERN ARGS...
  local want=$1 pattern=$2 rc=0
  shift 2
  "$RECUR" replay "$@" >"$WORK/err.out" 2>"$WORK/err.log" || rc=$?
  [[ $rc -eq $want ]] && grep -q -- "$pattern" "$WORK/err.log" || fail "replay $*: exit $rc (want $want), $(tail -2 "$WORK/err.log")"
}
: >"$WORK/err.out"
: >"$WORK/err.log"
before=$(ls "$WORK" | wc -l)
expect_error 1 "no Kafka broker answered at 127.0.0.1:19509" --brokers 127.0.0.1:19509 --state-dir "$WORK/live" --out "$WORK/e1"
expect_error 1 "topic 'nope.scores' does not exist" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e2" \
  --scores-topic nope.scores --models-dir "$WORK/models"
expect_error 1 "is before --from" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e3" --from 2025-03-01 --to 2025-02-01
expect_error 1 "is before --from" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e3" --from 500 --to 100
expect_error 1 "already exists" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/r1"
expect_error 1 "needs --scores-topic" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e4" --diff recur.scores
expect_error 1 "needs both models" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e5" --scores-topic replay.scores \
  --models-dir "$WORK/no-models"
expect_error 2 "excludes" --brokers "$BROKER" --state-dir "$WORK/live" --out "$WORK/e6" --swap
[[ $(ls "$WORK" | wc -l) -eq $before ]] || fail "a failed replay left something: $(ls "$WORK")"
log "PASS replay"
