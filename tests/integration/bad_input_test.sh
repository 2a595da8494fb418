#!/usr/bin/env bash
# Bad input never stops the pipeline: raw records written with kcat (the
# independent client) between and after a simulated stream - undecodable bytes,
# no key, an empty key, a key that disagrees with the body, an unknown event kind,
# a negative and a NaN unit price, an absurd quantity, a purchase on shop.carts
# (another kind's topic), an event older than the retention horizon of its
# partition, an event from the future and a record over --max-message-bytes -
# and a bot's 30 visits in one day under --max-events-per-day 20 (its last 10
# are rate_limited, re-encoded byte for byte) - each land on recur.dlq exactly
# once, with the right
# recur.error.reason, the source topic/partition/offset, and the original bytes
# as value. `recur run` exits 0, its final stats count the dead letters per
# reason, and the good customers' features equal the offline reference.
source "$(dirname "$0")/lib.sh"
start_broker 19420
create_input_topics 4

"$RECUR" simulate --shops 2 --customers 200 --days 120 --seed 11 -o "$WORK/good.jsonl"
n_good=$(wc -l <"$WORK/good.jsonl")
half=$((n_good / 2))
head -n "$half" "$WORK/good.jsonl" >"$WORK/good1.jsonl"
tail -n +"$((half + 1))" "$WORK/good.jsonl" >"$WORK/good2.jsonl"

# A real customer of the stream, with purchases (so its shop.purchases partition
# has recent events when the too_late record arrives there).
last_purchase=$(grep '"purchase"' "$WORK/good.jsonl" | tail -1)
SHOP=$(jq -r .shop_id <<<"$last_purchase")
CUST=$(jq -r .customer_id <<<"$last_purchase")
KEY="$SHOP/$CUST"
first_ms=$(head -1 "$WORK/good.jsonl" | jq -r .event_time_ms)
MID_MS=$((first_ms + 60 * 86400000))             # inside the stream
OLD_MS=$((first_ms - 730 * 86400000))            # 2 years before the stream
FUTURE_MS=$(date -u -d 2090-01-01 +%s)000        # far ahead of the wall clock

BAD="$WORK/bad"
mkdir -p "$BAD"
encode() { protoc --encode=recur.v1.Event -I "$ROOT/proto" "$ROOT/proto/recur.proto"; }
# header ID TIME: the envelope fields of a textproto Event for KEY.
header() { printf 'event_id: "%s" shop_id: "%s" customer_id: "%s" event_time_ms: %s\n' "$1" "$SHOP" "$CUST" "$2"; }
purchase() { printf 'purchase { order_id: "o" lines { category: "books" quantity: %s unit_price: %s } }\n' "$1" "$2"; }

printf '\x0a\x64garbage' >"$BAD/undecodable"                       # field 1 claims 100 bytes, has 7
{ header bad-nokey "$MID_MS"; purchase 1 9.5; } | encode >"$BAD/nokey"
{ header bad-emptykey "$MID_MS"; purchase 1 9.5; } | encode >"$BAD/emptykey"
{ header bad-mismatch "$MID_MS"; purchase 1 9.5; } | encode >"$BAD/mismatch"
{ header bad-unknown "$MID_MS" | encode; printf '\x7a\x02\x08\x01'; } >"$BAD/unknown" # field 15 (oneof range)
{ header bad-negative "$MID_MS"; purchase 1 -5; } | encode >"$BAD/negative"
{ header bad-nan "$MID_MS"; purchase 1 nan; } | encode >"$BAD/nan"
{ header bad-quantity "$MID_MS"; purchase 5000000 2; } | encode >"$BAD/quantity"
{ header bad-wrongtopic "$MID_MS"; purchase 1 9.5; } | encode >"$BAD/wrongtopic"  # a valid purchase
{ header bad-toolate "$OLD_MS"; purchase 1 9.5; } | encode >"$BAD/toolate"
{ header bad-future "$FUTURE_MS"; echo 'cart { unpaid_items: 2 cart_value: 30 }'; } | encode >"$BAD/future"
head -c 50000 /dev/zero | tr '\0' 'x' >"$BAD/oversized"
# Sanity of the hand-made records: the envelope of the unknown kind is valid,
# the NaN really is a NaN (f8 7f: the high bytes of a quiet NaN double).
protoc --decode=recur.v1.Event -I "$ROOT/proto" "$ROOT/proto/recur.proto" <"$BAD/unknown" | grep -q '^15 {' \
  || fail "the unknown-kind record does not carry field 15"
xxd -p "$BAD/nan" | tr -d '\n' | grep -q 'f87f$' || fail "the NaN record has no NaN unit price"

# expect REASON TOPIC FILE [KEY|-]: send FILE as one record (no -k when KEY is -),
# and remember what the DLQ must hold for it.
: >"$WORK/expected"
expect() {
  local reason=$1 topic=$2 file=$3
  if [[ $# -ge 4 && $4 == - ]]; then
    kcat -P -b "$BROKER" -t "$topic" "$file"
  else
    kcat -P -b "$BROKER" -t "$topic" -k "${4-$KEY}" "$file"
  fi
  echo "$reason $topic $(sha256sum <"$file" | cut -c1-64)" >>"$WORK/expected"
}

"$RECUR" produce "$WORK/good1.jsonl" --brokers "$BROKER" 2>"$WORK/produce.log"
expect undecodable shop.sessions "$BAD/undecodable"
expect missing_key shop.purchases "$BAD/nokey" -
expect missing_key shop.purchases "$BAD/emptykey" ''
expect key_mismatch shop.purchases "$BAD/mismatch" "$SHOP/not-$CUST"
expect unknown_kind shop.marketing "$BAD/unknown"
expect invalid_amount shop.purchases "$BAD/negative"
expect invalid_amount shop.purchases "$BAD/nan"
expect invalid_quantity shop.purchases "$BAD/quantity"
expect wrong_topic shop.carts "$BAD/wrongtopic"
expect oversized shop.carts "$BAD/oversized"
# The bot: 30 visits of one new customer within a minute, after the first half.
# The cap (20) is far above any simulated customer's day (checked here).
CAP=20
busiest=$(jq -r '[.customer_id, (.session != null), ((.event_time_ms | tonumber) / 86400000 | floor)] | @tsv' \
  "$WORK/good.jsonl" | sort | uniq -c | sort -n | tail -1 | awk '{print $1}')
[[ $busiest -lt $CAP ]] || fail "a simulated customer has $busiest events of one kind in a day: raise CAP"
for i in $(seq 1 30); do
  printf '{"event_id":"bot-%d","shop_id":"%s","customer_id":"bot-1","event_time_ms":"%d","session":{"minutes":0.1,"pages":1}}\n' \
    "$i" "$SHOP" $((MID_MS + i * 1000))
done >"$WORK/bot.jsonl"
"$RECUR" produce "$WORK/bot.jsonl" --brokers "$BROKER" 2>>"$WORK/produce.log"
# What the DLQ must hold for visits 21..30: their source records, by event id.
kcat -C -b "$BROKER" -t shop.sessions -e -q -f '%p %o %k\n' | awk -v k="$SHOP/bot-1" '$3 == k' \
  | sort -k2,2n | tail -10 >"$WORK/bot.limited"
[[ $(wc -l <"$WORK/bot.limited") -eq 10 ]] || fail "the bot's visits are not on shop.sessions"
while read -r p o _; do
  echo "rate_limited shop.sessions $(kcat -C -b "$BROKER" -t shop.sessions -p "$p" -o "$o" -c 1 -e -q -f '%s' \
    | sha256sum | cut -c1-64)" >>"$WORK/expected"
done <"$WORK/bot.limited"
"$RECUR" produce "$WORK/good2.jsonl" --brokers "$BROKER" 2>>"$WORK/produce.log"
expect too_late shop.purchases "$BAD/toolate"
expect future shop.carts "$BAD/future"
n_bad=$(wc -l <"$WORK/expected")  # DLQ records, the bot's 10 rate_limited visits included
n_read=$((n_good + 30 + n_bad - 10))  # records: the stream, the bot's, the bad ones

"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --max-message-bytes 20000 --batch-size 2000 --exit-when-idle-ms 3000 --stats 1 \
  --max-events-per-day "$CAP" \
  >"$WORK/run.json" 2>"$WORK/run.log" || fail "recur run exited $? on bad input: $(tail -5 "$WORK/run.log")"

# Final stats (the last JSON line of stdout): every record read, dead letters per reason.
stats=$(grep '^{' "$WORK/run.json" | tail -1)
[[ -n $stats ]] || fail "no stats JSON on stdout: $(cat "$WORK/run.json")"
[[ $(jq .events_in <<<"$stats") -eq $n_read ]] \
  || fail "events_in is $(jq .events_in <<<"$stats"), want $n_read: $stats"
want_dlq=$(cut -d' ' -f1 "$WORK/expected" | sort | uniq -c | awk '{printf "%s=%s\n", $2, $1}')
got_dlq=$(jq -r '.dlq | to_entries[] | "\(.key)=\(.value)"' <<<"$stats" | sort)
[[ "$want_dlq" == "$got_dlq" ]] || fail "stats dlq per reason: got [$got_dlq], want [$want_dlq]"
# The periodic lines' DLQ rate (item 3): dead letters per reason in each interval;
# the run idles 3 s (3 lines) after the last one, so the intervals sum to the totals.
got_rate=$(sed -n 's/.* stats //p' "$WORK/run.log" | jq -r '.dlq_interval | to_entries[] | "\(.key) \(.value)"' \
  | awk '{n[$1]+=$2} END{for (r in n) printf "%s=%s\n", r, n[r]}' | sort)
[[ "$want_dlq" == "$got_rate" ]] || fail "stats dlq_interval summed: got [$got_rate], want [$want_dlq]"
sed -n 's/.* stats //p' "$WORK/run.log" | jq -se 'any(.dlq_per_s > 0)' >/dev/null || fail "no stats line with dlq_per_s > 0"

# The DLQ, read back with kcat: one record per bad record, with its reason, the
# source coordinates, and the original bytes (checked against both the file we
# sent and the source record at those coordinates).
kcat -C -b "$BROKER" -t recur.dlq -e -q -f '%p %o %h\n' >"$WORK/dlq.index"
[[ $(wc -l <"$WORK/dlq.index") -eq $n_bad ]] \
  || fail "recur.dlq holds $(wc -l <"$WORK/dlq.index") records, want $n_bad: $(cat "$WORK/dlq.index")"
hdr() { tr ',' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
: >"$WORK/actual"
while read -r p o headers; do
  reason=$(hdr "$headers" recur.error.reason)
  topic=$(hdr "$headers" recur.error.topic)
  sp=$(hdr "$headers" recur.error.partition)
  so=$(hdr "$headers" recur.error.offset)
  [[ -n $reason && -n $topic && $sp =~ ^[0-9]+$ && $so =~ ^[0-9]+$ ]] \
    || fail "DLQ record $p/$o lacks reason/topic/partition/offset headers: $headers"
  kcat -C -b "$BROKER" -t recur.dlq -p "$p" -o "$o" -c 1 -e -q -f '%s' >"$WORK/dlq.value"
  kcat -C -b "$BROKER" -t "$topic" -p "$sp" -o "$so" -c 1 -e -q -f '%s' >"$WORK/src.value"
  cmp -s "$WORK/dlq.value" "$WORK/src.value" \
    || fail "DLQ record $p/$o ($reason): value differs from the source record $topic/$sp/$so"
  echo "$reason $topic $(sha256sum <"$WORK/dlq.value" | cut -c1-64)" >>"$WORK/actual"
done <"$WORK/dlq.index"
if ! diff <(sort "$WORK/expected") <(sort "$WORK/actual") >&2; then
  fail "DLQ records (reason topic sha256 of value) differ from the bad records sent (< sent, > in DLQ)"
fi
# The key travels with the dead letter.
kcat -C -b "$BROKER" -t recur.dlq -e -q -f '%k\n' >"$WORK/dlq-keys.txt"
grep -qx "$SHOP/not-$CUST" "$WORK/dlq-keys.txt" || fail "the key_mismatch record's key is not kept in the DLQ"
log "DLQ: $n_bad records, one per bad record, right reasons, source coordinates and original bytes"

# The reference: the stream and the bot through `recur import` under the same
# cap (the importer rejects the same 10 visits as rate_limited).
AS_OF=$(last_event_day "$WORK/good.jsonl")
features_of "$WORK/state" "$AS_OF" >"$WORK/online.jsonl"
cat "$WORK/good1.jsonl" "$WORK/bot.jsonl" "$WORK/good2.jsonl" >"$WORK/reference.jsonl"
rc=0
"$RECUR" import "$WORK/reference.jsonl" --state-dir "$WORK/offline" --max-events-per-day "$CAP" \
  2>"$WORK/import.log" || rc=$?
grep -q "rejected rate_limited: 10" "$WORK/import.log" || fail "import (exit $rc): $(cat "$WORK/import.log")"
features_of "$WORK/offline" "$AS_OF" >"$WORK/offline.jsonl"
grep -q '/bot-1"' "$WORK/online.jsonl" || fail "the bot's customer is not in the store"
assert_same_features "$WORK/offline.jsonl" "$WORK/online.jsonl"

# A second run starts from the stored offsets: nothing read, nothing dead-lettered twice.
"$RECUR" run --brokers "$BROKER" --state-dir "$WORK/state" --max-message-bytes 20000 --exit-when-idle-ms 2000 \
  >"$WORK/run2.json" 2>>"$WORK/run.log" || fail "second recur run exited $?"
grep -q '"events_in":0' "$WORK/run2.json" || fail "second run consumed again: $(cat "$WORK/run2.json")"
[[ $(topic_count recur.dlq) -eq $n_bad ]] || fail "the DLQ grew on a second run: $(topic_count recur.dlq) records"
echo "PASS bad_input"
