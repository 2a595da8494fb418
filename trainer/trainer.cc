// Train(): cutoffs (or business labels) -> point-in-time training set -> time
// split, or stratified k-fold for a single cutoff (trainer/split.h: early
// stopping never sees the rows reported on) -> evaluation beside a baseline,
// overall, per test cutoff or fold and per shop -> registry + promotion gate
// (+ the training set as CSV with --export).
#include "trainer/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/fs.h"
#include "base/progress.h"
#include "base/time.h"
#include "featurestore/catalog.h"
#include "featurestore/state_dir.h"
#include "scorer/model.h"
#include "scorer/registry.h"
#include "scorer/xgb.h"
#include "trainer/business_labels.h"
#include "trainer/export.h"
#include "trainer/promotion.h"
#include "trainer/report.h"
#include "trainer/split.h"
#include "trainer/training_set.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

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

// The registry's record of a BinaryMetrics (per shop without calibration).
ModelMeta::Metrics ToMeta(const BinaryMetrics& m, bool with_calibration = true) {
  ModelMeta::Metrics out;
  out.roc_auc = m.roc_auc;
  out.pr_auc = m.pr_auc;
  out.log_loss = m.log_loss;
  out.base_rate = m.base_rate;
  out.lift_top_decile = m.lift_top_decile;
  out.rows = m.rows;
  out.threshold = m.threshold;
  out.precision = m.precision;
  out.recall = m.recall;
  if (with_calibration && !m.calibration.empty()) {  // a ranking (baseline) has none
    out.calibration.emplace();
    for (const auto& b : m.calibration)
      out.calibration->push_back({b.mean_score, b.positive_rate, b.rows});
  }
  return out;
}

// Model and baseline on the rows of each part (test cutoff or fold), in order.
std::vector<PartMetrics> EvaluateParts(const Fitted& fit, const std::vector<float>& baseline,
                                       double threshold) {
  std::vector<PartMetrics> parts;
  for (size_t p = 0; p < fit.part_names.size(); ++p) {
    std::vector<float> s, b, y;
    for (size_t r = 0; r < fit.eval_part.size(); ++r) {
      if (fit.eval_part[r] != static_cast<int>(p)) continue;
      s.push_back(fit.scores[r]);
      b.push_back(baseline[r]);
      y.push_back(fit.eval.y[r]);
    }
    parts.push_back(
        {fit.part_names[p], Evaluate(s, y, threshold), AsRanking(Evaluate(b, y, threshold))});
  }
  return parts;
}

// Mean and sample standard deviation (NaN with fewer than 2 values, or when
// one is NaN: a fold with one class has no ROC-AUC).
void MeanSd(const std::vector<double>& v, double* mean, double* sd) {
  double sum = 0;
  for (double x : v) sum += x;
  *mean = v.empty() ? NAN : sum / static_cast<double>(v.size());
  double ss = 0;
  for (double x : v) ss += (x - *mean) * (x - *mean);
  *sd = v.size() < 2 ? NAN : std::sqrt(ss / static_cast<double>(v.size() - 1));
}

// The fitted model and the baseline judged on the same rows, overall and per
// shop, with the model's feature importance.
absl::StatusOr<TrainResult> Judge(const Fitted& fit, const TrainOptions& o) {
  const TrainingSet& eval = fit.eval;
  TrainResult r;
  r.rounds = fit.rounds;
  r.train_rows = fit.train_rows;
  r.valid_rows = static_cast<int64_t>(eval.rows());
  r.early_stop_rows = fit.early_stop_rows;
  r.early_stop_cutoff = fit.early_stop_cutoff;
  r.fold_rounds = fit.fold_rounds;
  const std::vector<float> baseline_scores = BaselineScores(eval, o.labels.target);
  r.parts = EvaluateParts(fit, baseline_scores, o.threshold);
  if (!fit.fold_rounds.empty()) {
    std::vector<double> aucs;
    for (const PartMetrics& p : r.parts) aucs.push_back(p.model.roc_auc);
    MeanSd(aucs, &r.fold_roc_auc_mean, &r.fold_roc_auc_sd);
  }
  r.model = Evaluate(fit.scores, eval.y, o.threshold);
  r.baseline = AsRanking(Evaluate(baseline_scores, eval.y, o.threshold));  // not a probability
  const auto model_by_shop = EvaluateByGroup(fit.scores, eval.y, eval.shop_id, o.threshold);
  const auto baseline_by_shop = EvaluateByGroup(baseline_scores, eval.y, eval.shop_id, o.threshold);
  for (const auto& [shop, m] : model_by_shop)
    r.by_shop[shop] = {m, AsRanking(baseline_by_shop.at(shop))};
  auto importance = fit.model.FeatureScores("total_gain");
  if (!importance.ok()) return importance.status();
  r.importance = std::move(*importance);
  r.baseline_name = o.labels.target == Target::kRepurchase30d
                        ? "recency: fewer days since the last purchase"
                        : "revenue trend: last 90 days vs the 9 months before";
  return r;
}

// Writes the model into a new version directory of `target`, named after the
// data's last cutoff and a hash of the model bytes (no wall clock, so the same
// data, options and seed give the same version). Sets r->version and
// r->model_dir; returns the directory.
absl::StatusOr<fs::path> SaveVersion(const ModelRegistry& registry, const std::string& target,
                                     const XgbBooster& model, int64_t last_cutoff, TrainResult* r) {
  const fs::path target_dir = registry.TargetDir(target);
  std::error_code ec;
  fs::create_directories(target_dir, ec);
  const fs::path tmp_model = registry.StagingModelPath(target);
  absl::Status s = model.Save(tmp_model.string());
  if (!s.ok()) return s;
  std::ifstream in(tmp_model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const uint64_t h = Fnv1a64(bytes);
  r->version = absl::StrFormat(
      "%s-%08x", absl::FormatTime("%Y%m%d", absl::FromUnixMillis(last_cutoff), absl::UTCTimeZone()),
      static_cast<uint32_t>(h >> 32));
  const fs::path vdir = registry.VersionDir(target, r->version);
  fs::create_directories(vdir, ec);
  const fs::path model_path = ModelRegistry::ModelPath(vdir);
  fs::rename(tmp_model, model_path, ec);
  if (ec)
    return absl::UnavailableError(
        absl::StrCat("cannot write ", model_path.string(), ": ", ec.message()));
  r->model_dir = vdir.string();
  return vdir;
}

// The model's meta.json: schema, vocabulary, data, split, labels, parameters,
// evaluation and the promotion decision.
ModelMeta Meta(const TrainOptions& o, const TrainResult& r, const Fitted& fit,
               const std::vector<int64_t>& cutoffs, const DataRange& range, bool kfold,
               ModelMeta::Label label) {
  ModelMeta m;
  m.version = r.version;
  m.target = TargetName(o.labels.target);
  m.schema_hash = SchemaHash();
  m.catalog_version = std::string(kCatalogVersion);
  m.features.assign(kFeatureNames.begin(), kFeatureNames.end());
  m.feature_types = FeatureTypes();
  m.categories[std::string(kFeatureNames[kTopCategory6m])] = fit.vocab.names();
  for (int64_t c : cutoffs) m.cutoffs.push_back(FormatDayOfMs(c));
  if (kfold) {
    m.split.kind = "stratified_kfold";
    m.split.folds = o.folds;
    m.split.seed = o.seed;
    m.split.fold_rounds = r.fold_rounds;
    m.split.roc_auc_mean = r.fold_roc_auc_mean;
    m.split.roc_auc_sd = r.fold_roc_auc_sd;
  } else {
    m.split.kind = "time";
    m.split.early_stop_cutoff = r.early_stop_cutoff;
    for (const PartMetrics& p : r.parts) m.split.test_cutoffs.push_back(p.part);
  }
  for (const PartMetrics& p : r.parts)
    m.metrics_by_part.push_back({p.part, {ToMeta(p.model, false), ToMeta(p.baseline, false)}});
  m.label = std::move(label);
  m.params = Params(o);
  m.rounds = r.rounds;
  m.seed = o.seed;
  m.first_day = FormatDay(range.first_day);
  m.last_day = FormatDay(range.last_day);
  m.train_rows = r.train_rows;
  m.valid_rows = r.valid_rows;
  m.early_stop_rows = r.early_stop_rows;
  m.metrics = ToMeta(r.model);
  m.baseline_name = r.baseline_name;
  m.baseline = ToMeta(r.baseline);
  for (const auto& [shop, sm] : r.by_shop) {
    m.metrics_by_shop[shop] = {ToMeta(sm.model, false), ToMeta(sm.baseline, false)};
  }
  // Total gain per feature, largest first (ties in catalog order), with its share.
  double total_gain = 0;
  for (float g : r.importance) total_gain += g;
  for (int i : ImportanceOrder(r.importance)) {
    m.feature_importance.push_back({std::string(kFeatureNames[i]), r.importance[i],
                                    total_gain > 0 ? r.importance[i] / total_gain : 0.0});
  }
  m.promotion = r.promotion_note;
  // The reference for drift: the rows reported on (the latest cutoffs, or every
  // row out of fold) with their honest predictions. The decline model's rows
  // are customers with revenue in the 90 days before the cutoff: live rows
  // outside that are not comparable.
  const bool revenue_rows = m.label.source == "events" &&
                            o.labels.target == Target::kActivityDecline90d &&
                            o.labels.decline_days == 90;
  m.drift =
      DriftReference::FromRows(fit.eval.x, fit.scores, revenue_rows ? "revenue_90d > 0" : "all");
  return m;
}

// Registers the fitted model: a new version directory (model.json, meta.json,
// report.html), then CURRENT if it passes the promotion gate — last, so the
// pipeline's hot reload never sees a version without its files.
absl::Status Register(const TrainOptions& o, const Fitted& fit, const std::vector<int64_t>& cutoffs,
                      const DataRange& range, bool kfold, ModelMeta::Label label, TrainResult* r) {
  const ModelRegistry registry(o.models_dir);
  const std::string target = TargetName(o.labels.target);
  auto vdir = SaveVersion(registry, target, fit.model, cutoffs.back(), r);
  if (!vdir.ok()) return vdir.status();
  absl::Status s = Gate(registry, target, fit.eval, o, r);
  if (!s.ok()) return s;
  s = Meta(o, *r, fit, cutoffs, range, kfold, std::move(label)).Write(*vdir);
  if (!s.ok()) return s;
  s = WriteWholeFile(ModelRegistry::ReportPath(*vdir).string(),
                     RenderReport(*r, o.labels.target, fit.scores,
                                  BaselineScores(fit.eval, o.labels.target), fit.eval.y));
  if (!s.ok()) return s;
  std::cerr << "trainer: training set " << FormatDuration(r->set_seconds)
            << ", training and evaluation " << FormatDuration(r->train_seconds) << "\n";
  if (r->promoted) return registry.Promote(target, r->version);
  return absl::OkStatus();
}

}  // namespace

namespace {

// The cutoffs of event labels: month ends with a complete label window, or the
// ones asked for (each checked against the history), the latest max_cutoffs.
absl::StatusOr<std::vector<int64_t>> EventCutoffs(const TrainOptions& o, const DataRange& range) {
  std::vector<int64_t> cutoffs =
      MonthEndCutoffs(range.first_day, range.last_day, LabelDays(o.labels), LookbackDays(o.labels));
  if (!o.cutoffs.empty()) {
    cutoffs = o.cutoffs;
    std::sort(cutoffs.begin(), cutoffs.end());
    cutoffs.erase(std::unique(cutoffs.begin(), cutoffs.end()), cutoffs.end());
    for (int64_t c : cutoffs) {
      const int32_t day = DayOf(c);
      const bool early = day - std::max(LookbackDays(o.labels), 1) + 1 < range.first_day;
      if (early || day + LabelDays(o.labels) > range.last_day) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cutoff ", FormatDayOfMs(c), ": the snapshot's history is ", FormatDay(range.first_day),
            " .. ", FormatDay(range.last_day), " (", HistoryNote(range), ") and the label's ",
            early ? absl::StrCat(std::max(LookbackDays(o.labels), 1),
                                 " days up to the cutoff start before it")
                  : absl::StrCat(LabelDays(o.labels), " days after the cutoff run past its end")));
      }
    }
  }
  if (o.max_cutoffs > 0 && cutoffs.size() > static_cast<size_t>(o.max_cutoffs)) {
    cutoffs.erase(cutoffs.begin(), cutoffs.end() - o.max_cutoffs);
  }
  if (cutoffs.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "state dir ", o.state_dir, ": no month-end cutoff with a complete ", LabelDays(o.labels),
        "-day label window between ", FormatDay(range.first_day), " and ",
        FormatDay(range.last_day), " (more history is needed; ", HistoryNote(range), ")"));
  }
  return cutoffs;
}

}  // namespace

absl::StatusOr<TrainResult> Train(const TrainOptions& o) {
  FeatureStore::Options store_options;
  store_options.retention_days = o.retention_days;
  auto dir = StateDir::OpenReadOnly(o.state_dir, store_options);
  if (!dir.ok()) return dir.status();
  const DataRange range = RangeOf(**dir);
  const absl::Time started =
      absl::Now();  // timings for the log and benchmarks only, never in the model

  // The rows: event-derived labels at month-end cutoffs, or the business's.
  std::vector<int64_t> cutoffs;
  absl::StatusOr<TrainingSet> set;
  std::vector<int> missing_lines;
  ModelMeta::Label label;  // how the rows were labelled, for meta.json
  if (o.labels_csv.empty()) {
    auto event_cutoffs = EventCutoffs(o, range);
    if (!event_cutoffs.ok()) return event_cutoffs.status();
    cutoffs = std::move(*event_cutoffs);
    std::cerr << "trainer: " << cutoffs.size() << " cutoffs " << FormatDayOfMs(cutoffs.front())
              << " .. " << FormatDayOfMs(cutoffs.back()) << " (" << HistoryNote(range) << ")\n";
    ProgressLine progress("training set", "customers",
                          absl::StrCat(" x ", cutoffs.size(), " cutoffs"));
    set = BuildTrainingSet(**dir, cutoffs, o.labels,
                           [&](int64_t done, int64_t total) { progress.Update(done, total); });
    if (set.ok())
      progress.Finish(set->customers_read, absl::StrCat(", ", FormatCount(set->rows()), " rows"));
    label.source = "events";
    label.repurchase_days = o.labels.repurchase_days;
    label.decline_days = o.labels.decline_days;
    label.decline_ratio = o.labels.decline_ratio;
  } else {
    // Default as_of: the end of the snapshot's last day.
    auto rows = ReadLabelsCsv(o.labels_csv, (int64_t{range.last_day} + 1) * kMillisPerDay - 1);
    if (!rows.ok()) return rows.status();
    absl::Status s = CheckAsOfRange(*rows, o.labels_csv, range.first_day, range.last_day);
    if (!s.ok()) return s;
    for (const auto& r : *rows) cutoffs.push_back(r.as_of_ms);
    std::sort(cutoffs.begin(), cutoffs.end());
    cutoffs.erase(std::unique(cutoffs.begin(), cutoffs.end()), cutoffs.end());
    std::cerr << "trainer: " << rows->size() << " business labels from " << o.labels_csv << ", "
              << cutoffs.size() << " as_of date(s)\n";
    ProgressLine progress("training set", "customers", " searched for labelled ones");
    set = BuildLabelledSet(**dir, *rows, &missing_lines,
                           [&](int64_t done, int64_t total) { progress.Update(done, total); });
    if (set.ok())
      progress.Finish(set->customers_read, absl::StrCat(", ", FormatCount(set->rows()), " rows"));
    if (set.ok() && !missing_lines.empty()) {
      std::string lines;
      for (size_t i = 0; i < missing_lines.size() && i < 5; ++i)
        absl::StrAppend(&lines, i ? ", " : "", missing_lines[i]);
      std::cerr << "trainer: warning: " << missing_lines.size()
                << " labelled customer row(s) are not in the snapshot "
                << "and were skipped (" << o.labels_csv << " line(s) " << lines
                << (missing_lines.size() > 5 ? ", ..." : "") << ")\n";
    }
    label.source = "csv";
    label.file = o.labels_csv;
    label.rows = static_cast<int64_t>(rows->size());
    label.not_in_snapshot = static_cast<int64_t>(missing_lines.size());
  }
  if (!set.ok()) return set.status();
  const double set_seconds = absl::ToDoubleSeconds(absl::Now() - started);
  // Cutoffs before the data begins hold nobody: keep those with rows.
  std::vector<int64_t> with_rows(set->cutoff_ms.begin(), set->cutoff_ms.end());
  std::sort(with_rows.begin(), with_rows.end());
  with_rows.erase(std::unique(with_rows.begin(), with_rows.end()), with_rows.end());
  if (with_rows.size() < cutoffs.size()) {
    std::cerr << "trainer: " << cutoffs.size() - with_rows.size()
              << " cutoff(s) without any customer left out; " << with_rows.size() << " remain\n";
  }
  cutoffs = std::move(with_rows);
  if (set->rows() == 0) {
    return absl::FailedPreconditionError(
        o.labels_csv.empty() ? "no training rows: no customer at any cutoff"
                             : "no training rows: no labelled customer is in the snapshot");
  }

  // Several cutoffs: time-based split. One: stratified k-fold, then all rows.
  const bool kfold = cutoffs.size() == 1;
  const bool keep_rows = !o.export_dir.empty();
  auto fit = kfold ? FitKFold(*set, o) : FitTimeSplit(*set, cutoffs, o, keep_rows);
  if (!fit.ok()) return fit.status();
  std::string export_path;
  if (keep_rows) {  // before registering: a failed export registers nothing
    std::vector<ExportRows> runs;
    if (kfold) {
      runs.push_back({&fit->eval, "", &fit->eval_part, &fit->scores});
    } else {
      runs.push_back({&*set, "train", nullptr, nullptr});
      runs.push_back({&fit->early_stop, "early_stop", nullptr, nullptr});
      runs.push_back({&fit->eval, "test", nullptr, &fit->scores});
    }
    auto written = WriteTrainingSetCsv(o.export_dir, runs);
    if (!written.ok()) return written.status();
    export_path = *written;
    *set = TrainingSet();
    fit->early_stop = TrainingSet();
  }

  const double train_seconds = absl::ToDoubleSeconds(absl::Now() - started) - set_seconds;
  auto judged = Judge(*fit, o);
  if (!judged.ok()) return judged.status();
  TrainResult& r = *judged;
  r.set_seconds = set_seconds;
  r.train_seconds = train_seconds;
  r.split = kfold ? absl::StrCat(o.folds, "-fold") : "time";
  r.missing_labels = static_cast<int64_t>(missing_lines.size());
  r.export_path = std::move(export_path);

  absl::Status s = Register(o, *fit, cutoffs, range, kfold, std::move(label), &r);
  if (!s.ok()) return s;
  return r;
}

}  // namespace recur
