#!/usr/bin/env bash
# The status page (GET / of `recur run --http`) rendered by headless Chromium
# while recur ingests and scores from a real broker: its script reads /metrics
# and draws SVG charts — events applied per second and lag (polylines of
# several points), dead letters by reason (one bar per reason), the published
# scores' distribution per target (ten bins, not all empty). A screenshot must
# show the charts: its pixels are decoded here (tests/integration/png_stats.py)
# and must not be one blank page.
source "$(dirname "$0")/lib.sh"
start_broker 19770
create_input_topics 2
HTTP=127.0.0.1:19774
BIN="$(dirname "$RECUR")/tests"
"$BIN/scorer/make_test_models" "$WORK/models" 1 || fail "models"
"$RECUR" simulate --shops 1 --customers 300 --days 60 --seed 8 -o "$WORK/events.jsonl" 2>/dev/null
start_http_run "$HTTP" "$WORK/models"
"$RECUR" produce "$WORK/events.jsonl" --brokers "$BROKER" 2>/dev/null
printf 'garbage' | kcat -P -b "$BROKER" -t shop.sessions -k "shop-1/c-000001"
printf 'nokey' | kcat -P -b "$BROKER" -t shop.carts
metric() { curl -s "http://$HTTP/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
until [[ "$(metric recur_scores_published_total)" =~ ^[1-9] ]] && curl -sf "http://$HTTP/readyz" >/dev/null; do
  kill -0 "$RUN_PID" 2>/dev/null || fail "recur run exited: $(tail -5 "$WORK/run.log")"
  sleep 0.5
done
log "scored: $(metric recur_scores_published_total) scores published"
loaded=$(metric recur_model_loaded_timestamp_seconds)
[[ -n "$loaded" && "$loaded" -le $(date +%s) && "$loaded" -ge $(($(date +%s) - 600)) ]] \
  || fail "recur_model_loaded_timestamp_seconds is '$loaded', not the time the models were loaded"
# Whole answers go to files before grep: `curl | grep -q` fails under pipefail
# when grep exits on the first match while curl is still writing.
curl -s "http://$HTTP/metrics" >"$WORK/metrics.txt"
grep -q '^recur_model_info{target="risk",version="r1"} 1$' "$WORK/metrics.txt" \
  || fail "no recur_model_info for the risk model r1"

curl -sf "http://$HTTP/" >"$WORK/index.html" || fail "GET / failed"
grep -q '<svg id="throughput"' "$WORK/index.html" || fail "GET / is not the status page"
CHROME=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
        --disable-background-networking --disable-component-update --disable-sync
        --user-data-dir="$WORK/profile" --virtual-time-budget=6000)
timeout 120 "${CHROME[@]}" --dump-dom "http://$HTTP/" >"$WORK/dom.html" 2>"$WORK/chrome.log" \
  || fail "chromium could not render the page: $(tail -3 "$WORK/chrome.log")"
python3 - "$WORK/dom.html" <<'PY' || fail "the rendered status page lacks its charts (DOM: $WORK/dom.html)"
import re, sys
dom = open(sys.argv[1]).read()
def svg(name):
    m = re.search(r'<svg id="%s"[^>]*>(.*?)</svg>' % name, dom, re.S)
    assert m, "no svg " + name
    return m.group(1)
for name in ("throughput", "lag"):
    pts = re.search(r'<polyline class="series" points="([^"]*)"', svg(name))
    assert pts and len(pts.group(1).split()) >= 3, name + ": fewer than 3 points drawn"
dlq = re.findall(r'<text[^>]*>([a-z_]+)</text>', svg("dlq"))
assert {"undecodable", "missing_key"} <= set(dlq), "dlq bars: %s" % dlq
for name in ("scores-risk", "scores-repurchase"):
    heights = [float(h) for h in re.findall(r'<rect class="bar[^"]*"[^>]*height="([0-9.]+)"', svg(name))]
    assert len(heights) == 10 and max(heights) > 0, name + ": bars %s" % heights
assert re.search(r'<span id="ready" class="yes">ready</span>', dom), "readiness not shown"
print("DOM ok: polylines, dlq bars %s, score bins" % sorted(set(dlq)))
PY
timeout 120 "${CHROME[@]}" --window-size=1200,1000 --screenshot="$WORK/status.png" "http://$HTTP/" \
  2>>"$WORK/chrome.log" || fail "no screenshot"
python3 "$ROOT/tests/integration/png_stats.py" "$WORK/status.png" >"$WORK/png.txt" || fail "png: $(cat "$WORK/png.txt")"
read -r inked colors <"$WORK/png.txt"
[[ -z "${SHOT_OUT:-}" ]] || cp "$WORK/status.png" "$SHOT_OUT"  # to look at it
log "screenshot: $inked of its pixels not white, $colors distinct colours"
# Charts drawn: blue lines, orange and green bars beside black text.
python3 -c "import sys; sys.exit(0 if float('$inked') > 0.03 and int('$colors') >= 8 else 1)" \
  || fail "the screenshot looks blank ($inked inked, $colors colours)"
kill -TERM "$RUN_PID"
wait "$RUN_PID" || fail "recur run did not stop cleanly: $(tail -5 "$WORK/run.log")"
log "OK"
