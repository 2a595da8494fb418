#!/usr/bin/env bash
# Trainer benchmark (issue 5): time and peak memory of `recur train` — building
# the point-in-time training set and training — for both targets over 12 monthly
# cutoffs on a store of 1,000,000 customers.
#   nice -n 10 tests/bench/trainer_bench.sh                       # full size
#   CUSTOMERS=1500 MAX_ROUNDS=20 tests/bench/trainer_bench.sh     # smoke size (ctest -L bench)
#   STATE=/path/to/state tests/bench/trainer_bench.sh             # reuse a store built before
# The store: 3 shops of simulated events over DAYS days from START, applied
# straight through FeatureStore (trainer_bench_store: no JSON, no Kafka) with a
# horizon of DAYS days, so 12 cutoffs of the 90-day decline label fit. Each
# `recur train` runs under /usr/bin/time -v; one summary line per step.
set -euo pipefail
BUILD="$(cd "$(dirname "$0")/../.." && pwd)/build"
RECUR="${RECUR:-$BUILD/recur}"
STORE_BIN="${STORE_BIN:-$BUILD/tests/bench/trainer_bench_store}"
CUSTOMERS=${CUSTOMERS:-1000000}
DAYS=${DAYS:-540}
START=${START:-2024-01-01}
CUTOFFS=${CUTOFFS:-12}
MAX_ROUNDS=${MAX_ROUNDS:-300}
PARTITIONS=${PARTITIONS:-4}
WORK="$(mktemp -d /tmp/recur-trainer-bench-XXXXXX)"
KEEP=${KEEP:-0}
cleanup() { [[ "$KEEP" == 1 ]] && echo "kept $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# /usr/bin/time -v fields: wall clock as [h:]mm:ss.ss -> seconds; peak RSS in KB.
wall_s() { sed -n 's/.*Elapsed (wall clock) time.*: //p' "$1" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }'; }
rss_kb() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.0f", s }' "$1"; }

if [[ -z "${STATE:-}" ]]; then
  STATE="$WORK/state"
  per_shop=$(( (CUSTOMERS + 2) / 3 ))
  /usr/bin/time -v -o "$WORK/store.time" "$STORE_BIN" --out "$STATE" --shops 3 --customers-per-shop "$per_shop" \
    --days "$DAYS" --start "$START" --retention-days "$DAYS" --partitions "$PARTITIONS" >"$WORK/store.out" \
    2>"$WORK/store.err" || fail "store build: $(tail -3 "$WORK/store.err")"
  echo "trainer_bench: $(cat "$WORK/store.out") wall_s=$(wall_s "$WORK/store.time") cpu_s=$(cpu_s "$WORK/store.time") peak_rss_kb=$(rss_kb "$WORK/store.time") disk=$(du -sh "$STATE" | cut -f1)"
fi

for target in repurchase_30d activity_decline_90d; do
  /usr/bin/time -v -o "$WORK/$target.time" "$RECUR" train --state-dir "$STATE" --models-dir "$WORK/models" \
    --target "$target" --cutoffs "$CUTOFFS" --retention-days "$DAYS" --max-rounds "$MAX_ROUNDS" \
    >"$WORK/$target.out" 2>"$WORK/$target.err" || fail "train $target: $(tail -3 "$WORK/$target.err")"
  meta="$(sed -n 's/^report: //p' "$WORK/$target.out" | xargs dirname)/meta.json"
  [[ -f "$meta" ]] || fail "train $target: no meta.json ($(cat "$WORK/$target.out"))"
  cutoffs=$(tr -d ' \n' <"$meta" | grep -o '"cutoffs":\[[^]]*\]' | grep -o '"[0-9-]*"' | wc -l)
  [[ "$cutoffs" == "$CUTOFFS" ]] || fail "train $target used $cutoffs cutoffs, not $CUTOFFS"
  set_line=$(grep '^training set: .* in ' "$WORK/$target.err" | tail -1)
  phases=$(sed -n 's/^trainer: training set \(.*\), training and evaluation \(.*\)$/set=\1 training=\2/p' "$WORK/$target.err")
  fit_line=$(grep -E '^training: .* rounds in ' "$WORK/$target.err" | tail -1)
  echo "trainer_bench: target=$target cutoffs=$cutoffs wall_s=$(wall_s "$WORK/$target.time") cpu_s=$(cpu_s "$WORK/$target.time") peak_rss_kb=$(rss_kb "$WORK/$target.time") $phases"
  echo "  $set_line"
  echo "  $fit_line"
  echo "  $(head -1 "$WORK/$target.out")"
done
