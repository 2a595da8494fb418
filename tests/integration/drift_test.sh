#!/usr/bin/env bash
# Drift: the simulator shifts one feature after the models were trained, and
# recur's population stability index (PSI) shows that feature, and only it,
# crossing the alert threshold (0.25, ops/monitoring/rules.yml RecurFeatureDrift).
#
# Two streams from the same seed: "control", and "shifted", in which every
# session from 2025-10-01 on lasts three times as long (--minutes-factor 3: only
# those values change, every random draw stays). The models are trained on the
# control history (repurchase at 2025-09-28; decline at 2025-07-28, its 90-day
# label needs the room) and promoted into the models dir of a `recur run` that
# has ingested the shifted stream from a real broker: the hot reload's re-scoring
# pass (as of 2025-10-29) is the live population. Then:
#   - /metrics: repurchase_30d's minutes_month0 PSI > 0.25;
#   - the control population against the same models: minutes_month0 stable (< 0.1),
#     and every other feature's PSI identical to the shifted run's (the shift
#     touched nothing else);
#   - every other feature below 0.25, except days_since_first_purchase: the
#     calendar moves it, not the shift (a training row at a cutoff 31 days
#     before the snapshot's end sees 31 days less history under the store's
#     400-day horizon than a live row: a true train/serve difference that PSI
#     exposes; docs/DESIGN.md "Drift");
#   - `recur inspect --drift` on the stopped run's state computes the same PSIs
#     as the pipeline's pass, over rows it selects by its own scan
#     (ops/drift_report.cc);
#   - the status page draws minutes_month0 as a bar over the threshold.
# Dates and seed are chosen so that the calendar alone moves no other feature:
# reference and live both on day 28 of a month (four whole weeks in month 0),
# and a seed whose shops send their weekly campaign on days that fall equally
# often in both six-month windows (marketing_sent_6m_avg).
source "$(dirname "$0")/lib.sh"
start_broker 19780
create_input_topics 2
HTTP=127.0.0.1:19784
SIM=(--shops 3 --customers 1000 --start 2024-01-01 --days 668 --seed 11)
"$RECUR" simulate "${SIM[@]}" -o "$WORK/control.jsonl" 2>/dev/null
"$RECUR" simulate "${SIM[@]}" --minutes-factor 3 --shift-from 2025-10-01 -o "$WORK/shifted.jsonl" 2>/dev/null
events=$(wc -l <"$WORK/shifted.jsonl")
"$RECUR" import "$WORK/control.jsonl" --state-dir "$WORK/control" --partitions 2 >/dev/null 2>&1 \
  || fail "import of the control stream"
mkdir -p "$WORK/models"
start_http_run "$HTTP" "$WORK/models"
"$RECUR" produce "$WORK/shifted.jsonl" --brokers "$BROKER" 2>/dev/null
metrics() { curl -sf "http://$HTTP/metrics" >"$WORK/metrics.txt" && cat "$WORK/metrics.txt"; }
applied() { metrics | awk '$1 ~ /^recur_events_applied_total\{/ {n += $2} END {print n + 0}'; }
until [[ "$(applied)" == "$events" ]]; do
  kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
  sleep 0.5
done
log "ingested $events shifted events without models; training on the control history"

"$RECUR" train --state-dir "$WORK/control" --models-dir "$WORK/models" --target repurchase_30d \
  --cutoff 2025-09-28 >"$WORK/train-p.log" 2>&1 || fail "train repurchase: $(tail -3 "$WORK/train-p.log")"
"$RECUR" train --state-dir "$WORK/control" --models-dir "$WORK/models" --target activity_decline_90d \
  --cutoff 2025-07-28 >"$WORK/train-r.log" 2>&1 || fail "train decline: $(tail -3 "$WORK/train-r.log")"
# (grep reads the saved answer: `curl | grep -q` fails under pipefail when grep stops early)
# The reload re-scores each of the 2 partitions in a pass of its own, one after
# the other: the figures cover the whole population once both passes are done.
passes() { awk '$1 == "recur_rescoring_passes_total" {print $2 + 0}' "$WORK/metrics.txt"; }
until metrics >/dev/null && grep -q '^recur_drift_customers{target="repurchase_30d"}' "$WORK/metrics.txt" \
  && [[ $(passes) -ge 2 ]]; do
  kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
  sleep 0.5
done
log "the models' re-scoring pass reported drift: $(grep '^recur_drift_customers' "$WORK/metrics.txt" | tr '\n' ' ')"

# The page, rendered while the figures are there.
timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$WORK/profile" --virtual-time-budget=4000 \
  --dump-dom "http://$HTTP/" >"$WORK/dom.html" 2>"$WORK/chrome.log" || fail "chromium: $(tail -3 "$WORK/chrome.log")"
kill -TERM "$RUN_PID"
wait "$RUN_PID" || fail "recur run did not stop cleanly: $(tail -5 "$WORK/run.log")"

"$RECUR" inspect --drift --json --state-dir "$WORK/state" --models-dir "$WORK/models" >"$WORK/drift-live.json" \
  || fail "inspect --drift on the run's state"
"$RECUR" inspect --drift --json --state-dir "$WORK/control" --models-dir "$WORK/models" >"$WORK/drift-control.json" \
  || fail "inspect --drift on the control state"
"$RECUR" inspect --drift --state-dir "$WORK/state" --models-dir "$WORK/models" >"$WORK/drift-live.txt"
python3 - "$WORK" <<'PY' || fail "drift figures (work dir: $WORK)"
import json, re, sys
work = sys.argv[1]
metrics = {}
for line in open(work + "/metrics.txt"):
    m = re.match(r'recur_feature_psi\{target="([^"]+)",feature="([^"]+)"\} (\S+)$', line)
    if m:
        metrics[(m.group(1), m.group(2))] = float(m.group(3))
live = {r["target"]: r for r in json.load(open(work + "/drift-live.json"))}
control = {r["target"]: r for r in json.load(open(work + "/drift-control.json"))}
T, SHIFTED, CALENDAR = "repurchase_30d", "minutes_month0", "days_since_first_purchase"
features = live[T]["features"]
assert len(features) > 30, features
# The pipeline's pass and inspect's own computation agree, for both models.
for (target, f), psi in metrics.items():
    want = live[target]["features"][f]
    assert abs(psi - want) < 1e-9, (target, f, psi, want)
assert len(metrics) == sum(len(r["features"]) for r in live.values()), "a feature without a metric"
print("repurchase_30d, PSI shifted / control:")
for f in sorted(features, key=lambda f: -features[f]):
    print("  %-26s %7.4f %7.4f" % (f, features[f], control[T]["features"][f]))
assert metrics[(T, SHIFTED)] > 0.25, "the shifted feature did not cross the threshold"
assert control[T]["features"][SHIFTED] < 0.1, "minutes_month0 drifted without the shift"
for f, psi in features.items():
    if f == SHIFTED:
        continue
    assert abs(psi - control[T]["features"][f]) < 1e-12, (f, psi, "the shift moved another feature")
    assert f == CALENDAR or psi < 0.25, (f, psi, "above the threshold without a shift")
print("score PSI shifted %.4f, control %.4f" % (live[T]["score_psi"], control[T]["score_psi"]))
PY
grep -q "minutes_month0 .* shifted" "$WORK/drift-live.txt" || fail "inspect --drift's table does not say shifted"
python3 - "$WORK/dom.html" <<'PY' || fail "the status page does not draw the drift (DOM: $WORK/dom.html)"
import re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<svg id="drift-repurchase"[^>]*>(.*?)</svg>', dom, re.S)
assert m, "no drift-repurchase chart"
svg = m.group(1)
names = re.findall(r'<text[^>]*>([a-z_0-9()]+)</text>', svg)
bars = re.findall(r'<rect class="([^"]*)"', svg)
assert "minutes_month0" in names and len(bars) == len(names), (names, bars)
assert "over" in bars[names.index("minutes_month0")].split(), (names, bars)
assert re.search(r'<line class="threshold"', svg), "no threshold line"
print("status page: drift bars", names)
PY
log "OK"
