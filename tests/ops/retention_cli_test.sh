#!/usr/bin/env bash
# Issue 16, item 1: retention is a store setting. `recur import --retention-days`
# records it in every partition store when the state dir is created, later
# commands default to it (and refuse another value, naming both), `inspect
# --offsets` reports it, `run` refuses a different one before consuming anything,
# and `train` may use a shorter horizon but never a longer one. With 18 months of
# history a 550-day store gives the trainer earlier month-end cutoffs than the
# default 400 days. No broker (`run` is refused before it would need one).
set -euo pipefail
RECUR="${RECUR:-$(dirname "$0")/../../build/recur}"
RECUR="$(cd "$(dirname "$RECUR")" && pwd)/$(basename "$RECUR")"
WORK="$(mktemp -d /tmp/recur-retention-cli-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$WORK"

# 18 months of history.
"$RECUR" simulate --shops 2 --customers 150 --days 548 --start 2024-07-01 --seed 7 \
  -o events.jsonl 2>/dev/null

"$RECUR" import events.jsonl --state-dir long --partitions 2 --retention-days 550 >/dev/null 2>&1 \
  || fail "import --retention-days 550 failed"
"$RECUR" import events.jsonl --state-dir short --partitions 2 >/dev/null 2>&1 \
  || fail "import with the default retention failed"

# inspect --offsets reports each store's retention (stderr; stdout stays offsets).
"$RECUR" inspect --offsets --state-dir long >offsets.out 2>offsets.err || fail "inspect --offsets"
[[ $(grep -c 'retention_days 550' offsets.err) -eq 2 ]] \
  || fail "inspect --offsets does not report 550 days for both stores: $(cat offsets.err)"
grep -q retention_days offsets.out && fail "the retention went to stdout: $(cat offsets.out)"
# (Into a file: with pipefail, `| grep -q` can fail on inspect's SIGPIPE.)
"$RECUR" inspect --offsets --state-dir short >/dev/null 2>short.err || fail "inspect --offsets short"
grep -q 'retention_days 400' short.err || fail "a default store does not report 400 days: $(cat short.err)"

# The same import again needs no --retention-days: the recorded one is used.
"$RECUR" import events.jsonl --state-dir long >again.out 2>&1 || fail "re-import: $(cat again.out)"
grep -q 'skipped' again.out || fail "re-import: $(cat again.out)"

# Another value than the recorded one is refused, naming both.
if "$RECUR" import events.jsonl --state-dir long --retention-days 400 >bad.out 2>&1; then
  fail "import --retention-days 400 into a 550-day store succeeded"
fi
grep -q 'keeps 550 days' bad.out && grep -q 'retention-days 400' bad.out \
  || fail "the refusal does not name both retentions: $(cat bad.out)"

# `run` refuses it before consuming anything (the embedded broker is never used).
if "$RECUR" run --brokers embedded --state-dir long --retention-days 600 \
  --exit-when-idle-ms 1 >run.out 2>&1; then
  fail "run --retention-days 600 on a 550-day store succeeded"
fi
grep -q 'keeps 550 days' run.out || fail "run's refusal does not name the store's: $(cat run.out)"

# train: longer than the store's is refused; the default uses the store's.
if "$RECUR" train --state-dir long --models-dir models --retention-days 600 >train.out 2>&1; then
  fail "train --retention-days 600 on a 550-day store succeeded"
fi
grep -q 'keeps 550 days' train.out && grep -q 'retention-days 600' train.out \
  || fail "train's refusal does not say why: $(cat train.out)"
first_cutoff() {  # the first month-end cutoff the trainer uses on state dir $1
  "$RECUR" train --state-dir "$1" --models-dir "models-$1" --max-rounds 5 -P nthread=1 2>&1 \
    | sed -n 's/^trainer: [0-9]* cutoffs \([0-9-]*\) .*/\1/p'
}
long_first=$(first_cutoff long)
short_first=$(first_cutoff short)
[[ -n $long_first && -n $short_first ]] || fail "no cutoffs line ($long_first / $short_first)"
[[ $long_first < $short_first ]] \
  || fail "550 days of history do not give earlier cutoffs ($long_first) than 400 ($short_first)"
echo "PASS: retention recorded, reported, defaulted and enforced; cutoffs from $long_first" \
  "(550 days) vs $short_first (400 days)"
