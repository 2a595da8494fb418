#!/usr/bin/env bash
# The trainer's report.html opens in headless Chromium (Debian's package) and
# shows its charts: the DOM Chromium renders holds the ROC curve, the calibration
# points and the score histogram, and a screenshot is produced. No network.
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
[[ $(grep -o '<rect' "$WORK/dom.html" | wc -l) -eq 20 ]] || fail "score histogram should have 20 bars"
grep -q 'ROC-AUC' "$WORK/dom.html" || fail "metrics table missing"
timeout 120 "${CHROME[@]}" --window-size=1000,1600 --screenshot="$WORK/report.png" "file://$report" 2>>"$WORK/chrome.log" \
  || fail "no screenshot"
[[ $(stat -c %s "$WORK/report.png") -gt 10000 ]] || fail "screenshot too small to hold charts"
echo "PASS report renders in Chromium"
