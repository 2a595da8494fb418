#!/usr/bin/env bash
# Replay throughput from a real local broker (ops/kafka): pre-fill the five input
# topics (4 partitions each) with `recur simulate --brokers`, then time
# `recur replay` into a fresh dir: without scoring; re-scoring every customer
# into replay.scores with production-size models (300 trees of depth 6 per
# target, as tests/bench/score_latency.sh), one score per customer; and the same
# with --score-history (every batch's scores, as `recur run` publishes them).
#   tests/bench/replay_bench.sh                          # full: 3 shops x 20000 customers x 120 days
#   CUSTOMERS=500 DAYS=10 tests/bench/replay_bench.sh    # smoke size (ctest -L bench)
# Prints one line per replay: records, seconds (replay start to exit, and
# partitions assigned to exit), events/s, peak RSS. Ports: PORT, PORT+1 (default 19502).
source "$(dirname "$0")/../integration/lib.sh"
SHOPS=${SHOPS:-3}
CUSTOMERS=${CUSTOMERS:-20000}
DAYS=${DAYS:-120}
PARTITIONS=${PARTITIONS:-4}
BIN="$(dirname "$RECUR")/tests"
start_broker "${PORT:-19502}"
create_input_topics "$PARTITIONS"
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions "$PARTITIONS" replay.scores replay-history.scores >/dev/null 2>&1 \
  || fail "scores topic"
"$BIN/scorer/make_test_models" "$WORK/models" 1 300 6 >/dev/null || fail "models"

t0=$(date +%s.%N)
"$RECUR" simulate --shops "$SHOPS" --customers "$CUSTOMERS" --days "$DAYS" --seed 1 --duplicate-rate 0.01 \
  --late-rate 0.01 --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce: $(tail -2 "$WORK/produce.log")"
t1=$(date +%s.%N)
events=$(sed -n 's/^produced \([0-9]*\) events.*/\1/p' "$WORK/produce.log")
log "pre-filled $events events in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s"

# ms_of LOG PATTERN: the spdlog timestamp (ms of the day) of the first line matching PATTERN.
ms_of() {
  local t
  t=$(grep -m1 "$2" "$1" | sed -n 's/^\[[0-9-]* \([0-9:.]*\)\].*/\1/p')
  [[ -n "$t" ]] || fail "'$2' not in $1"
  awk -F: -v t="$t" 'BEGIN{split(t, a, ":"); printf "%d", (a[1] * 3600 + a[2] * 60 + a[3]) * 1000}'
}

bench() {  # bench NAME ARGS...
  local name=$1
  shift
  OMP_NUM_THREADS=1 /usr/bin/time -f "%M" -o "$WORK/$name.rss" "$RECUR" replay --brokers "$BROKER" \
    --state-dir "$WORK/live" --out "$WORK/$name" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" \
    || fail "$name: $(tail -3 "$WORK/$name.log")"
  local replayed secs assigned exit_ms consume_s
  replayed=$(sed -n 's/^replayed \([0-9]*\) records.*/\1/p' "$WORK/$name.out")
  [[ "$replayed" == "$events" ]] || fail "$name replayed $replayed of $events records"
  secs=$(sed -n 's/.* in \([0-9.]*\) s (.*/\1/p' "$WORK/$name.out")
  assigned=$(ms_of "$WORK/$name.log" "assigned [1-9]")
  exit_ms=$(ms_of "$WORK/$name.log" "every input partition reached its stop offset")
  consume_s=$(echo "($exit_ms - $assigned) / 1000" | bc -l)
  echo "replay_bench $name: records=$events customers=$((SHOPS * CUSTOMERS)) partitions=$PARTITIONS" \
    "seconds=$secs events_per_s=$(echo "$events / $secs" | bc)" \
    "assigned_to_done_s=$(printf %.1f "$consume_s") events_per_s_after_assignment=$(echo "$events / $consume_s" | bc)" \
    "peak_rss_kb=$(cat "$WORK/$name.rss")" \
    "$(grep -o '"scored":[0-9]*,"unchanged":[0-9]*' "$WORK/$name.out" | head -1)"
  log "$name: $(grep -c "events/s, ETA" "$WORK/$name.log") progress lines"
}
bench no-scoring
bench scoring --scores-topic replay.scores --models-dir "$WORK/models"
bench scoring-history --scores-topic replay-history.scores --models-dir "$WORK/models" --score-history
for name in scoring scoring-history; do
  log "$name: $(grep -o '"published":[0-9]*' "$WORK/$name.out" | head -1 | tr -dc 0-9) scores published"
done
