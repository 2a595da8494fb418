#!/usr/bin/env bash
# End-to-end ingest benchmark (issue 3): pre-fill the five input topics of a real
# local broker with simulated events over ~1,000,000 customers, then time
# `recur run` from start until it has caught up on every partition.
#   tests/bench/ingest_bench.sh                 # full size: ~5M events, 1M customers
#   CUSTOMERS=3000 DAYS=10 tests/bench/ingest_bench.sh   # smoke size (ctest -L bench)
# Then, in the same run, the ceiling: five do-nothing kcat consumers (one per
# input topic, in parallel) read the same topics to their end.
# Prints: events, seconds, events/s, process CPU-µs per event and peak RSS for
# recur and for the ceiling, and recur's throughput as a fraction of the ceiling's
# (the figure that counts on a shared machine). Broker settings: ops/kafka/start
# defaults (single node, KRaft, 1 GB heap), 4 partitions per topic, lz4 batches.
# RECUR_ARGS adds flags to `recur run` (e.g. "--commit-interval-ms 0": the
# write-through engine); ROUNDS=N repeats recur and the ceiling N times,
# alternating, each recur round with a fresh state dir and group.
# PERF_OUT=FILE records a profile of each recur round into FILE.<round>.
# CHANGELOG=1: each recur round also writes a changelog (a compacted topic of
# its own, --changelog-topic changelog-<round>); the line adds the broker's
# CPU-µs per event during the round, and then the restore: `recur run` on an
# empty state dir restores every store from that changelog (seconds, MB/s),
# against one do-nothing kcat consumer reading the changelog topic
# (restore_ratio: recur's restore rate / kcat's, in records).
# RESTORE_PERF_OUT=FILE records a profile of each restore into FILE.<round>.
source "$(dirname "$0")/../integration/lib.sh"
CUSTOMERS=${CUSTOMERS:-333334}   # per shop, 3 shops
DAYS=${DAYS:-14}
PARTITIONS=${PARTITIONS:-4}
start_broker "${PORT:-19460}"
create_input_topics "$PARTITIONS"

t0=$(date +%s.%N)
"$RECUR" simulate --shops 3 --customers "$CUSTOMERS" --days "$DAYS" --seed 1 --brokers "$BROKER" 2>"$WORK/produce.log"
t1=$(date +%s.%N)
events=$(sed -n 's/^produced \([0-9]*\) events.*/\1/p' "$WORK/produce.log")
log "pre-filled $events events in $(echo "$t1 - $t0" | bc) s"

IDLE_MS=1000
ROUNDS=${ROUNDS:-1}
for round in $(seq 1 "$ROUNDS"); do
  rm -rf "$WORK/state"
  changelog_args=()
  if [[ -n "${CHANGELOG:-}" ]]; then
    "$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions "$PARTITIONS" --compact --config max.message.bytes=33554432 "changelog-$round" >/dev/null 2>&1 \
      || fail "could not create changelog-$round"
    changelog_args=(--changelog-topic "changelog-$round")
  fi
  b0=$(broker_cpu_ticks)
  t2=$(date +%s.%N)
  # shellcheck disable=SC2086
  /usr/bin/time -f "%M %U %S" -o "$WORK/rss" ${PERF_OUT:+perf record -F 499 -g -o "$PERF_OUT.$round" --} "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" \
    --group "bench-$round" --batch-size 50000 --exit-when-idle-ms $IDLE_MS "${changelog_args[@]}" ${RECUR_ARGS:-} >"$WORK/run.json" 2>"$WORK/run.log"
  t3=$(date +%s.%N)
  broker_us=$(echo "($(broker_cpu_ticks) - $b0) * 1000000 / $(getconf CLK_TCK) / $events" | bc -l)
  [[ -n "${LOG_OUT:-}" ]] && cp "$WORK/run.log" "$LOG_OUT.$round"  # LOG_OUT=FILE keeps recur's log
  [[ -n "${JSON_OUT:-}" ]] && cp "$WORK/run.json" "$JSON_OUT.$round"  # JSON_OUT=FILE: its last stats line
  secs=$(echo "$t3 - $t2 - $IDLE_MS / 1000" | bc -l)
  applied=$(grep -o '"events_in":[0-9]*' "$WORK/run.json" | tr -dc 0-9)
  # Where the loop's time went: ApplyBatch (apply_ms) and the flushes.
  apply_ms=$(grep -o '"apply_ms":[0-9]*' "$WORK/run.json" | tr -dc 0-9)
  flush_ms=$(grep -o '"flush_ms":[0-9]*' "$WORK/run.json" | tr -dc 0-9)
  apply_wait_ms=$(grep -o '"apply_wait_ms":[0-9]*' "$WORK/run.json" | tr -dc 0-9)  # the loop waiting for it
  # From the start of `recur run` to its partitions' assignment (group join, stores opened).
  assigned_at=$(sed -n 's/^\[\([0-9-]* [0-9:.]*\)\].*assigned .*/\1/p' "$WORK/run.log" | head -1)
  start_s=$(echo "$(date -d "$assigned_at" +%s.%N) - $t2" | bc -l)
  [[ "$applied" == "$events" ]] || fail "consumed $applied of $events events"
  read -r rss user sys <"$WORK/rss"
  rate=$(echo "$events / $secs" | bc)
  cpu_us=$(echo "($user + $sys) * 1000000 / $events" | bc -l)

  # The ceiling: one do-nothing kcat consumer per topic, all at once.
  t4=$(date +%s.%N)
  pids=()
  for topic in shop.purchases shop.sessions shop.carts shop.marketing shop.profiles; do
    /usr/bin/time -f "%U %S" -o "$WORK/kcat-$topic.time" kcat -C -b "$BROKER" -t "$topic" -o beginning -e -q \
      -f '%o\n' >"$WORK/kcat-$topic.out" 2>/dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fail "kcat failed"; done
  t5=$(date +%s.%N)
  read_events=$(cat "$WORK"/kcat-*.out | wc -l)
  [[ "$read_events" == "$events" ]] || fail "kcat read $read_events of $events records"
  ksecs=$(echo "$t5 - $t4" | bc -l)
  kcpu=$(cat "$WORK"/kcat-*.time | awk '{s += $1 + $2} END {print s}')
  krate=$(echo "$events / $ksecs" | bc)
  kcpu_us=$(echo "$kcpu * 1000000 / $events" | bc -l)
  ratio=$(echo "$rate / $krate" | bc -l)
  # ONE_CONSUMER=1: also one do-nothing kcat group consumer of all five topics
  # (one librdkafka client, as recur has): the ceiling of a single consumer.
  one=""
  if [[ -n "${ONE_CONSUMER:-}" ]]; then
    t6=$(date +%s.%N)
    /usr/bin/time -f "%U %S" -o "$WORK/one-consumer.time" kcat -b "$BROKER" -G "ceiling-$round" -X queued.min.messages=1000000 \
      -o beginning -e -q -f '%o\n' shop.purchases shop.sessions shop.carts shop.marketing shop.profiles \
      >"$WORK/one-consumer.out" 2>/dev/null || fail "kcat -G failed"
    t7=$(date +%s.%N)
    one_events=$(wc -l <"$WORK/one-consumer.out")
    [[ "$one_events" == "$events" ]] || fail "kcat -G read $one_events of $events records"
    one_rate=$(echo "$events / ($t7 - $t6)" | bc)
    one=" one_consumer_events_per_s=$one_rate one_consumer_ratio=$(printf %.3f "$(echo "$rate / $one_rate" | bc -l)")"
  fi
  restore=""
  if [[ -n "${CHANGELOG:-}" ]]; then
    # The restore: every store from the changelog into an empty state dir
    # (then nothing to consume: its stored offsets are the topics' ends).
    rm -rf "$WORK/restored"
    t8=$(date +%s.%N)
    # shellcheck disable=SC2086
    /usr/bin/time -f "%M %U %S" -o "$WORK/restore.time" ${RESTORE_PERF_OUT:+perf record -F 999 -g -o "$RESTORE_PERF_OUT.$round" --} "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/restored" \
      --group "bench-$round" --changelog-topic "changelog-$round" --exit-when-idle-ms $IDLE_MS >/dev/null 2>"$WORK/restore.log" \
      || fail "restore failed: $(tail -3 "$WORK/restore.log")"
    assigned_at=$(sed -n 's/^\[\([0-9-]* [0-9:.]*\)\].*assigned .*/\1/p' "$WORK/restore.log" | head -1)
    rsecs=$(echo "$(date -d "$assigned_at" +%s.%N) - $t8" | bc -l)
    rrecords=$(sed -n 's/.*restored \([0-9,]*\) records.*/\1/p' "$WORK/restore.log" | tr -d , | awk '{s += $1} END {print s + 0}')
    rmb=$(sed -n 's/.*records (\([0-9.]*\) MB).*/\1/p' "$WORK/restore.log" | awk '{s += $1} END {print s + 0}')
    read -r _ ruser rsys <"$WORK/restore.time"
    t9=$(date +%s.%N)
    kcat -C -b "$BROKER" -t "changelog-$round" -o beginning -e -q -f '%o\n' >"$WORK/changelog-read.out" 2>/dev/null || fail "kcat changelog failed"
    t10=$(date +%s.%N)
    krecords=$(wc -l <"$WORK/changelog-read.out")
    krrate=$(echo "$krecords / ($t10 - $t9)" | bc -l)
    rrate=$(echo "$rrecords / $rsecs" | bc -l)
    restore=" broker_cpu_us_per_event=$(printf %.2f "$broker_us") restore_s=$(printf %.1f "$rsecs") restore_records=$rrecords restore_mb=$rmb restore_mb_per_s=$(printf %.1f "$(echo "$rmb / $rsecs" | bc -l)") restore_cpu_s=$(echo "$ruser + $rsys" | bc) kcat_changelog_records=$krecords kcat_changelog_s=$(printf %.1f "$(echo "$t10 - $t9" | bc -l)") restore_ratio=$(printf %.3f "$(echo "$rrate / $krrate" | bc -l)")"
  else
    restore=" broker_cpu_us_per_event=$(printf %.2f "$broker_us")"
  fi
  echo "ingest_bench: round=$round events=$events customers=$((CUSTOMERS * 3)) partitions=$PARTITIONS seconds=$(printf %.1f "$secs") events_per_s=$rate cpu_us_per_event=$(printf %.2f "$cpu_us") peak_rss_kb=$rss ceiling_events_per_s=$krate ceiling_cpu_us_per_event=$(printf %.2f "$kcpu_us") ratio_to_ceiling=$(printf %.3f "$ratio") start_s=$(printf %.2f "$start_s") apply_ms=$apply_ms apply_wait_ms=${apply_wait_ms:-} flush_ms=$flush_ms$one$restore args='${changelog_args[*]} ${RECUR_ARGS:-}'"
done
