#!/usr/bin/env bash
# End-to-end ingest benchmark (issue 3): pre-fill the five input topics of a real
# local broker with simulated events over ~1,000,000 customers, then time
# `recur run` from start until it has caught up on every partition.
#   tests/bench/ingest_bench.sh                 # full size: ~5M events, 1M customers
#   CUSTOMERS=3000 DAYS=10 tests/bench/ingest_bench.sh   # smoke size (ctest -L bench)
# Prints one line: events, seconds, events/s. Broker settings: ops/kafka/start
# defaults (single node, KRaft, 1 GB heap), 4 partitions per topic, lz4 batches.
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
t2=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$WORK/rss" "$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --batch-size 50000 \
  --exit-when-idle-ms $IDLE_MS >"$WORK/run.json" 2>"$WORK/run.log"
t3=$(date +%s.%N)
secs=$(echo "$t3 - $t2 - $IDLE_MS / 1000" | bc -l)
applied=$(grep -o '"events_in":[0-9]*' "$WORK/run.json" | tr -dc 0-9)
[[ "$applied" == "$events" ]] || fail "consumed $applied of $events events"
rate=$(echo "$events / $secs" | bc)
echo "ingest_bench: events=$events customers=$((CUSTOMERS * 3)) partitions=$PARTITIONS seconds=$(printf %.1f "$secs") events_per_s=$rate peak_rss_kb=$(cat "$WORK/rss")"
