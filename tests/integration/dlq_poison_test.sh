#!/usr/bin/env bash
# A dead letter too large for the DLQ never stops the pipeline (issue 15, item 1).
# With default broker and topic settings, a 1,040,000-byte garbage record (legal
# on an input topic: under the broker's max.message.bytes of 1,048,588) and a
# 5 MB one (on an input topic created to allow it) sit among good events,
# written with kcat. Before the fix the DLQ producer refused the first
# (message.max.bytes) and `recur run` exited 1, on every restart. Now:
#  - `recur run` exits 0 and applies every good event (features equal the
#    offline reference);
#  - recur.dlq holds one record per bad record: the big ones headers-only (no
#    value; recur.error.original_size and recur.error.sha256 equal the size and
#    sha256sum of what was sent, recur.error.omitted=value, the source
#    coordinates lead back to it), a 100 kB one (under the cap) whole;
#  - a DLQ topic whose own max.message.bytes refuses even the 100 kB record
#    (recur.dlq.small, 50,000 bytes) gets it headers-only after the broker's
#    refusal, and the run still exits 0.
source "$(dirname "$0")/lib.sh"
start_broker 19668
# Created first so that it can hold the 5 MB record; create_input_topics leaves it.
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 4 --config max.message.bytes=6000000 shop.sessions >/dev/null 2>&1 \
  || fail "could not create shop.sessions"
create_input_topics 4
"$ROOT/ops/kafka/create-topics" --broker "$BROKER" --partitions 1 --config max.message.bytes=50000 recur.dlq.small >/dev/null 2>&1 \
  || fail "could not create recur.dlq.small"

"$RECUR" simulate --shops 2 --customers 100 --days 60 --seed 5 -o "$WORK/good.jsonl"
n_good=$(wc -l <"$WORK/good.jsonl")
half=$((n_good / 2))
head -n "$half" "$WORK/good.jsonl" >"$WORK/good1.jsonl"
tail -n +"$((half + 1))" "$WORK/good.jsonl" >"$WORK/good2.jsonl"
KEY=$(head -1 "$WORK/good.jsonl" | jq -r '.shop_id + "/" + .customer_id')

BAD="$WORK/bad"
mkdir -p "$BAD"
# 0xff bytes: a varint that never ends, undecodable at any length.
head -c 1040000 /dev/zero | tr '\0' '\377' >"$BAD/big"      # over librdkafka's default 1,000,000
head -c 5000000 /dev/zero | tr '\0' '\377' >"$BAD/huge"     # over the broker's default too
# Under recur's cap, over recur.dlq.small's even after lz4 (seeded random bytes
# do not compress; 0xff bytes would, and the broker checks compressed sizes).
python3 -c 'import random,sys; r=random.Random(15); sys.stdout.buffer.write(b"\xff"+bytes(r.getrandbits(8) for _ in range(99999)))' >"$BAD/medium"

# send TOPIC FILE: FILE as one record keyed KEY (kcat may send up to 6 MB).
send() { kcat -P -b "$BROKER" -t "$1" -k "$KEY" -X message.max.bytes=6000000 "$2" || fail "kcat could not send $2 to $1"; }

"$RECUR" produce "$WORK/good1.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
send shop.purchases "$BAD/big"
send shop.sessions "$BAD/huge"
send shop.carts "$BAD/medium"
"$RECUR" produce "$WORK/good2.jsonl" --brokers "$BROKER" 2>>"$WORK/produce.log"

run() {  # run STATE_DIR DLQ_TOPIC: recur run to the end of the input; must exit 0
  "$RECUR" run --brokers "$BROKER" --state-dir "$1" --dlq-topic "$2" --no-scoring --exit-when-idle-ms 3000 \
    --max-retries 2 >"$WORK/run-$2.json" 2>"$WORK/run-$2.log" \
    || fail "recur run (DLQ $2) exited $?: $(tail -5 "$WORK/run-$2.log")"
  local stats
  stats=$(grep '^{' "$WORK/run-$2.json" | tail -1)
  [[ $(jq .events_in <<<"$stats") -eq $((n_good + 3)) ]] || fail "events_in: $stats"
  [[ $(jq -cS .dlq <<<"$stats") == '{"oversized":1,"undecodable":2}' ]] || fail "dlq counts: $stats"
}

# check_dlq TOPIC WHOLE_FILES...: TOPIC holds one record per bad file; those
# named are whole, the others headers-only with their size and sha256.
check_dlq() {
  local topic=$1
  shift
  local -A whole=()
  local f
  for f in "$@"; do whole[$f]=1; done
  kcat -C -b "$BROKER" -t "$topic" -e -q -f '%p %o %S %h\n' >"$WORK/$topic.index"
  [[ $(wc -l <"$WORK/$topic.index") -eq 3 ]] || fail "$topic holds $(wc -l <"$WORK/$topic.index") records, want 3: $(cut -c1-300 "$WORK/$topic.index")"
  hdr() { tr ',' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
  local p o size headers name file
  while read -r p o size headers; do
    topic_src=$(hdr "$headers" recur.error.topic)
    sp=$(hdr "$headers" recur.error.partition)
    so=$(hdr "$headers" recur.error.offset)
    sha=$(hdr "$headers" recur.error.sha256)
    osize=$(hdr "$headers" recur.error.original_size)
    case $osize in 1040000) name=big ;; 5000000) name=huge ;; 100000) name=medium ;; *) fail "$topic $p/$o: original_size '$osize': $headers" ;; esac
    file="$BAD/$name"
    [[ $sha == "$(sha256sum <"$file" | cut -c1-64)" ]] || fail "$topic $p/$o ($name): sha256 header '$sha' is not the sent record's"
    [[ -n $(hdr "$headers" recur.error.reason) ]] || fail "$topic $p/$o: no reason: $headers"
    # The coordinates lead back to the original record.
    kcat -C -b "$BROKER" -t "$topic_src" -p "$sp" -o "$so" -c 1 -e -q -f '%s' -X fetch.message.max.bytes=6000000 >"$WORK/src.value"
    cmp -s "$WORK/src.value" "$file" || fail "$topic $p/$o ($name): $topic_src/$sp/$so is not the record sent"
    if [[ -n ${whole[$name]-} ]]; then
      kcat -C -b "$BROKER" -t "$topic" -p "$p" -o "$o" -c 1 -e -q -f '%s' >"$WORK/dlq.value"
      cmp -s "$WORK/dlq.value" "$file" || fail "$topic $p/$o ($name): not relayed whole"
      [[ -z $(hdr "$headers" recur.error.omitted) ]] || fail "$topic $p/$o ($name): marked omitted: $headers"
    else
      [[ $size == -1 || $size == 0 ]] || fail "$topic $p/$o ($name): value of $size bytes, want none"
      [[ $(hdr "$headers" recur.error.omitted) == value ]] || fail "$topic $p/$o ($name): no recur.error.omitted=value: $headers"
    fi
  done <"$WORK/$topic.index"
  log "$topic: 3 dead letters, $# whole, the others headers-only with size and sha256"
}

# 1. Default DLQ settings.
run "$WORK/state" recur.dlq
check_dlq recur.dlq medium
AS_OF=$(last_event_day "$WORK/good.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
offline_reference "$WORK/good.jsonl" "$AS_OF" "$WORK/offline.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"
# A restart reads nothing again and relays nothing twice.
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --no-scoring --exit-when-idle-ms 2000 \
  >"$WORK/run2.json" 2>>"$WORK/run-recur.dlq.log" || fail "second recur run exited $?"
grep -q '"events_in":0' "$WORK/run2.json" || fail "second run consumed again: $(cat "$WORK/run2.json")"
[[ $(topic_count recur.dlq) -eq 3 ]] || fail "the DLQ grew on a second run"

# 2. A DLQ topic that refuses the 100 kB dead letter: the broker's refusal sends it headers-only.
run "$WORK/state-small" recur.dlq.small
check_dlq recur.dlq.small
grep -q "relaying it headers-only" "$WORK/run-recur.dlq.small.log" \
  || fail "no warning about the refused dead letter: $(tail -5 "$WORK/run-recur.dlq.small.log")"
features_of "$WORK/state-small" "$AS_OF" >"$WORK/online-small.jsonl"
assert_same_features "$WORK/offline.jsonl" "$WORK/online-small.jsonl"
echo "PASS dlq_poison"
