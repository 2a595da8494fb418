#!/usr/bin/env bash
# A topic deleted and created again is named as such (issue 15, item 10): the
# state dir's stored offsets lie beyond the new topic's end, and `recur run`
# stops saying "the topic's end offset N is before the stored offset M: was the
# topic re-created?" instead of blaming retention.
source "$(dirname "$0")/lib.sh"

start_broker 19666
create_input_topics 1
"$RECUR" simulate --shops 1 --customers 30 --days 10 --seed 7 -o "$WORK/events.jsonl" 2>/dev/null
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log" || fail "produce"
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --exit-when-idle-ms 2000 \
  >"$WORK/run1.json" 2>"$WORK/run1.log" || fail "first run: $(tail -3 "$WORK/run1.log")"
stored=$(kcat -C -b "$BROKER" -t shop.purchases -e -q -f 'x\n' 2>/dev/null | wc -l)
[[ $stored -gt 0 ]] || fail "no purchases produced"

# Delete the input topics with Kafka's own tool, then create them again (empty).
libs=$("$ROOT/ops/kafka/fetch")
java -Xmx256m "-Dlog4j2.configurationFile=$ROOT/ops/kafka/log4j2-tools.properties" -cp "$libs/*" \
  org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKER" --delete \
  --topic 'shop\..*' >"$WORK/delete.log" 2>&1 || fail "delete topics: $(tail -3 "$WORK/delete.log")"
# Deletion is asynchronous: retry the creation until the old topics are gone.
for ((i = 0; ; i++)); do
  "$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 1 "${INPUT_TOPICS[@]}" \
    >"$WORK/create.log" 2>&1 && break
  [[ $i -lt 60 ]] || fail "could not create the topics again: $(tail -3 "$WORK/create.log")"
  sleep 1
done
log "input topics deleted and created again (shop.purchases held $stored records)"

rc=0
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --exit-when-idle-ms 2000 \
  >"$WORK/run2.json" 2>"$WORK/run2.log" || rc=$?
[[ $rc -ne 0 ]] || fail "recur run exited 0 on a re-created topic: $(tail -3 "$WORK/run2.log")"
grep -Eq "end offset 0 is before the stored offset [1-9][0-9]*: was the topic re-created\?" "$WORK/run2.log" \
  || fail "no 'was the topic re-created?' message: $(tail -3 "$WORK/run2.log")"
grep -q 'retention' "$WORK/run2.log" && fail "a re-created topic blamed on retention: $(tail -3 "$WORK/run2.log")"
log "exit $rc: $(grep -o 'shop[^ ]*: the topic.s end offset.*re-created?' "$WORK/run2.log" | head -1)"

echo "PASS recreated_topic"
