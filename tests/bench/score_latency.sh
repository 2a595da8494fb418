#!/usr/bin/env bash
# Event-to-score latency at a fixed event rate from a real broker (ops/kafka):
# `recur run` with production-size models (300 trees of depth 6 per target) and
# short batches, fed by tests/bench/score_latency (event_time = send time), the
# scores topic timestamped by the broker (LogAppendTime).
#   RATE=20000 SECONDS_=30 tests/bench/score_latency.sh      (figures in docs/BENCHMARKS.md)
# Smaller RATE/SECONDS_ make the ctest smoke run. RUN_ARGS adds options to `recur run`
# (e.g. RUN_ARGS="-X fetch.wait.max.ms=10").
# LOOKUP_SECONDS=N: also the lookup benchmark — `recur run --http`, and wrk
# (LOOKUP_CONNECTIONS connections, default 4, one thread) asking for random
# customers (tests/bench/lookup.lua) for N seconds, starting LOOKUP_DELAY (10) s
# into the event stream; compare with a run without it for the effect on ingest.
# LOOKUP_PAUSE_MS=1 LOOKUP_CONNECTIONS=10: a fixed load of at most 10,000
# lookups/s (each connection pauses 1 ms before each request; lookup.lua).
# LOOKUP_RATE=10000 LOOKUP_CONNECTIONS=16: 10,000 lookups/s on a schedule
# (lookup.lua), as long as 16 connections suffice. LOOKUP_NICE=-10 runs wrk at
# that niceness (the client's own wait for a CPU, apart from the server's).
# WARMUP=10: publish at RATE for 10 s first; their scores are reported apart
# and left out of the totals (a new store's first pass holds its first scores,
# cold caches). WINDOW=1: the breakdown by 1-s windows of send time (default 5).
# CHANGELOG=1: `recur run --changelog-topic recur.changelog` (a compacted topic,
# 4 partitions); the last line adds the broker's CPU over the run, for the
# changelog's cost at a live rate. INGEST_ONLY=1: `recur run` without models,
# the driver only publishes (no latency): ingest's own CPU at the rate.
source "$(dirname "$0")/../integration/lib.sh"
RATE=${RATE:-20000}
SECONDS_=${SECONDS_:-30}
LINGER=${LINGER:-10}
BIN="$(dirname "$RECUR")/tests"
if [[ -n "${LOOKUP_SECONDS:-}" ]]; then
  HTTP_ADDR=127.0.0.1:$((${PORT:-19490} + 7))
  RUN_ARGS="${RUN_ARGS:-} --http $HTTP_ADDR"
fi
start_broker "${PORT:-19490}"
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 "${INPUT_TOPICS[@]}" recur.dlq >/dev/null 2>&1 || fail "topics"
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 --config message.timestamp.type=LogAppendTime recur.scores \
  >/dev/null 2>&1 || fail "scores topic"
if [[ -n "${CHANGELOG:-}" ]]; then
  "$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 --compact --config max.message.bytes=33554432 recur.changelog \
    >/dev/null 2>&1 || fail "changelog topic"
  RUN_ARGS="${RUN_ARGS:-} --changelog-topic recur.changelog"
fi
models_args=(--models-dir "$WORK/models")
driver_args=()
if [[ -n "${INGEST_ONLY:-}" ]]; then  # no models: what ingest alone costs at the rate
  models_args=()
  driver_args=(--no-scores)
else
  "$BIN/scorer/make_test_models" "$WORK/models" 1 300 6 || fail "models"
fi
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} "$RECUR" run --brokers "$BROKER" "${models_args[@]}" --state-dir "$WORK/state" --linger-ms "$LINGER" \
  --stats "${STATS:-10}" ${RUN_ARGS:-} >"$WORK/run.json" 2>"$WORK/run.log" &
pid=$!
for _ in $(seq 1 300); do grep -q "assigned" "$WORK/run.log" && break; sleep 0.1; done
[[ -n "${INGEST_ONLY:-}" ]] || grep -q "scoring with" "$WORK/run.log" || fail "not scoring: $(tail -3 "$WORK/run.log")"
if [[ -n "${PERF_OUT:-}" ]]; then  # profile the pipeline while it runs
  (sleep 5; perf record -F 499 -g -p "$pid" -o "$PERF_OUT" -- sleep 12 >/dev/null 2>&1) &
fi
if [[ -n "${LOOKUP_SECONDS:-}" ]]; then
  (sleep "${LOOKUP_DELAY:-10}"
   nice -n "${LOOKUP_NICE:-0}" wrk -t1 -c"${LOOKUP_CONNECTIONS:-4}" -d"${LOOKUP_SECONDS}s" -s "$ROOT/tests/bench/lookup.lua" \
     "http://$HTTP_ADDR" >"$WORK/wrk.txt" 2>&1) &
  wrk_pid=$!
fi
broker0=$(broker_cpu_ticks)
"$BIN/bench/score_latency" --brokers "$BROKER" --rate "$RATE" --seconds "$SECONDS_" --window "${WINDOW:-5}" --warmup "${WARMUP:-0}" "${driver_args[@]}" | tee "$WORK/result.txt"
if [[ -n "${LOOKUP_SECONDS:-}" ]]; then
  wait "$wrk_pid" || true
  cat "$WORK/wrk.txt"
  grep -q "^lookups:" "$WORK/wrk.txt" || fail "wrk gave no result"
fi
echo "broker CPU seconds: $(echo "scale=2; ($(broker_cpu_ticks) - $broker0) / $(getconf CLK_TCK)" | bc) (while the driver ran)"
# recur's own CPU over the run (user + system), for the effect of lookups.
echo "recur CPU seconds: $(awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$pid/stat")"
kill -TERM "$pid"
wait "$pid" || fail "recur run: $(tail -3 "$WORK/run.log")"
[[ -n "${RUN_LOG:-}" ]] && cp "$WORK/run.log" "$RUN_LOG"  # RUN_LOG=path keeps recur's log
grep "stats" "$WORK/run.log" | tail -2 >&2
grep "re-scored" "$WORK/run.log" >&2 || true  # day-boundary passes: customers and duration
grep -q "event-to-score latency\|published only" "$WORK/result.txt" || fail "no result"
