#include "trainer/report.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "absl/strings/str_format.h"

namespace recur {

// A self-contained report: inline SVG only, no external assets.
std::string RenderReport(const TrainResult& r, Target target, const std::vector<float>& scores, const std::vector<float>& y) {
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset='utf-8'><title>recur model " << r.version << "</title>"
    << "<style>body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
    << "table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd}</style></head><body>"
    << "<h1>" << TargetName(target) << " model " << r.version << "</h1>"
    << "<p>How to read this: the model ranks customers; ROC-AUC is the chance that a random customer with the outcome "
    << "gets a higher score than one without (0.5 = guessing, 1 = perfect). Lift in the top decile says how many times "
    << "more often the outcome happens among the 10% highest scores than on average. The baseline is what a simple rule "
    << "(" << r.baseline_name << ") achieves on the same customers.</p>";
  h << "<table><tr><th></th><th>model</th><th>baseline</th></tr>";
  auto row = [&](const char* name, double a, double b) {
    auto cell = [](double v) { return std::isnan(v) ? std::string("–") : absl::StrFormat("%.3f", v); };
    h << absl::StrFormat("<tr><td>%s</td><td>%s</td><td>%s</td></tr>", name, cell(a), cell(b));
  };
  row("ROC-AUC", r.model.roc_auc, r.baseline.roc_auc);
  row("PR-AUC", r.model.pr_auc, r.baseline.pr_auc);
  row("lift, top decile", r.model.lift_top_decile, r.baseline.lift_top_decile);
  row("log-loss", r.model.log_loss, NAN);
  h << "</table><p>Validation rows: " << r.valid_rows << ", training rows: " << r.train_rows << ", rounds: " << r.rounds
    << ", outcome rate: " << absl::StrFormat("%.3f", r.model.base_rate) << "</p>";
  // ROC curve.
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  double pos = 0;
  for (float v : y) pos += v > 0.5f;
  const double neg = static_cast<double>(y.size()) - pos;
  h << "<h2>ROC curve</h2><svg id='roc' width='320' height='320' viewBox='0 0 1 1' preserveAspectRatio='none' "
       "style='border:1px solid #999' transform='scale(1,-1)'><line x1='0' y1='0' x2='1' y2='1' stroke='#bbb' "
       "stroke-width='0.005'/><polyline fill='none' stroke='#1f77b4' stroke-width='0.01' points='0,0";
  double tp = 0, fp = 0;
  const size_t step = std::max<size_t>(1, order.size() / 200);
  for (size_t i = 0; i < order.size(); ++i) {
    (y[order[i]] > 0.5f ? tp : fp) += 1;
    if (i % step == 0 || i + 1 == order.size()) h << absl::StrFormat(" %.4f,%.4f", neg ? fp / neg : 0, pos ? tp / pos : 0);
  }
  h << "'/></svg>";
  // Calibration.
  h << "<h2>Calibration (predicted vs observed, 10 bins)</h2><svg id='calibration' width='320' height='320' "
       "viewBox='0 0 1 1' style='border:1px solid #999' transform='scale(1,-1)'><line x1='0' y1='0' x2='1' y2='1' "
       "stroke='#bbb' stroke-width='0.005'/>";
  for (const auto& b : r.model.calibration) {
    if (b.rows > 0) h << absl::StrFormat("<circle cx='%.4f' cy='%.4f' r='0.015' fill='#d62728'/>", b.mean_score, b.positive_rate);
  }
  h << "</svg>";
  // Score distribution.
  std::vector<int64_t> hist(20, 0);
  for (float s : scores) ++hist[std::min<size_t>(19, static_cast<size_t>(s * 20))];
  const double peak = std::max<double>(1, static_cast<double>(*std::max_element(hist.begin(), hist.end())));
  h << "<h2>Score distribution</h2><svg id='scores' width='400' height='160' viewBox='0 0 20 1' "
       "preserveAspectRatio='none' style='border:1px solid #999' transform='scale(1,-1)'>";
  for (int i = 0; i < 20; ++i) h << absl::StrFormat("<rect x='%d.05' y='0' width='0.9' height='%.4f' fill='#2ca02c'/>", i, hist[i] / peak);
  h << "</svg></body></html>\n";
  return h.str();
}

}  // namespace recur
