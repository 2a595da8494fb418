// Train(): cutoffs -> point-in-time training set -> time-based split -> XGBoost
// with early stopping -> evaluation beside a baseline -> registry + promotion gate.
#include "trainer/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "featurestore/catalog.h"
#include "featurestore/state_dir.h"
#include "nlohmann/json.hpp"
#include "trainer/training_set.h"
#include "scorer/model.h"
#include "scorer/xgb.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::string DayString(int64_t ms) { return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(ms), absl::UTCTimeZone()); }

// The baseline a reader compares the model with: recency for repurchase (more
// recent = more likely), the revenue trend for decline (last 90 days below the
// average quarter of the 9 months before = more likely to decline).
std::vector<float> BaselineScores(const TrainingSet& s, Target target) {
  std::vector<float> out;
  for (size_t r = 0; r < s.y.size(); ++r) {
    const float* f = &s.x[r * kNumFeatures];
    if (target == Target::kRepurchase30d) {
      const float d = f[kDaysSinceLastPurchase];
      out.push_back(std::isnan(d) ? 0.0f : 1.0f / (1.0f + d));
    } else {
      const double recent = f[kRevenue90d], year = f[kRevenue365d];
      const double prior_quarter = std::max(0.0, year - recent) / 3.0;
      const double trend = recent / std::max(1e-6, prior_quarter + recent);
      out.push_back(static_cast<float>(1.0 - trend));
    }
  }
  return out;
}

nlohmann::json MetricsJson(const BinaryMetrics& m) {
  nlohmann::json cal = nlohmann::json::array();
  for (const auto& b : m.calibration) cal.push_back({{"mean_score", b.mean_score}, {"positive_rate", b.positive_rate}, {"rows", b.rows}});
  auto num = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  return {{"roc_auc", num(m.roc_auc)}, {"pr_auc", num(m.pr_auc)}, {"log_loss", num(m.log_loss)},
          {"base_rate", m.base_rate}, {"lift_top_decile", num(m.lift_top_decile)}, {"rows", m.rows},
          {"calibration", cal}};
}

// A self-contained report: inline SVG only, no external assets.
std::string Report(const TrainResult& r, Target target, const std::vector<float>& scores, const std::vector<float>& y) {
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

absl::Status WriteFile(const fs::path& p, const std::string& content) {
  std::ofstream out(p, std::ios::trunc | std::ios::binary);
  out << content;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", p.string()));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainOptions& o) {
  auto parts = StateDir::CountPartitions(o.state_dir);
  if (!parts.ok()) return parts.status();
  StateDir::Options so;
  so.path = o.state_dir;
  so.partitions = *parts;
  so.store.read_only = true;
  auto dir = StateDir::Open(so);
  if (!dir.ok()) return dir.status();
  const DataRange range = RangeOf(**dir);
  const std::vector<int64_t> cutoffs = MonthEndCutoffs(range.first_day, range.last_day, LabelDays(o.labels));
  if (cutoffs.size() < 2) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir ", o.state_dir, ": ", cutoffs.size(), " month-end cutoff(s) with a complete ",
        LabelDays(o.labels), "-day label window; a time-based split needs at least 2 (more history is needed)"));
  }
  std::cerr << "trainer: " << cutoffs.size() << " cutoffs " << DayString(cutoffs.front()) << " .. "
            << DayString(cutoffs.back()) << "\n";
  auto set = BuildTrainingSet(**dir, cutoffs, o.labels, [](int64_t done, int64_t) {
    std::cerr << "\rtrainer: " << done << " customers read" << std::flush;
  });
  if (!set.ok()) return set.status();
  std::cerr << "\rtrainer: " << set->rows() << " rows\n";

  // Time-based split: the latest cutoff validates. The training rows stay in
  // place (no second copy of the matrix); the validation rows move out.
  TrainingSet& train = *set;
  TrainingSet valid = ExtractRows(&train, [&](size_t r) { return train.cutoff_ms[r] == cutoffs.back(); });
  if (train.y.empty() || valid.y.empty()) return absl::FailedPreconditionError("empty training or validation set");
  // Category codes come from the training rows only; a name first seen in the
  // validation rows is missing, as it will be for the scorer.
  const CategoryVocab vocab = CategoryVocab::Build(train.top_category);
  EncodeCategories(&train, vocab);
  EncodeCategories(&valid, vocab);
  std::vector<std::string> feature_types;
  for (int i = 0; i < kNumFeatures; ++i) feature_types.push_back(IsCategorical(i) ? "c" : "q");
  auto dtrain = XgbMatrix::FromRows(train.x.data(), train.y.size(), kNumFeatures, &train.y);
  if (!dtrain.ok()) return dtrain.status();
  absl::Status ts = dtrain->SetFeatureTypes(feature_types);
  if (!ts.ok()) return ts;
  auto dvalid = XgbMatrix::FromRows(valid.x.data(), valid.y.size(), kNumFeatures, &valid.y);
  if (!dvalid.ok()) return dvalid.status();
  ts = dvalid->SetFeatureTypes(feature_types);
  if (!ts.ok()) return ts;

  std::map<std::string, std::string> params = {
      {"objective", "binary:logistic"}, {"eval_metric", "logloss"}, {"tree_method", "hist"}, {"max_depth", "6"},
      {"eta", "0.1"}, {"subsample", "0.8"}, {"colsample_bytree", "0.8"}, {"min_child_weight", "5"},
      {"nthread", "2"}, {"seed", std::to_string(o.seed)}};
  for (const auto& [k, v] : o.params) params[k] = v;
  auto booster = XgbBooster::Create({dtrain->handle(), dvalid->handle()}, params);
  if (!booster.ok()) return booster.status();
  double best = INFINITY;
  int best_round = 0;
  for (int round = 0; round < o.max_rounds; ++round) {
    absl::Status s = booster->UpdateOneIter(round, *dtrain);
    if (!s.ok()) return s;
    DMatrixHandle evals[] = {dvalid->handle()};
    const char* names[] = {"valid"};
    const char* out = nullptr;
    s = XgbCheck(XGBoosterEvalOneIter(booster->handle(), round, evals, names, 1, &out), "evaluate");
    if (!s.ok()) return s;
    const double loss = std::atof(std::strchr(out, ':') + 1);
    if (loss < best - 1e-9) {
      best = loss;
      best_round = round;
    }
    if (round - best_round >= o.early_stopping_rounds) break;
    if (round % 10 == 0) std::cerr << "\rtrainer: round " << round << " valid logloss " << loss << std::flush;
  }
  std::cerr << "\n";
  auto model = booster->Slice(best_round + 1);
  if (!model.ok()) return model.status();
  auto scores = model->Predict(*dvalid);
  if (!scores.ok()) return scores.status();

  TrainResult r;
  r.rounds = best_round + 1;
  r.train_rows = static_cast<int64_t>(train.y.size());
  r.valid_rows = static_cast<int64_t>(valid.y.size());
  r.model = Evaluate(*scores, valid.y);
  r.baseline = Evaluate(BaselineScores(valid, o.labels.target), valid.y);
  r.baseline_name = o.labels.target == Target::kRepurchase30d ? "recency: fewer days since the last purchase"
                                                              : "revenue trend: last 90 days vs the 9 months before";

  // Version: the data's last day and a hash of the model bytes (no wall clock).
  const fs::path target_dir = fs::path(o.models_dir) / TargetName(o.labels.target);
  std::error_code ec;
  fs::create_directories(target_dir, ec);
  // XGBoost picks the format from the extension: keep ".json" on the temporary name.
  const fs::path tmp_model = target_dir / ".tmp-model.json";
  absl::Status s = model->Save(tmp_model.string());
  if (!s.ok()) return s;
  std::ifstream in(tmp_model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const uint64_t h = Fnv1a64(bytes);
  r.version = absl::StrFormat("%s-%08x", absl::FormatTime("%Y%m%d", absl::FromUnixMillis(cutoffs.back()), absl::UTCTimeZone()),
                              static_cast<uint32_t>(h >> 32));
  const fs::path vdir = target_dir / r.version;
  fs::create_directories(vdir, ec);
  fs::rename(tmp_model, vdir / "model.json", ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot write ", (vdir / "model.json").string(), ": ", ec.message()));
  r.model_dir = vdir.string();

  // Promotion gate: no worse than CURRENT on this validation set.
  const fs::path current = target_dir / "CURRENT";
  std::string current_version;
  if (std::ifstream cur(current); cur) std::getline(cur, current_version);
  r.promoted = true;
  r.promotion_note = "no CURRENT model: promoted";
  if (!current_version.empty() && current_version != r.version) {
    auto old = Model::Load((target_dir / current_version).string());
    if (!old.ok()) {
      r.promotion_note = absl::StrCat("CURRENT ", current_version, " unusable (", old.status().message(), "): promoted");
    } else {
      // The same validation rows, with category names in CURRENT's own codes.
      std::vector<float> old_rows = valid.x;
      for (size_t i = 0; i < valid.rows(); ++i) old_rows[i * kNumFeatures + kTopCategory6m] = (*old)->vocab().Code(valid.top_category[i]);
      auto old_scores = (*old)->Score(old_rows);
      if (!old_scores.ok()) return old_scores.status();
      const BinaryMetrics om = Evaluate(*old_scores, valid.y);
      if (r.model.roc_auc + 1e-9 >= om.roc_auc) {
        r.promotion_note = absl::StrFormat("ROC-AUC %.4f >= CURRENT %s's %.4f on the same validation set: promoted",
                                           r.model.roc_auc, current_version, om.roc_auc);
      } else if (o.force) {
        r.promotion_note = absl::StrFormat("WORSE than CURRENT %s (ROC-AUC %.4f < %.4f) but --force: PROMOTED ANYWAY",
                                           current_version, r.model.roc_auc, om.roc_auc);
      } else {
        r.promoted = false;
        r.promotion_note = absl::StrFormat("worse than CURRENT %s (ROC-AUC %.4f < %.4f): not promoted, CURRENT kept",
                                           current_version, r.model.roc_auc, om.roc_auc);
      }
    }
  }
  nlohmann::json meta = {
      {"version", r.version}, {"target", TargetName(o.labels.target)}, {"schema_hash", SchemaHash()},
      {"catalog_version", std::string(kCatalogVersion)}, {"features", std::vector<std::string>(kFeatureNames.begin(), kFeatureNames.end())},
      {"feature_types", feature_types},
      {"categories", {{std::string(kFeatureNames[kTopCategory6m]), vocab.names()}}},
      {"cutoffs", [&] { std::vector<std::string> v; for (auto c : cutoffs) v.push_back(DayString(c)); return v; }()},
      {"validation_cutoff", DayString(cutoffs.back())},
      {"label", {{"repurchase_days", o.labels.repurchase_days}, {"decline_days", o.labels.decline_days}, {"decline_ratio", o.labels.decline_ratio}}},
      {"params", params}, {"rounds", r.rounds}, {"seed", o.seed},
      {"data_range", {{"first_day", DayString(int64_t{range.first_day} * kMillisPerDay)}, {"last_day", DayString(int64_t{range.last_day} * kMillisPerDay)}}},
      {"rows", {{"train", r.train_rows}, {"valid", r.valid_rows}}},
      {"metrics", MetricsJson(r.model)}, {"baseline", {{"name", r.baseline_name}, {"metrics", MetricsJson(r.baseline)}}},
      {"promotion", r.promotion_note}};
  s = WriteFile(vdir / "meta.json", meta.dump(2) + "\n");
  if (!s.ok()) return s;
  s = WriteFile(vdir / "report.html", Report(r, o.labels.target, *scores, valid.y));
  if (!s.ok()) return s;
  if (r.promoted) {
    const fs::path tmp = target_dir / ".CURRENT.tmp";
    s = WriteFile(tmp, r.version + "\n");
    if (!s.ok()) return s;
    fs::rename(tmp, current, ec);  // atomic replace
    if (ec) return absl::UnavailableError(absl::StrCat("cannot replace ", current.string(), ": ", ec.message()));
  }
  return r;
}

}  // namespace recur
