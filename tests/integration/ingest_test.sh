#!/usr/bin/env bash
# Ingest: a simulated stream produced to a real Kafka broker (with duplicates
# and late events) ends with features identical to those computed offline from
# the same JSON lines; stored offsets equal the topics' ends; a second run with
# the same state is a no-op (nothing counted twice).
source "$(dirname "$0")/lib.sh"
start_broker 19410
create_input_topics 4

"$RECUR" simulate --shops 3 --customers 400 --days 420 --seed 5 --duplicate-rate 0.02 --late-rate 0.02 -o "$WORK/events.jsonl"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
kcat -b "$BROKER" -L -t shop.purchases >/dev/null
total=0
for t in "${INPUT_TOPICS[@]}"; do total=$((total + $(topic_count "$t"))); done
[[ $total -eq $(wc -l <"$WORK/events.jsonl") ]] || fail "kcat counts $total records, the file has $(wc -l <"$WORK/events.jsonl")"

"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --exit-when-idle-ms 3000 >"$WORK/run.json" 2>"$WORK/run.log"
AS_OF=$(last_event_day "$WORK/events.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
offline_reference "$WORK/events.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"

# Stored offsets are the ends of every input partition.
"$RECUR" inspect --offsets --state-dir "$WORK/state" | awk '{print $2, $3, $4}' | sort >"$WORK/stored"
for t in "${INPUT_TOPICS[@]}"; do
  kcat -b "$BROKER" -Q -t "$t:0:-1" >/dev/null 2>&1 || true
done
ends=$(for t in "${INPUT_TOPICS[@]}"; do for p in 0 1 2 3; do
  n=$(kcat -C -b "$BROKER" -t "$t" -p "$p" -e -q -f 'x\n' 2>/dev/null | wc -l)
  [[ $n -gt 0 ]] && echo "$t $p $n"; done; done | sort)
[[ "$ends" == "$(cat "$WORK/stored")" ]] || { diff <(echo "$ends") "$WORK/stored" >&2; fail "stored offsets are not the partition ends"; }

# Run again from the stored offsets: nothing new, nothing doubled.
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --exit-when-idle-ms 2000 >"$WORK/run2.json" 2>>"$WORK/run.log"
grep -q '"events_in":0' "$WORK/run2.json" || fail "second run consumed again: $(cat "$WORK/run2.json")"
features_of "$WORK/state" "$AS_OF" >"$WORK/online2.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online2.jsonl"
log "PASS ingest"
