#include "trainer/report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

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
  h << "</table><p>";
  if (r.split == "time") {
    h << "Judged on " << r.valid_rows
      << " customers at the latest cutoff, which the model never trained on; trained on "
      << r.train_rows << " customer-cutoffs before it";
  } else {
    h << "Judged " << r.split << " out of fold: each of the " << r.valid_rows
      << " customers is scored by a model that did not train on them; the registered model then "
         "trained on all "
      << r.train_rows;
  }
  h << ". Rounds: " << r.rounds << ", outcome rate: " << absl::StrFormat("%.3f", r.model.base_rate)
    << ". Precision: of the customers scored at or above the threshold, the share with the "
       "outcome; recall: of the "
       "customers with the outcome, the share scored at or above it. The baseline's scores are not "
       "probabilities, "
       "so its precision and recall at the same threshold are only indicative.</p>";
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

void WriteCurves(std::ostringstream& h, const std::vector<float>& scores,
                 const std::vector<float>& y) {
  // ROC curve.
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double pos = 0;
  for (float v : y) pos += v > 0.5f;
  const double neg = static_cast<double>(y.size()) - pos;
  h << "<h2>ROC curve</h2><svg id='roc' width='320' height='320' viewBox='0 0 1 1' "
       "preserveAspectRatio='none' "
       "style='border:1px solid #999' transform='scale(1,-1)'><line x1='0' y1='0' x2='1' y2='1' "
       "stroke='#bbb' "
       "stroke-width='0.005'/><polyline fill='none' stroke='#1f77b4' stroke-width='0.01' "
       "points='0,0";
  double tp = 0, fp = 0;
  const size_t step = std::max<size_t>(1, order.size() / 200);
  for (size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] > 0.5f ? tp : fp) += 1;
    if (i % step == 0 || i + 1 == order.size())
      h << absl::StrFormat(" %.4f,%.4f", neg ? fp / neg : 0, pos ? tp / pos : 0);
  }
  h << "'/></svg>";
  // Precision-recall curve.
  h << "<h2>Precision–recall curve (outcome rate "
    << absl::StrFormat("%.3f", pos / std::max<double>(1, y.size()))
    << " = guessing)</h2><svg id='pr' width='320' height='320' viewBox='0 0 1 1' "
       "preserveAspectRatio='none' "
       "style='border:1px solid #999' transform='scale(1,-1)'>"
    << absl::StrFormat(
           "<line x1='0' y1='%.4f' x2='1' y2='%.4f' stroke='#bbb' stroke-width='0.005'/>",
           pos / std::max<double>(1, y.size()), pos / std::max<double>(1, y.size()))
    << "<polyline fill='none' stroke='#ff7f0e' stroke-width='0.01' points='";
  tp = fp = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] > 0.5f ? tp : fp) += 1;
    if (i % step == 0 || i + 1 == order.size())
      h << absl::StrFormat(" %.4f,%.4f", pos ? tp / pos : 0, tp / (tp + fp));
  }
  h << "'/></svg>";
}

void WriteCalibration(std::ostringstream& h, const TrainResult& r) {
  // Calibration.
  h << "<h2>Calibration (predicted vs observed, 10 bins)</h2><svg id='calibration' width='320' "
       "height='320' "
       "viewBox='0 0 1 1' style='border:1px solid #999' transform='scale(1,-1)'><line x1='0' "
       "y1='0' x2='1' y2='1' "
       "stroke='#bbb' stroke-width='0.005'/>";
  for (const auto& b : r.model.calibration) {
    if (b.rows > 0)
      h << absl::StrFormat("<circle cx='%.4f' cy='%.4f' r='0.015' fill='#d62728'/>", b.mean_score,
                           b.positive_rate);
  }
  h << "</svg>";
}

void WriteScoreDistribution(std::ostringstream& h, const std::vector<float>& scores) {
  // Score distribution.
  std::vector<int64_t> hist(20, 0);
  for (float s : scores) ++hist[std::min<size_t>(19, static_cast<size_t>(s * 20))];
  const double peak =
      std::max<double>(1, static_cast<double>(*std::max_element(hist.begin(), hist.end())));
  h << "<h2>Score distribution</h2><svg id='scores' width='400' height='160' viewBox='0 0 20 1' "
       "preserveAspectRatio='none' style='border:1px solid #999' transform='scale(1,-1)'>";
  for (int i = 0; i < 20; ++i)
    h << absl::StrFormat(
        "<rect class='bin' x='%d.05' y='0' width='0.9' height='%.4f' fill='#2ca02c'/>", i,
        hist[i] / peak);
  h << "</svg>";
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
                         const std::vector<float>& y) {
  std::ostringstream h;
  WriteSummary(h, r, target);
  WritePerShop(h, r);
  WriteCurves(h, scores, y);
  WriteCalibration(h, r);
  WriteScoreDistribution(h, scores);
  WriteImportance(h, r);
  h << "</svg></body></html>\n";
  return h.str();
}

}  // namespace recur
