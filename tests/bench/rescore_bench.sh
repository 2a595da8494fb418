#!/usr/bin/env bash
# Day-boundary re-scoring under live load, from a real local broker (ops/kafka):
# pre-fill the five input topics (4 partitions each) with `recur simulate` over
# ~1,000,000 customers (history of DAYS days up to yesterday), start `recur run` with
# production-size models (300 trees of depth 6 per target, as score_latency.sh)
# and wait for its catch-up pass (one "re-scored" line per partition). Then
# tests/bench/score_latency publishes live session events (event_time = now):
# every partition's watermark enters a new UTC day, so each re-scores all its
# customers again WHILE events arrive. Measured: how long that second pass takes
# and how much it holds up event-to-score latency (a per-5-s-window p99 spike).
# The new day is the day after the history (today, UTC); the live customers
# (c-N) are new ones, added to the second pass's population.
#   tests/bench/rescore_bench.sh                 # full size: 3 x 333334 customers, 14 days
#   CUSTOMERS=2000 DAYS=10 RATE=2000 SECONDS_=5 PORT=19862 tests/bench/rescore_bench.sh   # smoke
# Prints score_latency's report, then one line "rescore_bench: ..." — customers,
# history events, the second pass per partition (pass_ms, customers, scores
# published, and pass_at_s: when it started, in seconds after the live events
# started; the live events are sent in [0, SECONDS_]), the event-to-score
# latency (overall and the worst 5-s window's p99), peak RSS, RUN_ARGS — then
# the `--stats` lines logged during the live phase (the last 4) and, from the
# final counters, batch_ms_max and score_wait_ms_max when the binary has them
# (both are maxima since the start, catch-up included).
# live_scores is scores counted / events sent, lag_at_report the consumer lag of
# the last stats line before score_latency read the scores: the scores of events
# still unread then are missing from the percentiles (a backlog understated;
# SETTLE=N, default 10, makes score_latency wait N s before reading).
# BASELINE=1: then the same live load again, on the same day (no pass), for the
# latency without one.
# PERF_OUT=FILE (with BASELINE=1): perf record of recur run during the baseline load.
# MODELS_FROM=DIR: a model registry to score with (e.g. the models a `recur demo
# --dir D` trained, D/models) instead of make_test_models' 300 x 6 trees, which
# split on one feature each; pass_kept counts the customers a pass did not run
# through the models (same inputs as their last score; `--rescore-all` in
# RUN_ARGS runs them all).
# RUN_ARGS adds options to `recur run` (e.g. "--rescore-step 10000"); WAIT_S
# bounds each wait for the passes (default 1200). Ports: PORT, PORT+1 (19860).
source "$(dirname "$0")/../integration/lib.sh"
CUSTOMERS=${CUSTOMERS:-333334}   # per shop, 3 shops
DAYS=${DAYS:-14}
RATE=${RATE:-20000}
SECONDS_=${SECONDS_:-30}
WAIT_S=${WAIT_S:-1200}
SETTLE=${SETTLE:-10}
PARTITIONS=4
BIN="$(dirname "$RECUR")/tests"
start_broker "${PORT:-19860}"
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions "$PARTITIONS" "${INPUT_TOPICS[@]}" recur.dlq >/dev/null 2>&1 \
  || fail "topics"
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions "$PARTITIONS" --config message.timestamp.type=LogAppendTime \
  recur.scores >/dev/null 2>&1 || fail "scores topic"
if [[ -n "${MODELS_FROM:-}" ]]; then
  cp -r "$MODELS_FROM" "$WORK/models" || fail "models from $MODELS_FROM"
else
  "$BIN/scorer/make_test_models" "$WORK/models" 1 300 6 >/dev/null || fail "models"
fi

t0=$(date +%s.%N)
"$RECUR" simulate --shops 3 --customers "$CUSTOMERS" --days "$DAYS" --seed 1 --start "$(date -u -d "-$DAYS days" +%F)" \
  --brokers "$BROKER" 2>"$WORK/produce.log" \
  || fail "produce: $(tail -2 "$WORK/produce.log")"
t1=$(date +%s.%N)
events=$(sed -n 's/^produced \([0-9]*\) events.*/\1/p' "$WORK/produce.log")
[[ -n "$events" ]] || fail "simulate did not report its events: $(tail -2 "$WORK/produce.log")"
log "pre-filled $events events in $(printf %.1f "$(echo "$t1 - $t0" | bc)") s"

# shellcheck disable=SC2086  # RUN_ARGS: several words
OMP_NUM_THREADS=1 /usr/bin/time -f "%M %U %S" -o "$WORK/rss" "$RECUR" run --brokers "$BROKER" --models-dir "$WORK/models" \
  --state-dir "$WORK/state" --linger-ms 10 --stats 5 ${RUN_ARGS:-} >"$WORK/run.json" 2>"$WORK/run.log" &
time_pid=$!
recur_pid=""
for _ in $(seq 1 100); do
  recur_pid=$(pgrep -P "$time_pid" || true)
  [[ -n "$recur_pid" ]] && break
  sleep 0.1
done
[[ -n "$recur_pid" ]] || fail "recur run did not start: $(tail -3 "$WORK/run.log")"

# thread_cpu: "name-tid cpu_seconds" per thread of recur run, sorted (for join).
thread_cpu() {
  local t
  for t in /proc/"$recur_pid"/task/*; do
    # comm is between the parentheses; utime and stime are fields 14 and 15 overall.
    awk -v tid="${t##*/}" '{ c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c); gsub(/ /, "_", c)
      r = $0; sub(/^.*\) /, "", r); split(r, f, " "); printf "%s-%s %.2f\n", c, tid, (f[12] + f[13]) / 100 }' "$t/stat"
  done 2>/dev/null | sort
}
# partitions_passed N: partitions with at least N re-scoring passes logged.
partitions_passed() {
  { grep -o 'partition [0-9]*: re-scored' "$WORK/run.log" || true; } | sort | uniq -c | awk -v n="$1" '$1 >= n' | wc -l
}
# wait_passes N WHAT: waits (at most WAIT_S) until every partition logged N passes.
wait_passes() {
  local start=$SECONDS
  until [[ $(partitions_passed "$1") -ge $PARTITIONS ]]; do
    kill -0 "$recur_pid" 2>/dev/null || fail "recur run exited before the $2: $(tail -3 "$WORK/run.log")"
    ((SECONDS - start < WAIT_S)) || fail "no $2 on every partition after $WAIT_S s: $(grep 're-scored' "$WORK/run.log" || true)"
    sleep 0.5
  done
  log "$2 done on $PARTITIONS partitions after $((SECONDS - start)) s"
}
# pass_field N FIELD: of each partition's N-th pass (partition order), FIELD:
# day, ms, steps, customers, kept, published or end (the log line's time, epoch ms).
pass_field() {
  local p expr
  case $2 in
    day) expr='s/.* as of day \([0-9-]*\) .*/\1/p' ;;
    ms) expr='s/.* in \([0-9]*\) ms.*/\1/p' ;;
    steps) expr='s/.* ms (\([0-9]*\) steps.*/\1/p' ;;  # when the binary logs them
    kept) expr='s/.* steps; \([0-9]*\) kept.*/\1/p' ;;  # not run through the models (same inputs)
    customers) expr='s/.*: re-scored \([0-9]*\) customers.*/\1/p' ;;
    published) expr='s/.*, \([0-9]*\) changed scores.*/\1/p' ;;
    end) expr='s/^\[\([^]]*\)\].*/\1/p' ;;
  esac
  for ((p = 0; p < PARTITIONS; p++)); do
    grep "partition $p: re-scored" "$WORK/run.log" | sed -n "$1{$expr}"
  done | if [[ $2 == end ]]; then date -f - +%s%3N; else cat; fi
}

for _ in $(seq 1 300); do grep -q "assigned" "$WORK/run.log" && break; sleep 0.1; done
grep -q "scoring with" "$WORK/run.log" || fail "not scoring: $(tail -3 "$WORK/run.log")"
wait_passes 1 "catch-up pass"
# A partition passes once it has read all its history; all of it, then:
for _ in $(seq 1 100); do [[ $(events_read "$WORK/run.log") -ge $events ]] && break; sleep 0.2; done
[[ $(events_read "$WORK/run.log") -ge $events ]] \
  || fail "catch-up passes logged but only $(events_read "$WORK/run.log") of $events events read"
log "catch-up passes: $(pass_field 1 ms | paste -sd,) ms as of $(pass_field 1 day | sort -u | paste -sd,)"

# The live phase: events of today; every partition's watermark enters a new day.
live_from=$(wc -l <"$WORK/run.log")
live_start_ms=$(date +%s%3N)
"$BIN/bench/score_latency" --brokers "$BROKER" --rate "$RATE" --seconds "$SECONDS_" --settle "$SETTLE" | tee "$WORK/result.txt"
live_to=$(wc -l <"$WORK/run.log")
grep -q "event-to-score latency" "$WORK/result.txt" || fail "no result"
wait_passes 2 "live-phase pass"
[[ $(pass_field 2 day | sort -u) == "$(date -u +%F)" ]] \
  || log "note: live-phase passes as of day $(pass_field 2 day | sort -u | paste -sd,), not today"

if [[ -n "${BASELINE:-}" ]]; then
  # The same load again, on the same day: no pass; what the latency is without one.
  # PERF_OUT=FILE: `perf record -g` of recur run while this load is sent.
  if [[ -n "${PERF_OUT:-}" ]]; then
    perf record -F 499 -g -p "$recur_pid" -o "$PERF_OUT" -- sleep "$SECONDS_" 2>"$WORK/perf.log" &
    perf_pid=$!
  fi
  thread_cpu >"$WORK/threads0"
  read -r _ cpu0 < <(grep '^cpu ' /proc/stat)
  "$BIN/bench/score_latency" --brokers "$BROKER" --rate "$RATE" --seconds "$SECONDS_" --settle "$SETTLE" \
    --id-prefix base- >"$WORK/baseline.txt" || fail "baseline"
  thread_cpu >"$WORK/threads1"
  read -r _ cpu1 < <(grep '^cpu ' /proc/stat)
  # The whole machine (broker and load driver included): busy and steal shares.
  echo "baseline machine CPU: $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { n = split(a, x); split(b, y)
    for (i = 1; i <= n; i++) { d[i] = y[i] - x[i]; t += d[i] }
    printf "busy %.0f%% (steal %.0f%%) of %d cores", 100 * (t - d[4] - d[5]) / t, 100 * d[8] / t, '"$(nproc)"' }')"
  echo "baseline CPU seconds by thread (name: seconds):" \
    "$(join -a2 "$WORK/threads0" "$WORK/threads1" | awk '{d = (NF == 3 ? $3 - $2 : $2); if (d > 0.05) printf "%s: %.1f  ", $1, d}')"
  if [[ -n "${perf_pid:-}" ]]; then wait "$perf_pid" || log "perf: $(tail -2 "$WORK/perf.log")"; fi
  echo "baseline (same day, no pass): $(grep 'event-to-score latency' "$WORK/baseline.txt")"
  grep 'events sent in' "$WORK/baseline.txt" || true
fi
kill -TERM "$recur_pid"
wait "$time_pid" || fail "recur run: $(tail -3 "$WORK/run.log")"
read -r rss _ _ < <(tail -1 "$WORK/rss")

pass_at=()
mapfile -t ends < <(pass_field 2 end)
mapfile -t durations < <(pass_field 2 ms)
for i in "${!ends[@]}"; do
  pass_at+=("$(printf %.1f "$(echo "(${ends[$i]} - ${durations[$i]} - $live_start_ms) / 1000" | bc -l)")")
done
steps=$(pass_field 2 steps | paste -sd,)
result=$(grep "event-to-score latency" "$WORK/result.txt")
latency=""
for q in p50 p90 p99 p99.9 max; do  # whichever score_latency prints
  v=$(grep -o " $q [0-9]*" <<<"$result" | awk '{print $2}' | head -1 || true)
  if [[ -n "$v" ]]; then latency+=" ${q//./}=$v"; fi
done
live_stats=$(sed -n "$((live_from + 1)),${live_to}p" "$WORK/run.log" | grep "stats" || true)
lag=$({ grep -o '"lag":[0-9]*' <<<"$live_stats" || true; } | tail -1 | cut -d: -f2)
scores=$(sed -n 's/.*, scores \([0-9]*\),.*/\1/p' <<<"$result")
sent=$(sed -n 's/^events \([0-9]*\) in.*/\1/p' <<<"$result")
if [[ ${lag:-0} -gt 0 ]]; then
  log "note: consumer lag $lag at the last stats line before score_latency read the scores: the scores of" \
    "unread events are missing from its percentiles (SETTLE=$SETTLE s; a larger SETTLE waits longer)"
fi
max_window_p99=$(grep -o 'events sent in .* p99 [0-9]*' "$WORK/result.txt" | awk '{print $NF}' | sort -n | tail -1)
echo "rescore_bench: customers=$((CUSTOMERS * 3)) events_history=$events" \
  "pass_ms=$(paste -sd, <(printf '%s\n' "${durations[@]}"))" \
  "pass_customers=$(pass_field 2 customers | paste -sd+ | bc)" \
  "pass_published=$(pass_field 2 published | paste -sd+ | bc)" \
  "pass_kept=$(pass_field 2 kept | paste -sd+ | bc)" \
  "pass_at_s=$(IFS=,; echo "${pass_at[*]}")" \
  "catchup_pass_ms=$(pass_field 1 ms | paste -sd,)" \
  "${steps:+pass_steps=$steps }live_rate=$RATE live_s=$SECONDS_ live_scores=$scores/$sent lag_at_report=${lag:-?}$latency max_window_p99=$max_window_p99 peak_rss_kb=$rss args='${RUN_ARGS:-}'"
# The loop's time waiting for the scoring thread during the live phase (a full
# queue, or a whole pass with --rescore-step 0): the stall that ingest saw.
waits=$({ grep -o '"score_wait_ms":[0-9]*' <<<"$live_stats" || true; } | cut -d: -f2)
if [[ -n "$waits" ]]; then
  echo "live_score_wait_ms=$(($(tail -1 <<<"$waits") - $(head -1 <<<"$waits"))) (between the first and the last stats line of the live phase)"
fi
tail -4 <<<"$live_stats"
final=$(grep -E 'stats \{|stopped cleanly: \{' "$WORK/run.log" | tail -1)
maxima=$(grep -oE '"(score_wait_ms_max|batch_ms_max)":[0-9.]+' <<<"$final" | tr -d '"' | tr ':' '=' | paste -sd' ' || true)
echo "final counters: ${maxima:-no batch_ms_max/score_wait_ms_max}"
