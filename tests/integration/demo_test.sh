#!/usr/bin/env bash
# The newcomer's path: `ops/quickstart` (set-up, build, `recur demo` on the
# embedded broker) at a smaller size, end to end. Checks its output: every shop
# has scored customers and a top-10 with segments/reasons, both models' ROC-AUC
# is printed, their report.html files exist, the models were picked up by the
# running pipeline, `recur inspect` shows a stored score, and every score
# passes the online/offline parity check.
source "$(dirname "$0")/lib.sh"
OUT="$WORK/quickstart.out"
"$ROOT/ops/quickstart" --shops 3 --customers 1500 --days 420 --dir "$WORK/demo" >"$OUT" 2>"$WORK/quickstart.err" \
  || fail "quickstart failed: $(tail -5 "$WORK/quickstart.err")"
cat "$OUT" >&2
for shop in shop-1 shop-2 shop-3; do
  grep -Eq "^$shop \(1[0-9]{3} customers scored\)" "$OUT" || fail "$shop: no scored customers"
done
[[ $(grep -Ec '^  10 +c-[0-9]{6} ' "$OUT") -eq 3 ]] || fail "not a top-10 for every shop"
# The snapshot the models were trained on holds every published event (its
# offsets add up to the count), not what the write-back cache had flushed so far.
published=$(sed -nE 's/^3\. simulated and published ([0-9]+) events.*/\1/p' "$OUT")
in_snapshot=$("$RECUR" inspect --offsets --state-dir "$WORK/demo/snapshot" | awk '{s += $4} END {print s}')
[[ -n "$published" && "$in_snapshot" == "$published" ]] \
  || fail "the snapshot holds $in_snapshot of $published published events"
grep -q "picked up risk=.* repurchase=.* without a restart" "$OUT" || fail "models not picked up by the running pipeline"
for target in activity_decline_90d repurchase_30d; do
  line=$(grep -E "^  $target +[0-9]{8}-[0-9a-f]+ +ROC-AUC 0\.[0-9]{3}" "$OUT") || fail "$target: no ROC-AUC line"
  auc=$(sed -E 's/.*ROC-AUC (0\.[0-9]+).*/\1/' <<<"$line")
  awk -v a="$auc" 'BEGIN{exit !(a > 0.6)}' || fail "$target: ROC-AUC $auc"
  report=$(grep -A1 -E "^  $target " "$OUT" | sed -n 's/.*report: //p')
  [[ -s "$report" ]] || fail "$target: report $report missing"
  grep -q "<svg" "$report" || fail "$target: report without charts"
done
customer=$(grep -Eo '^  1 +c-[0-9]{6}' "$OUT" | head -1 | awk '{print $2}')
"$RECUR" inspect "shop-1/$customer" --state-dir "$WORK/demo/state" >"$WORK/inspect.txt" || fail "inspect"
grep -q "^last score (as of" "$WORK/inspect.txt" || fail "inspect shows no last score: $(cat "$WORK/inspect.txt")"
"$RECUR" inspect "shop-1/$customer" --state-dir "$WORK/demo/state" --json | python3 -c '
import json,sys; j=json.load(sys.stdin); s=j["last_score"]
assert 0 <= s["risk_decline_90d"] <= 1 and s["risk_model_version"], s' || fail "inspect --json"
# Online/offline parity of the pipeline's own scores: every customer's last
# score recomputed with the trainer's code from the demo's store.
"$RECUR" train --check-parity --state-dir "$WORK/demo/state" --models-dir "$WORK/demo/models" >"$WORK/parity.txt" \
  || fail "parity: $(cat "$WORK/parity.txt")"
grep -q "^parity: 4500 customers, 4500 with a delivered score checked" "$WORK/parity.txt" || fail "parity: $(head -3 "$WORK/parity.txt")"
# A registry whose risk model file was replaced under the same version: every
# risk probability differs, listed by customer, exit code 4.
cp -r "$WORK/demo/models" "$WORK/models-swapped"
risk="$WORK/models-swapped/activity_decline_90d/$(cat "$WORK/models-swapped/activity_decline_90d/CURRENT")"
cp "$WORK/models-swapped/repurchase_30d/$(cat "$WORK/models-swapped/repurchase_30d/CURRENT")/model.json" "$risk/model.json"
rc=0
"$RECUR" train --check-parity --state-dir "$WORK/demo/state" --models-dir "$WORK/models-swapped" --show 2 \
  >"$WORK/parity-bad.txt" 2>/dev/null || rc=$?
[[ $rc -eq 4 ]] || fail "parity with a swapped model file: exit $rc: $(cat "$WORK/parity-bad.txt")"
grep -Eq "^  shop-[0-9]/c-[0-9]{6} as of .*: score risk_decline_90d: online " "$WORK/parity-bad.txt" \
  || fail "parity does not name the customer and field: $(cat "$WORK/parity-bad.txt")"
grep -Eq "^[0-9]+ differences in [0-9]+ customers" "$WORK/parity-bad.txt" || fail "no parity summary"
log "PASS demo"
