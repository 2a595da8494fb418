#!/usr/bin/env bash
# A real Prometheus server (Debian's, installed by ops/setup) scrapes
# `recur run --http` while it ingests a simulated stream and a few dead
# letters from a real broker; then Prometheus' HTTP API must hold what was
# produced, computed here from the input file: events consumed per topic,
# events applied (distinct event ids) and duplicates, in total and per topic,
# dead letters by reason,
# consumer lag back to 0 on every partition. /readyz turns 200 once caught up.
source "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || fail "prometheus is not installed (ops/setup installs it)"
start_broker 19740
create_input_topics 4
HTTP=127.0.0.1:19744
PROM=127.0.0.1:19745

"$RECUR" simulate --shops 2 --customers 150 --days 90 --seed 5 --duplicate-rate 0.02 --late-rate 0 \
  -o "$WORK/events.jsonl" 2>/dev/null
# What the input holds, counted from the file, independently of recur.
read -r total distinct < <(python3 -c 'import json,sys
ids=[json.loads(l)["event_id"] for l in open(sys.argv[1])]
print(len(ids), len(set(ids)))' "$WORK/events.jsonl")
# per_topic TOPIC: "events distinct-ids" of the topic's event kind.
per_topic() { python3 -c 'import json,sys
kinds={"purchase":"shop.purchases","session":"shop.sessions","cart":"shop.carts","marketing":"shop.marketing","profile":"shop.profiles"}
ids=[]
for l in open(sys.argv[1]):
    e=json.loads(l)
    if any(k in e and kinds[k]==sys.argv[2] for k in kinds): ids.append(e["event_id"])
print(len(ids), len(set(ids)))' "$WORK/events.jsonl" "$1"; }
log "input: $total events, $distinct distinct ids, plus 3 undecodable and 2 keyless records"

"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --no-scoring --http "$HTTP" \
  --stats 1 >"$WORK/run.out" 2>"$WORK/run.log" &
RUN_PID=$!
cat >"$WORK/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: recur
    static_configs:
      - targets: ["$HTTP"]
YML
promtool check config "$WORK/prometheus.yml" >/dev/null || fail "promtool refuses the config"
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="$PROM" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!

# query PROMQL: the value of a one-sample instant query ("" while there is none).
query() {
  curl -s --get "http://$PROM/api/v1/query" --data-urlencode "query=$1" \
    | python3 -c 'import json,sys
r=json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if len(r)==1 else "")' 2>/dev/null || true
}
# wait_query PROMQL WANT: until Prometheus holds WANT for it (however long the machine takes).
wait_query() {
  local got=""
  until [[ "$got" == "$2" ]]; do
    kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
    kill -0 "$PROM_PID" 2>/dev/null || fail "prometheus exited: $(tail -5 "$WORK/prometheus.log")"
    sleep 0.5
    got=$(query "$1")
  done
  log "prometheus: $1 = $got"
}

# Prometheus scrapes from before the first event: it records the ingest.
wait_query 'up{job="recur"}' 1
wait_query 'sum(recur_events_consumed_total) or vector(0)' 0
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
# Three undecodable records and two without a key.
for i in 1 2 3; do printf '\x0a\x64garbage%s' "$i" | kcat -P -b "$BROKER" -t shop.sessions -k "shop-1/c-000001"; done
for i in 1 2; do printf 'nokey%s' "$i" | kcat -P -b "$BROKER" -t shop.carts; done

until curl -sf "http://$HTTP/readyz" >/dev/null; do
  kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
  sleep 0.2
done
log "readyz 200: $(curl -s "http://$HTTP/readyz")"
for t in "${INPUT_TOPICS[@]}"; do
  read -r n unique < <(per_topic "$t")
  want=$n
  [[ $t == shop.sessions ]] && want=$((want + 3))
  [[ $t == shop.carts ]] && want=$((want + 2))
  wait_query "recur_events_consumed_total{topic=\"$t\"}" "$want"
  wait_query "recur_events_applied_total{topic=\"$t\"}" "$unique"
  wait_query "sum(recur_events_duplicate_total{topic=\"$t\"}) or vector(0)" "$((n - unique))"
done
wait_query 'sum(recur_events_applied_total)' "$distinct"
wait_query 'sum(recur_events_duplicate_total)' "$((total - distinct))"
wait_query 'recur_dlq_records_total{reason="undecodable"}' 3
wait_query 'recur_dlq_records_total{reason="missing_key"}' 2
wait_query 'count(recur_consumer_lag_records)' 20   # 5 topics x 4 partitions
wait_query 'max(recur_consumer_lag_records)' 0
wait_query recur_partitions_assigned 4
# It saw the ingest happen (a counter exposed from the start grew between scrapes;
# the per-topic series only appear with their topic's first event).
[[ $(query 'changes(recur_batches_total[10m])') -ge 1 ]] || fail "no increase recorded"
# The lookup API agrees with the store: a customer of the stream is found.
key=$(head -1 "$WORK/events.jsonl" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["shop_id"]+"/"+e["customer_id"])')
curl -sf "http://$HTTP/v1/customers/$key" | python3 -c 'import json,sys
j=json.load(sys.stdin); assert j["features"]["orders_lifetime"] is not None, j' \
  || fail "lookup of $key failed"
kill -TERM "$RUN_PID"
wait "$RUN_PID" || fail "recur run did not stop cleanly: $(tail -5 "$WORK/run.log")"
log "OK"
