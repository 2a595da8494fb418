#!/usr/bin/env bash
# Crash: kill -9 `recur run` at random moments (at least 5 times) while it
# ingests a few hundred thousand events from a real broker, restart it each
# time; the final features and stored offsets equal a clean run's: nothing lost,
# nothing counted twice.
source "$(dirname "$0")/lib.sh"
start_broker 19450
create_input_topics 4

"$RECUR" simulate --shops 3 --customers 800 --days 420 --seed 9 --duplicate-rate 0.01 --late-rate 0.01 -o "$WORK/events.jsonl"
log "$(wc -l <"$WORK/events.jsonl") events"
# Seven parts, one produced during each round, so every kill lands mid-ingest.
split -n l/7 -d "$WORK/events.jsonl" "$WORK/part-"

# Small batches and fsync-free writes: many commits, so kills land between and inside them.
RUN=("$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --batch-size 2000 --linger-ms 50)
kills=0
for round in 1 2 3 4 5 6 7; do
  "${RUN[@]}" >"$WORK/run-$round.json" 2>"$WORK/run-$round.log" &
  pid=$!
  # Wait until it has its partitions, produce the next part, kill after 0.05-0.65 s.
  wait_assigned "$WORK/run-$round.log" "$pid"
  "$RECUR" produce "$WORK/part-0$((round - 1))" --brokers "$BROKER" 2>>"$WORK/produce.log"
  sleep "$(awk -v s="$RANDOM" 'BEGIN{srand(s); printf "%.2f", 0.05 + rand()*0.6}')"
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null || true
  log "round $round: killed; stored offsets now: $("$RECUR" inspect --offsets --state-dir "$WORK/state" | awk '{s+=$4} END{print s}')"
done
[[ $kills -ge 5 ]] || fail "only $kills kills landed"

"${RUN[@]}" --exit-when-idle-ms 3000 >"$WORK/final.json" 2>"$WORK/final.log" || fail "final run failed: $(tail -3 "$WORK/final.log")"
assert_like_clean_run "$WORK/state" "$WORK/events.jsonl"
log "PASS kill ($kills kills)"
