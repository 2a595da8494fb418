#include "trainer/report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "featurestore/catalog.h"

namespace recur {

namespace {

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&#39;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Cell(double v, int decimals = 3) {
  return std::isnan(v) ? std::string("–") : absl::StrFormat("%.*f", decimals, v);
}

}  // namespace

std::vector<int> ImportanceOrder(const std::vector<float>& importance) {
  std::vector<int> order;
  for (int i = 0; i < static_cast<int>(importance.size()); ++i) {
    if (importance[i] > 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return importance[a] > importance[b]; });
  return order;
}

namespace {

// The report's sections, in page order; each appends to `h`.
void WriteSummary(std::ostringstream& h, const TrainResult& r, Target target) {
  h << "<!doctype html><html><head><meta charset='utf-8'><title>recur model " << r.version
    << "</title>"
    << "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
    << "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid "
       "#ddd}td:first-child{white-space:nowrap}</style></head><body>"
    << "<h1>" << TargetName(target) << " model " << r.version << "</h1>"
    << "<p>How to read this: the model ranks customers; ROC-AUC is the chance that a random "
       "customer with the outcome "
    << "gets a higher score than one without (0.5 = guessing, 1 = perfect). Lift in the top decile "
       "says how many times "
    << "more often the outcome happens among the 10% highest scores than on average. The baseline "
       "is what a simple rule "
    << "(" << r.baseline_name << ") achieves on the same customers.</p>";
  h << "<table><tr><th></th><th>model</th><th>baseline</th></tr>";
  auto row = [&](const char* name, double a, double b) {
    h << absl::StrFormat("<tr><td>%s</td><td>%s</td><td>%s</td></tr>", name, Cell(a), Cell(b));
  };
  row("ROC-AUC", r.model.roc_auc, r.baseline.roc_auc);
  row("PR-AUC", r.model.pr_auc, r.baseline.pr_auc);
  row("lift, top decile", r.model.lift_top_decile, r.baseline.lift_top_decile);
  row("log-loss (lower is better)", r.model.log_loss, NAN);
  row(absl::StrFormat("precision at score ≥ %.2f", r.model.threshold).c_str(), r.model.precision,
      r.baseline.precision);
  row(absl::StrFormat("recall at score ≥ %.2f", r.model.threshold).c_str(), r.model.recall,
      r.baseline.recall);
  h << "</table><p id='promotion'>" << (r.promoted ? "Promoted to CURRENT: " : "Not promoted: ")
    << Escape(r.promotion_note) << "</p><p>";
  if (r.split == "time") {
    h << "Judged on the " << r.valid_rows << " customer-cutoffs of the last " << r.parts.size()
      << " cutoff(s), which the model never saw: it trained on " << r.train_rows
      << " customer-cutoffs before " << r.early_stop_cutoff << ", and the " << r.early_stop_rows
      << " of " << r.early_stop_cutoff << " only chose its number of rounds (early stopping)";
  } else {
    h << "Judged " << r.split << " out of fold: each of the " << r.valid_rows
      << " customers is scored by a model that did not train on them, its number of rounds chosen "
         "on a share of its own training folds; the registered model then trained on all "
      << r.train_rows << " with the folds' median number of rounds";
  }
  h << ". Rounds: " << r.rounds << ", outcome rate: " << absl::StrFormat("%.3f", r.model.base_rate)
    << ". Precision: of the customers scored at or above the threshold, the share with the "
       "outcome; recall: of the "
       "customers with the outcome, the share scored at or above it. The baseline's scores are not "
       "probabilities, "
       "so its precision and recall at the same threshold are only indicative.</p>";
}

// Per test cutoff (time split) or per fold, then the spread of the folds.
void WriteParts(std::ostringstream& h, const TrainResult& r) {
  if (r.parts.empty()) return;
  const bool time = r.split == "time";
  h << "<h2>" << (time ? "Per test cutoff" : "Per fold") << "</h2><table id='by-part'><tr><th>"
    << (time ? "cutoff" : "fold")
    << "</th><th>customers</th><th>outcome rate</th><th>ROC-AUC model / baseline</th>"
       "<th>PR-AUC model / baseline</th></tr>";
  for (const PartMetrics& p : r.parts) {
    h << "<tr class='part'><td>" << Escape(p.part) << "</td><td>" << p.model.rows << "</td><td>"
      << absl::StrFormat("%.3f", p.model.base_rate) << "</td><td>" << Cell(p.model.roc_auc) << " / "
      << Cell(p.baseline.roc_auc) << "</td><td>" << Cell(p.model.pr_auc) << " / "
      << Cell(p.baseline.pr_auc) << "</td></tr>";
  }
  h << "</table><p>" << (time ? "Pooled over the test cutoffs" : "Pooled out of fold")
    << ": ROC-AUC " << Cell(r.model.roc_auc);
  if (!time) {
    h << "; per fold " << Cell(r.fold_roc_auc_mean) << " ± " << Cell(r.fold_roc_auc_sd)
      << " (mean ± sd); rounds per fold";
    for (int n : r.fold_rounds) h << " " << n;
  }
  h << ".</p>";
}

void WritePerShop(std::ostringstream& h, const TrainResult& r) {
  // Per shop.
  h << "<h2>Per shop</h2><table id='by-shop'><tr><th>shop</th><th>customers</th><th>outcome "
       "rate</th>"
       "<th>ROC-AUC model / baseline</th><th>PR-AUC model / baseline</th><th>lift top "
       "decile</th><th>log-loss</th>"
       "<th>precision</th><th>recall</th></tr>";
  for (const auto& [shop, m] : r.by_shop) {
    h << "<tr class='shop'><td>" << Escape(shop) << "</td><td>" << m.model.rows << "</td><td>"
      << absl::StrFormat("%.3f", m.model.base_rate) << "</td><td>" << Cell(m.model.roc_auc) << " / "
      << Cell(m.baseline.roc_auc) << "</td><td>" << Cell(m.model.pr_auc) << " / "
      << Cell(m.baseline.pr_auc) << "</td><td>" << Cell(m.model.lift_top_decile, 2) << "</td><td>"
      << Cell(m.model.log_loss) << "</td><td>" << Cell(m.model.precision) << "</td><td>"
      << Cell(m.model.recall) << "</td></tr>";
  }
  h << "</table>";
}

// A chart whose data area is the unit square with y up (the caller draws in
// a <g> flipped for it), framed by ticks at 0, 0.5 and 1 on both axes
// (`y_ticks` relabels the y ones) and the axes' names. CloseChart ends it.
void OpenChart(std::ostringstream& h, const char* id, const char* x_name, const char* y_name,
               const std::vector<std::string>& y_ticks = {"0", "0.5", "1"}) {
  h << "<svg id='" << id
    << "' width='360' height='360' viewBox='-0.22 -0.05 1.3 1.3' "
       "style='border:1px solid #999'>"
       "<rect x='0' y='0' width='1' height='1' fill='none' stroke='#999' stroke-width='0.004'/>";
  const char* x_ticks[] = {"0", "0.5", "1"};
  for (int i = 0; i < 3; ++i) {
    h << absl::StrFormat(
        "<text class='tick' x='%.1f' y='1.06' font-size='0.045' text-anchor='middle'>%s</text>"
        "<text class='tick' x='-0.02' y='%.3f' font-size='0.045' text-anchor='end'>%s</text>",
        i * 0.5, x_ticks[i], 1 - i * 0.5 + 0.015, y_ticks[i]);
  }
  h << "<text x='0.5' y='1.15' font-size='0.05' text-anchor='middle'>" << x_name << "</text>"
    << "<text x='-0.17' y='0.5' font-size='0.05' text-anchor='middle' "
       "transform='rotate(-90 -0.17 0.5)'>"
    << y_name << "</text><g transform='matrix(1 0 0 -1 0 1)'>";
}

void CloseChart(std::ostringstream& h) { h << "</g></svg>"; }

// The points of a ROC (`pr` false) or precision-recall curve of `scores`,
// highest score first, at most ~200 of them.
std::string CurvePoints(const std::vector<float>& scores, const std::vector<float>& y, bool pr) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double pos = 0;
  for (float v : y) pos += v > 0.5f;
  const double neg = static_cast<double>(y.size()) - pos;
  std::string points = pr ? "" : "0,0";
  double tp = 0, fp = 0;
  const size_t step = std::max<size_t>(1, order.size() / 200);
  for (size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] > 0.5f ? tp : fp) += 1;
    if (i % step != 0 && i + 1 != order.size()) continue;
    if (pr) {
      absl::StrAppendFormat(&points, " %.4f,%.4f", pos ? tp / pos : 0, tp / (tp + fp));
    } else {
      absl::StrAppendFormat(&points, " %.4f,%.4f", neg ? fp / neg : 0, pos ? tp / pos : 0);
    }
  }
  return points;
}

void WriteCurves(std::ostringstream& h, const TrainResult& r, const std::vector<float>& scores,
                 const std::vector<float>& baseline, const std::vector<float>& y) {
  double pos = 0;
  for (float v : y) pos += v > 0.5f;
  const double rate = pos / std::max<double>(1, static_cast<double>(y.size()));
  const std::string legend =
      "<p><span style='color:#1f77b4'>━ model</span> &nbsp; <span style='color:#777'>╍ baseline (" +
      Escape(r.baseline_name) + ")</span> &nbsp; <span style='color:#bbb'>━ guessing</span></p>";
  auto curve = [&](const char* cls, const std::vector<float>& s, bool pr) {
    const bool model = std::string(cls) == "model";
    h << "<polyline class='" << cls << "' fill='none' stroke='" << (model ? "#1f77b4" : "#777")
      << "' stroke-width='0.01'" << (model ? "" : " stroke-dasharray='0.03 0.02'") << " points='"
      << CurvePoints(s, y, pr) << "'/>";
  };
  h << "<h2>ROC curve</h2>" << legend;
  OpenChart(h, "roc", "false positive rate", "true positive rate");
  h << "<line x1='0' y1='0' x2='1' y2='1' stroke='#bbb' stroke-width='0.005'/>";
  curve("baseline", baseline, false);
  curve("model", scores, false);
  CloseChart(h);
  h << "<h2>Precision–recall curve (outcome rate " << absl::StrFormat("%.3f", rate)
    << " = guessing)</h2>" << legend;
  OpenChart(h, "pr", "recall", "precision");
  h << absl::StrFormat(
      "<line x1='0' y1='%.4f' x2='1' y2='%.4f' stroke='#bbb' stroke-width='0.005'/>", rate, rate);
  curve("baseline", baseline, true);
  curve("model", scores, true);
  CloseChart(h);
}

void WriteCalibration(std::ostringstream& h, const TrainResult& r) {
  // Calibration: the model's only (the baseline is not a probability).
  h << "<h2>Calibration (predicted vs observed, 10 bins)</h2>";
  OpenChart(h, "calibration", "predicted probability", "observed outcome rate");
  h << "<line x1='0' y1='0' x2='1' y2='1' stroke='#bbb' stroke-width='0.005'/>";
  for (const auto& b : r.model.calibration) {
    if (b.rows > 0)
      h << absl::StrFormat("<circle cx='%.4f' cy='%.4f' r='0.015' fill='#d62728'/>", b.mean_score,
                           b.positive_rate);
  }
  CloseChart(h);
}

void WriteScoreDistribution(std::ostringstream& h, const std::vector<float>& scores) {
  // Score distribution: 20 bins of 0.05, heights relative to the fullest.
  std::vector<int64_t> hist(20, 0);
  for (float s : scores) ++hist[static_cast<size_t>(std::clamp(s * 20.0f, 0.0f, 19.0f))];
  const int64_t peak = std::max<int64_t>(1, *std::max_element(hist.begin(), hist.end()));
  h << "<h2>Score distribution</h2>";
  OpenChart(h, "scores", "score", "customers",
            {"0", absl::StrFormat("%g", peak / 2.0), absl::StrCat(peak)});
  for (int i = 0; i < 20; ++i)
    h << absl::StrFormat(
        "<rect class='bin' x='%.4f' y='0' width='0.045' height='%.4f' fill='#2ca02c'/>",
        i * 0.05 + 0.0025, static_cast<double>(hist[i]) / static_cast<double>(peak));
  CloseChart(h);
}

void WriteImportance(std::ostringstream& h, const TrainResult& r) {
  // Feature importance: each feature's share of the total gain of all splits.
  const std::vector<int> top = ImportanceOrder(r.importance);
  double total = 0;
  for (float g : r.importance) total += g;
  const size_t shown = std::min<size_t>(top.size(), 20);
  h << "<h2>What the model looks at (share of total gain, top " << shown << ")</h2>"
    << "<p>How much each feature's splits improved the model during training, summed over all "
       "trees. It says what "
       "the model relies on, not that a feature causes the outcome.</p>"
    << absl::StrFormat(
           "<svg id='importance' width='640' height='%d' viewBox='0 0 640 %d' style='border:1px "
           "solid #999'>",
           shown * 20 + 10, shown * 20 + 10);
  const double max_share = shown > 0 && total > 0 ? r.importance[top[0]] / total : 1;
  for (size_t k = 0; k < shown; ++k) {
    const int f = top[k];
    const double share = total > 0 ? r.importance[f] / total : 0;
    h << absl::StrFormat(
        "<text x='220' y='%d' text-anchor='end' font-size='12'>%s</text>"
        "<rect class='imp' x='228' y='%d' width='%.1f' height='14' fill='#9467bd'/>"
        "<text x='%.1f' y='%d' font-size='11'>%.1f%%</text>",
        k * 20 + 17, std::string(kFeatureNames[f]), k * 20 + 6, 340 * share / max_share,
        232 + 340 * share / max_share, k * 20 + 17, 100 * share);
  }
}

}  // namespace

// A self-contained report: inline SVG only, no external assets.
std::string RenderReport(const TrainResult& r, Target target, const std::vector<float>& scores,
                         const std::vector<float>& baseline, const std::vector<float>& y) {
  std::ostringstream h;
  WriteSummary(h, r, target);
  WriteParts(h, r);
  WritePerShop(h, r);
  WriteCurves(h, r, scores, baseline, y);
  WriteCalibration(h, r);
  WriteScoreDistribution(h, scores);
  WriteImportance(h, r);
  h << "</svg></body></html>\n";
  return h.str();
}

}  // namespace recur
