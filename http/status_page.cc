#include "http/status_page.h"

#include <string>

namespace recur {

namespace {

// The page (style and layout), then its script: two literals, one page.
constexpr char kPage[] = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>recur status</title>
<style>
body{font:14px system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 8px} h2{font-size:15px;margin:12px 0 4px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}.tile{border:1px solid #ccc;border-radius:6px;padding:6px 10px;min-width:120px}
.tile b{display:block;font-size:18px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:8px 24px}
svg{width:100%;height:160px;border:1px solid #ddd;background:#fafafa}
.series{fill:none;stroke:#1f77b4;stroke-width:2}.bar{fill:#ff7f0e}.bar.p{fill:#2ca02c}
.bar.psi{fill:#9467bd}.bar.over{fill:#d62728}.threshold{stroke:#d62728;stroke-dasharray:4 3}
text{font-size:11px;fill:#444}#ready.no{color:#b00}#ready.yes{color:#080}
</style></head><body>
<h1>recur <span id="ready">…</span></h1>
<div class="tiles">
<div class="tile">applied<b id="applied">–</b></div><div class="tile">events/s<b id="rate">–</b></div>
<div class="tile">lag (records)<b id="lagnow">–</b></div><div class="tile">partitions<b id="parts">–</b></div>
<div class="tile">scores published<b id="published">–</b></div><div class="tile">models<b id="models">–</b></div>
</div>
<div class="grid">
<div><h2>Events applied per second</h2><svg id="throughput" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Lag (records behind, all partitions)</h2><svg id="lag" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Dead letters by reason</h2><svg id="dlq" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Published scores: risk of decline (90 d)</h2><svg id="scores-risk" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Published scores: repurchase (30 d)</h2><svg id="scores-repurchase" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Drift: risk model (PSI, top 8; line at 0.25)</h2><svg id="drift-risk" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
<div><h2>Drift: repurchase model (PSI, top 8; line at 0.25)</h2><svg id="drift-repurchase" viewBox="0 0 400 160" preserveAspectRatio="none"></svg></div>
</div>
)HTML";

constexpr char kScript[] = R"HTML(<script>
"use strict";
const NS = "http://www.w3.org/2000/svg";
const history = {t: [], applied: [], lag: []};
function parse(text) {
  const m = [];
  for (const line of text.split("\n")) {
    if (!line || line[0] === "#") continue;
    const i = line.lastIndexOf(" ");
    const key = line.slice(0, i), b = key.indexOf("{");
    const labels = {};
    if (b >= 0) {
      const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
      let r;
      while ((r = re.exec(key.slice(b))) !== null) labels[r[1]] = r[2];
    }
    m.push({name: b >= 0 ? key.slice(0, b) : key, labels, value: parseFloat(line.slice(i + 1))});
  }
  return m;
}
const total = (m, name) => m.filter(s => s.name === name).reduce((a, s) => a + s.value, 0);
function el(svg, tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  svg.appendChild(e);
  return e;
}
function line(id, values) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i * 400 / Math.max(1, values.length - 1)).toFixed(1)},${(150 - v * 140 / max).toFixed(1)}`);
  el(svg, "polyline", {class: "series", points: pts.join(" ")});
  el(svg, "text", {x: 4, y: 12}, `max ${Math.round(max)}`);
}
function bars(id, labels, values, cls) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const max = Math.max(1, ...values), w = 400 / Math.max(1, values.length);
  values.forEach((v, i) => {
    const h = v * 130 / max;
    el(svg, "rect", {class: "bar" + (cls ? " " + cls : ""), x: i * w + 2, y: 145 - h, width: w - 4, height: h});
    el(svg, "text", {x: i * w + 2, y: 157}, labels[i]);
  });
  if (!values.length) el(svg, "text", {x: 4, y: 80}, "none");
}
function scoreBins(m, target) {
  const cum = m.filter(s => s.name === "recur_score_probability_bucket" && s.labels.target === target)
               .sort((a, b) => parseFloat(a.labels.le) - parseFloat(b.labels.le)).map(s => s.value);
  return cum.map((c, i) => c - (i ? cum[i - 1] : 0));
}
// The largest population stability indices of a model's inputs and score.
function psiBars(id, m, target) {
  const svg = document.getElementById(id);
  svg.replaceChildren();
  const rows = m.filter(s => s.name === "recur_feature_psi" && s.labels.target === target)
                .map(s => [s.labels.feature, s.value]);
  const score = m.find(s => s.name === "recur_score_psi" && s.labels.target === target);
  if (score) rows.push(["(score)", score.value]);
  rows.sort((a, b) => b[1] - a[1]);
  const top = rows.slice(0, 8);
  if (!top.length) {
    el(svg, "text", {x: 4, y: 80}, "none yet: after a re-scoring pass with models that have a reference");
    return;
  }
  const max = Math.max(0.5, ...top.map(r => r[1])), x0 = 170, w = 400 - x0 - 34;
  top.forEach(([name, v], i) => {
    const y = 4 + i * 19, len = Math.max(1, v * w / max);
    el(svg, "text", {x: 2, y: y + 12}, name);
    el(svg, "rect", {class: "bar psi" + (v > 0.25 ? " over" : ""), x: x0, y, width: len, height: 15});
    el(svg, "text", {x: x0 + len + 3, y: y + 12}, v.toFixed(2));
  });
  const tx = x0 + 0.25 * w / max;
  el(svg, "line", {class: "threshold", x1: tx, x2: tx, y1: 0, y2: 160});
}
const bins = ["0", ".1", ".2", ".3", ".4", ".5", ".6", ".7", ".8", ".9"];
async function refresh() {
  try {
    const m = parse(await (await fetch("/metrics")).text());
    const now = Date.now() / 1000, applied = total(m, "recur_events_applied_total");
    const lag = total(m, "recur_consumer_lag_records");
    const h = history, n = h.t.length;
    const rate = n ? Math.max(0, (applied - h.applied[n - 1]) / Math.max(0.001, now - h.t[n - 1])) : 0;
    h.t.push(now); h.applied.push(applied); h.lag.push(lag);
    if (!h.rates) h.rates = [];
    h.rates.push(rate);
    for (const k of ["t", "applied", "lag", "rates"]) if (h[k].length > 120) h[k].shift();
    document.getElementById("applied").textContent = applied;
    document.getElementById("rate").textContent = Math.round(rate);
    document.getElementById("lagnow").textContent = lag;
    document.getElementById("parts").textContent = total(m, "recur_partitions_assigned");
    document.getElementById("published").textContent = total(m, "recur_scores_published_total");
    const models = m.filter(s => s.name === "recur_model_info").map(s => `${s.labels.target}=${s.labels.version}`);
    document.getElementById("models").textContent = models.length ? models.join(" ") : "none";
    line("throughput", h.rates);
    line("lag", h.lag);
    const dlq = m.filter(s => s.name === "recur_dlq_records_total");
    bars("dlq", dlq.map(s => s.labels.reason), dlq.map(s => s.value));
    bars("scores-risk", bins, scoreBins(m, "activity_decline_90d"));
    bars("scores-repurchase", bins, scoreBins(m, "repurchase_30d"), "p");
    psiBars("drift-risk", m, "activity_decline_90d");
    psiBars("drift-repurchase", m, "repurchase_30d");
    const ready = await fetch("/readyz");
    const r = document.getElementById("ready");
    r.textContent = ready.ok ? "ready" : "not ready: " + (await ready.json()).reasons.join("; ");
    r.className = ready.ok ? "yes" : "no";
  } catch (e) {
    document.getElementById("ready").textContent = "unreachable (" + e + ")";
  }
}
refresh();
setInterval(refresh, 1000);
</script></body></html>
)HTML";

}  // namespace

const char* StatusPageHtml() {
  static const std::string html = std::string(kPage) + kScript;
  return html.c_str();
}

}  // namespace recur
