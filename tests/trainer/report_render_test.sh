#!/usr/bin/env bash
# The trainer's report.html opens in headless Chromium (Debian's package) and
# shows its charts: the DOM Chromium renders holds the ROC and precision-recall
# curves (model and baseline, named axes), the promotion decision, the
# calibration points, the score histogram, the per-shop table and the
# feature-importance bars, and a screenshot is produced. No network.
set -euo pipefail
RECUR="${RECUR:-$(dirname "$0")/../../build/recur}"
WORK="$(mktemp -d /tmp/recur-report-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$RECUR" simulate --shops 2 --customers 400 --days 300 --seed 3 -o "$WORK/events.jsonl"
"$RECUR" import "$WORK/events.jsonl" --state-dir "$WORK/state" >/dev/null 2>&1
"$RECUR" train --state-dir "$WORK/state" --models-dir "$WORK/models" --max-rounds 40 >"$WORK/train.out" 2>/dev/null
report=$(sed -n 's/^report: //p' "$WORK/train.out")
[[ -f "$report" ]] || fail "no report: $(cat "$WORK/train.out")"

CHROME=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$WORK/profile")
timeout 120 "${CHROME[@]}" --dump-dom "file://$report" >"$WORK/dom.html" 2>"$WORK/chrome.log" \
  || fail "chromium could not render the report: $(tail -3 "$WORK/chrome.log")"
grep -q '<svg id="roc"' "$WORK/dom.html" || fail "rendered DOM has no ROC chart"
grep -q '<polyline' "$WORK/dom.html" || fail "ROC curve missing"
[[ $(grep -o '<circle' "$WORK/dom.html" | wc -l) -ge 3 ]] || fail "calibration points missing"
[[ $(grep -o '<rect class="bin"' "$WORK/dom.html" | wc -l) -eq 20 ]] || fail "score histogram should have 20 bars"
grep -q 'ROC-AUC' "$WORK/dom.html" || fail "metrics table missing"
grep -q '<svg id="pr"' "$WORK/dom.html" || fail "rendered DOM has no precision-recall chart"
[[ $(grep -o '<polyline class="model"' "$WORK/dom.html" | wc -l) -eq 2 ]] || fail "ROC and PR curves of the model should be two polylines"
[[ $(grep -o '<polyline class="baseline"' "$WORK/dom.html" | wc -l) -eq 2 ]] || fail "the baseline's ROC and PR curves are missing"
grep -q '>false positive rate</text>' "$WORK/dom.html" || fail "the ROC chart's axes are not named"
grep -q '<p id="promotion">Promoted to CURRENT: ' "$WORK/dom.html" || fail "the promotion decision is missing"
# Per shop: the simulation has two shops.
[[ $(grep -o '<tr class="shop">' "$WORK/dom.html" | wc -l) -eq 2 ]] || fail "per-shop table should have 2 shops"
# Feature importance: one bar per feature shown, each labelled with a catalog
# feature name, and as many bars as meta.json lists features with gain (max 20).
grep -q '<svg id="importance"' "$WORK/dom.html" || fail "rendered DOM has no feature-importance chart"
bars=$(grep -o '<rect class="imp"' "$WORK/dom.html" | wc -l)
listed=$(grep -c '"feature": ' "$(dirname "$report")/meta.json")
[[ $bars -ge 5 ]] || fail "feature importance shows $bars bars"
[[ $bars -eq $(( listed < 20 ? listed : 20 )) ]] || fail "importance bars ($bars) differ from meta.json's features ($listed)"
first=$(grep -m1 -o '"feature": "[a-z0-9_]*"' "$(dirname "$report")/meta.json" | cut -d'"' -f4)
grep -q "<svg id=\"importance\"[^>]*><text [^>]*>$first</text>" "$WORK/dom.html" \
  || fail "the first importance bar is not labelled '$first' (meta.json's most important feature)"
# The bars have a rendered size: Chromium lays them out (width > 0 in the DOM).
grep -o '<rect class="imp"[^>]*width="[0-9.]*"' "$WORK/dom.html" | grep -qv 'width="0"' || fail "importance bars have no width"
timeout 120 "${CHROME[@]}" --window-size=1000,1600 --screenshot="$WORK/report.png" "file://$report" 2>>"$WORK/chrome.log" \
  || fail "no screenshot"
[[ $(stat -c %s "$WORK/report.png") -gt 10000 ]] || fail "screenshot too small to hold charts"
echo "PASS report renders in Chromium"
