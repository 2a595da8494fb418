#!/usr/bin/env bash
# docs/QUALITY.md's figures, run by hand (not in CI): a simulated store, both
# targets trained with the time split and --export, then recur's test figures
# next to scikit-learn's LogisticRegression and Python XGBoost fitted on the
# exported training set (tests/quality/compare.py). Needs Debian's
# python3-pandas, python3-sklearn and python3-xgboost.
#   tests/quality/quality.sh [RECUR] > quality.md
set -euo pipefail
RECUR="${1:-$(dirname "$0")/../../build/recur}"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d /tmp/recur-quality-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
SHOPS=${SHOPS:-2} CUSTOMERS=${CUSTOMERS:-4000} DAYS=${DAYS:-540} SEED=${SEED:-5}
echo "recur simulate --shops $SHOPS --customers $CUSTOMERS --days $DAYS --seed $SEED; import --retention-days 550"
"$RECUR" simulate --shops "$SHOPS" --customers "$CUSTOMERS" --days "$DAYS" --seed "$SEED" -o "$WORK/events.jsonl" 2>/dev/null
"$RECUR" import "$WORK/events.jsonl" --state-dir "$WORK/state" --retention-days 550 >/dev/null 2>&1
for target in repurchase_30d activity_decline_90d; do
  "$RECUR" train --state-dir "$WORK/state" --models-dir "$WORK/models" --target "$target" \
    --export "$WORK/$target" >"$WORK/$target.out" 2>"$WORK/$target.err"
  echo
  grep -E "ROC-AUC|per-cutoff|test cutoffs" "$WORK/$target.out" | sed 's/^/    /'
  meta=$(sed -n 's/^report: \(.*\)\/report.html$/\1\/meta.json/p' "$WORK/$target.out")
  echo
  /usr/bin/python3 "$HERE/compare.py" "$WORK/$target/training_set.csv" "$meta"
done
