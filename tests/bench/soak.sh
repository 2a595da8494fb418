#!/usr/bin/env bash
# Soak (issue 15): a real broker, events produced at a steady rate for
# SOAK_MINUTES, `recur run` (scoring on) killed with -9 and restarted
# periodically, the broker stopped and restarted, the models swapped under the
# run; RSS and open file descriptors of `recur run` sampled every 5 s. At the
# end tests/bench/soak_check.py checks, per customer, day and kind (with the
# simulator's per-customer sequence numbers), that every produced event was
# counted exactly once, and the state equals the offline reference (`recur
# import`); RSS and fds must stay within bounds.
#   tests/bench/soak.sh                      # the CI smoke: 3 minutes
#   SOAK_MINUTES=30 SOAK_PORT=19770 tests/bench/soak.sh   # the long form (ctest -L soak)
# Environment: SOAK_RATE (events/s, default 300), SOAK_KILL_EVERY,
# SOAK_BROKER_EVERY, SOAK_RELOAD_EVERY (seconds; defaults scale with the length).
source "$(dirname "$0")/../integration/lib.sh"

MINUTES=${SOAK_MINUTES:-3}
PORT=${SOAK_PORT:-19760}
RATE=${SOAK_RATE:-300}
SECONDS_TOTAL=${SOAK_SECONDS:-$((MINUTES * 60))}
KILL_EVERY=${SOAK_KILL_EVERY:-$((SECONDS_TOTAL / 6))}
BROKER_EVERY=${SOAK_BROKER_EVERY:-$((SECONDS_TOTAL / 3))}
RELOAD_EVERY=${SOAK_RELOAD_EVERY:-$((SECONDS_TOTAL / 4))}
MAKE_TEST_MODELS="${MAKE_TEST_MODELS:-$(dirname "$RECUR")/tests/scorer/make_test_models}"
CHUNK_S=2

start_broker "$PORT"
create_input_topics 4
"$MAKE_TEST_MODELS" "$WORK/models" 1 || fail "make_test_models"
models=1

# About RATE x SECONDS_TOTAL events: the simulator makes ~0.34 events per
# customer and day; 240 days of 2 shops.
customers=$(((RATE * SECONDS_TOTAL * 100 / (2 * 240 * 34)) + 1))
"$RECUR" simulate --shops 2 --customers "$customers" --days 240 --seed 15 --duplicate-rate 0.01 \
  --late-rate 0.01 -o "$WORK/events.jsonl" 2>/dev/null || fail "simulate"
total=$(wc -l <"$WORK/events.jsonl")
split -l $((RATE * CHUNK_S)) -d -a 5 "$WORK/events.jsonl" "$WORK/chunk-"
chunks=$(ls "$WORK"/chunk-* | wc -l)
log "soak: ${SECONDS_TOTAL} s, $total events ($customers customers x 2 shops) in $chunks chunks of ${CHUNK_S}s;" \
  "kill every ${KILL_EVERY}s, broker restart every ${BROKER_EVERY}s, model swap every ${RELOAD_EVERY}s"

# The producer: one chunk every CHUNK_S seconds on schedule, each retried until
# it is in (a retry may send some events twice: the same ids, counted once).
producer() {
  local start=$SECONDS i=0 f
  for f in "$WORK"/chunk-*; do
    until "$RECUR" produce "$f" --brokers "$BROKER" >>"$WORK/produce.log" 2>&1; do
      echo "retry $f" >>"$WORK/produce.retries"
      sleep 1
    done
    i=$((i + 1))
    echo "$i" >"$WORK/produced"
    local wait=$((start + i * CHUNK_S - SECONDS))
    if ((wait > 0)); then sleep "$wait"; fi
  done
}
producer &
PRODUCER=$!

RUN_ARGS=(run --brokers "$BROKER" --state-dir "$WORK/state" --models-dir "$WORK/models" --stats 5)
runs=0
start_run() {
  runs=$((runs + 1))
  "$RECUR" "${RUN_ARGS[@]}" >"$WORK/run-$runs.json" 2>"$WORK/run-$runs.log" &
  RUN=$!
}
# sample: "elapsed pid rss_kb fds" of the running `recur run`.
sample() {
  local rss fds
  rss=$(awk '/^VmRSS/{print $2}' "/proc/$RUN/status" 2>/dev/null) || return 0
  fds=$(ls "/proc/$RUN/fd" 2>/dev/null | wc -l)
  [[ -n "$rss" ]] && echo "$((SECONDS - T0)) $RUN $rss $fds" >>"$WORK/samples.txt"
  return 0
}

T0=$SECONDS
kills=0 broker_restarts=0 reloads=0 exits=0
next_kill=$KILL_EVERY next_broker=$BROKER_EVERY next_reload=$RELOAD_EVERY
start_run
while kill -0 "$PRODUCER" 2>/dev/null; do
  sleep 5
  now=$((SECONDS - T0))
  if ! kill -0 "$RUN" 2>/dev/null; then
    # Not ours: e.g. the broker-down timeout. Counted, restarted, the check still applies.
    wait "$RUN" 2>/dev/null || true
    exits=$((exits + 1))
    log "recur run exited by itself: $(tail -2 "$WORK/run-$runs.log")"
    start_run
    continue
  fi
  sample
  if ((now >= next_kill)); then
    kill -9 "$RUN" 2>/dev/null && kills=$((kills + 1))
    wait "$RUN" 2>/dev/null || true
    start_run
    next_kill=$((next_kill + KILL_EVERY))
  fi
  if ((now >= next_broker)); then
    restart_broker || fail "broker restart"
    broker_restarts=$((broker_restarts + 1))
    next_broker=$((next_broker + BROKER_EVERY))
  fi
  if ((now >= next_reload)); then
    models=$((models + 1))
    "$MAKE_TEST_MODELS" "$WORK/models" "$models" || fail "make_test_models $models"
    reloads=$((reloads + 1))
    next_reload=$((next_reload + RELOAD_EVERY))
  fi
done
wait "$PRODUCER" || fail "producer"
log "produced every chunk in $((SECONDS - T0)) s ($(cat "$WORK/produce.retries" 2>/dev/null | wc -l) retries);" \
  "$kills kills, $broker_restarts broker restarts, $reloads model swaps, $exits exits"

# The last run drains what is left and stops by itself once idle.
kill -TERM "$RUN" 2>/dev/null || true
wait "$RUN" 2>/dev/null || true
runs=$((runs + 1))
"$RECUR" "${RUN_ARGS[@]}" --exit-when-idle-ms 5000 >"$WORK/run-$runs.json" 2>"$WORK/run-$runs.log" &
RUN=$!
while kill -0 "$RUN" 2>/dev/null; do
  sample
  sleep 1
done
wait "$RUN" || fail "final run: $(tail -3 "$WORK/run-$runs.log")"
grep -q "\"models\":\"risk=r$models repurchase=p$models\"" "$WORK/run-$runs.log" \
  || fail "the final run does not score with the last models (r$models/p$models)"

AS_OF=$(last_event_day "$WORK/events.jsonl")
"$RECUR" inspect --all --buckets --as-of "$AS_OF" --state-dir "$WORK/state" >"$WORK/online.jsonl"
rm -rf "$WORK/offline"
"$RECUR" import "$WORK/events.jsonl" --state-dir "$WORK/offline" >/dev/null 2>&1
"$RECUR" inspect --all --buckets --as-of "$AS_OF" --state-dir "$WORK/offline" >"$WORK/offline.jsonl"
check=$(python3 "$ROOT/tests/bench/soak_check.py" "$WORK/events.jsonl" "$WORK/online.jsonl" "$WORK/offline.jsonl") \
  || fail "exactly-once check: $check"
log "check: $check"

# RSS and fds: start (the first sample), end (the final run's last), max; the
# bounds are generous (restarts reload caches), a leak over the soak breaks them.
read -r rss0 fds0 < <(awk 'NR==1{print $3, $4}' "$WORK/samples.txt")
read -r rss1 fds1 < <(awk 'END{print $3, $4}' "$WORK/samples.txt")
read -r rssmax fdsmax < <(awk '$3>r{r=$3} $4>f{f=$4} END{print r, f}' "$WORK/samples.txt")
log "RSS kB start $rss0 end $rss1 max $rssmax; fds start $fds0 end $fds1 max $fdsmax;" \
  "$(wc -l <"$WORK/samples.txt") samples"
echo "soak: seconds=$SECONDS_TOTAL events=$total kills=$kills broker_restarts=$broker_restarts reloads=$reloads" \
  "exits=$exits rss_kb=$rss0/$rss1/$rssmax fds=$fds0/$fds1/$fdsmax check=$check"
((rssmax <= 3 * rss0 + 200000)) || fail "RSS grew: $rss0 kB -> max $rssmax kB"
((fdsmax <= 2 * fds0 + 100)) || fail "open fds grew: $fds0 -> max $fdsmax"
log "PASS soak"
