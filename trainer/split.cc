#include "trainer/split.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/progress.h"
#include "base/time.h"
#include "featurestore/catalog.h"
#include "trainer/folds.h"

namespace recur {

std::vector<std::string> FeatureTypes() {
  std::vector<std::string> t;
  for (int i = 0; i < kNumFeatures; ++i) t.push_back(IsCategorical(i) ? "c" : "q");
  return t;
}

std::map<std::string, std::string> Params(const TrainOptions& o) {
  std::map<std::string, std::string> params = {{"objective", "binary:logistic"},
                                               {"eval_metric", "logloss"},
                                               {"tree_method", "hist"},
                                               {"max_depth", "6"},
                                               {"eta", "0.1"},
                                               {"subsample", "0.8"},
                                               {"colsample_bytree", "0.8"},
                                               {"min_child_weight", "5"},
                                               {"nthread", "2"},
                                               {"seed", std::to_string(o.seed)}};
  for (const auto& [k, v] : o.params) params[k] = v;
  return params;
}

namespace {

absl::StatusOr<XgbMatrix> Matrix(const TrainingSet& s) {
  auto m = XgbMatrix::FromRows(s.x.data(), s.rows(), kNumFeatures, &s.y);
  if (!m.ok()) return m.status();
  absl::Status st = m->SetFeatureTypes(FeatureTypes());
  if (!st.ok()) return st;
  return m;
}

// The rows of `set` selected by `pick`, top_category_6m coded with `vocab`.
TrainingSet Subset(const TrainingSet& set, const std::vector<size_t>& pick,
                   const CategoryVocab& vocab) {
  TrainingSet out;
  out.x.reserve(pick.size() * kNumFeatures);
  for (size_t r : pick) {
    out.x.insert(out.x.end(), set.x.begin() + r * kNumFeatures,
                 set.x.begin() + (r + 1) * kNumFeatures);
    out.y.push_back(set.y[r]);
    out.cutoff_ms.push_back(set.cutoff_ms[r]);
    out.shop_id.push_back(set.shop_id[r]);
    if (r < set.customer_id.size()) out.customer_id.push_back(set.customer_id[r]);
    out.top_category.push_back(set.top_category[r]);
  }
  EncodeCategories(&out, vocab);
  return out;
}

CategoryVocab VocabOf(const TrainingSet& set, const std::vector<size_t>& rows) {
  std::vector<std::string> names;
  names.reserve(rows.size());
  for (size_t r : rows) names.push_back(set.top_category[r]);
  return CategoryVocab::Build(names);
}

// Boosts on `train` one round at a time, evaluating on `stop`, and stops when
// its log-loss has not improved for `patience` rounds. Returns the booster and
// the number of rounds to keep. `stop` only chooses the round count: the rows
// reported on are never passed here.
struct Boosted {
  XgbBooster booster;
  int rounds = 0;
};
absl::StatusOr<Boosted> EarlyStopped(const XgbMatrix& train, const XgbMatrix& stop,
                                     const TrainOptions& o, const std::string& what) {
  auto booster = XgbBooster::Create({train.handle(), stop.handle()}, Params(o));
  if (!booster.ok()) return booster.status();
  double best = INFINITY;
  int best_round = 0;
  ProgressLine::Options po;
  po.eta_is_bound = true;  // early stopping may end it sooner
  ProgressLine progress(what, "rounds", "", po);
  int round = 0;
  for (; round < o.max_rounds; ++round) {
    absl::Status s = booster->UpdateOneIter(round, train);
    if (!s.ok()) return s;
    DMatrixHandle evals[] = {stop.handle()};
    const char* names[] = {"early_stop"};
    const char* out = nullptr;
    s = XgbCheck(XGBoosterEvalOneIter(booster->handle(), round, evals, names, 1, &out), "evaluate");
    if (!s.ok()) return s;
    const char* colon = std::strchr(out, ':');
    if (colon == nullptr)
      return absl::InternalError(absl::StrCat("XGBoost evaluation: unexpected '", out, "'"));
    const double loss = std::atof(colon + 1);
    if (loss < best - 1e-9) {
      best = loss;
      best_round = round;
    }
    if (round - best_round >= o.early_stopping_rounds) break;
    progress.Update(round + 1, o.max_rounds,
                    absl::StrFormat(", early-stopping log-loss %.5f (best %.5f at round %d)", loss,
                                    best, best_round + 1));
  }
  progress.Finish(
      std::min(round + 1, o.max_rounds),
      absl::StrFormat(", keeping %d (best early-stopping log-loss %.5f)", best_round + 1, best));
  return Boosted{std::move(*booster), best_round + 1};
}

}  // namespace

absl::StatusOr<Fitted> FitTimeSplit(TrainingSet& set, const std::vector<int64_t>& cutoffs,
                                    const TrainOptions& o, bool keep_rows) {
  const int c = static_cast<int>(cutoffs.size());
  if (c < 3) {
    std::string days;
    for (int64_t t : cutoffs) absl::StrAppend(&days, days.empty() ? "" : ", ", FormatDayOfMs(t));
    return absl::FailedPreconditionError(absl::StrCat(
        "the time split needs at least 3 cutoffs with rows (one or more to train on, the next to "
        "early-stop on, the last to test on) but there are ",
        c, " (", days,
        "): use a snapshot with more history, more --cutoff dates, or labels as of a single date "
        "(stratified k-fold)"));
  }
  int k = std::max(1, o.test_cutoffs);
  if (c < k + 2) {
    std::cerr << "trainer: note: " << c << " cutoffs are too few for 1 to train on, 1 to "
              << "early-stop on and " << k << " to test on: testing on the last " << c - 2 << "\n";
    k = c - 2;
  }
  const int64_t early = cutoffs[c - k - 1];
  Fitted fit;
  fit.early_stop_cutoff = FormatDayOfMs(early);
  for (int i = c - k; i < c; ++i) fit.part_names.push_back(FormatDayOfMs(cutoffs[i]));
  fit.eval = ExtractRows(&set, [&](size_t r) { return set.cutoff_ms[r] > early; });
  fit.early_stop = ExtractRows(&set, [&](size_t r) { return set.cutoff_ms[r] == early; });
  if (set.rows() == 0 || fit.early_stop.rows() == 0 || fit.eval.rows() == 0)
    return absl::FailedPreconditionError("empty train, early-stopping or test rows");
  for (int64_t t : fit.eval.cutoff_ms) {
    fit.eval_part.push_back(
        static_cast<int>(std::lower_bound(cutoffs.begin(), cutoffs.end(), t) - cutoffs.begin()) -
        (c - k));
  }
  std::cerr << absl::StrFormat(
      "trainer: time split: %d train cutoff(s) %s .. %s, early stopping on %s, testing on %s .. "
      "%s\n",
      c - k - 1, FormatDayOfMs(cutoffs.front()), FormatDayOfMs(cutoffs[c - k - 2]),
      fit.early_stop_cutoff, fit.part_names.front(), fit.part_names.back());
  // Category codes come from the training rows only; a name first seen later
  // is missing, as it will be for the scorer.
  fit.vocab = CategoryVocab::Build(set.top_category);
  EncodeCategories(&set, fit.vocab);
  EncodeCategories(&fit.early_stop, fit.vocab);
  EncodeCategories(&fit.eval, fit.vocab);
  fit.train_rows = static_cast<int64_t>(set.rows());
  fit.early_stop_rows = static_cast<int64_t>(fit.early_stop.rows());
  auto train_m = Matrix(set);
  if (!train_m.ok()) return train_m.status();
  auto stop_m = Matrix(fit.early_stop);
  if (!stop_m.ok()) return stop_m.status();
  if (!keep_rows) {  // XGBoost has its own copies now
    set = TrainingSet();
    fit.early_stop = TrainingSet();
  }
  auto boosted = EarlyStopped(*train_m, *stop_m, o, "training");
  if (!boosted.ok()) return boosted.status();
  fit.rounds = boosted->rounds;
  auto model = boosted->booster.Slice(fit.rounds);
  if (!model.ok()) return model.status();
  fit.model = std::move(*model);
  auto test_m = Matrix(fit.eval);
  if (!test_m.ok()) return test_m.status();
  auto scores = fit.model.Predict(*test_m);
  if (!scores.ok()) return scores.status();
  fit.scores = std::move(*scores);
  return fit;
}

absl::StatusOr<Fitted> FitKFold(TrainingSet& set, const TrainOptions& o) {
  auto assignment = StratifiedFolds(set.y, o.folds, o.seed);
  if (!assignment.ok()) return assignment.status();
  Fitted fit;
  fit.scores.assign(set.rows(), NAN);
  for (int k = 0; k < o.folds; ++k) {
    fit.part_names.push_back(absl::StrCat("fold ", k + 1));
    std::vector<size_t> in, out;
    for (size_t r = 0; r < set.rows(); ++r) ((*assignment)[r] == k ? out : in).push_back(r);
    // The inner split: a stratified share of the training folds chooses the
    // round count, so the held-out fold plays no part in fitting its model.
    std::vector<float> in_y;
    for (size_t r : in) in_y.push_back(set.y[r]);
    auto inner = StratifiedFolds(in_y, std::max(2, o.folds - 1), o.seed + 1 + k);
    if (!inner.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "fold ", k + 1, "'s inner early-stopping split: ", inner.status().message()));
    }
    std::vector<size_t> train, stop;
    for (size_t i = 0; i < in.size(); ++i) ((*inner)[i] == 0 ? stop : train).push_back(in[i]);
    const CategoryVocab vocab = VocabOf(set, train);
    auto train_m = Matrix(Subset(set, train, vocab));
    if (!train_m.ok()) return train_m.status();
    auto stop_m = Matrix(Subset(set, stop, vocab));
    if (!stop_m.ok()) return stop_m.status();
    auto out_m = Matrix(Subset(set, out, vocab));
    if (!out_m.ok()) return out_m.status();
    auto boosted = EarlyStopped(*train_m, *stop_m, o, absl::StrCat("fold ", k + 1, "/", o.folds));
    if (!boosted.ok()) return boosted.status();
    auto p = boosted->booster.Predict(*out_m, boosted->rounds);
    if (!p.ok()) return p.status();
    for (size_t i = 0; i < out.size(); ++i) fit.scores[out[i]] = (*p)[i];
    fit.fold_rounds.push_back(boosted->rounds);
  }
  std::vector<int> sorted = fit.fold_rounds;
  std::sort(sorted.begin(), sorted.end());
  fit.rounds = sorted[(sorted.size() - 1) / 2];
  fit.eval_part = std::move(*assignment);
  // The final model: every row, the folds' median round count.
  fit.vocab = CategoryVocab::Build(set.top_category);
  EncodeCategories(&set, fit.vocab);
  fit.train_rows = static_cast<int64_t>(set.rows());
  fit.eval = std::move(set);
  auto all_m = Matrix(fit.eval);
  if (!all_m.ok()) return all_m.status();
  auto booster = XgbBooster::Create({all_m->handle()}, Params(o));
  if (!booster.ok()) return booster.status();
  ProgressLine progress("final fit on all rows", "rounds");
  for (int round = 0; round < fit.rounds; ++round) {
    absl::Status s = booster->UpdateOneIter(round, *all_m);
    if (!s.ok()) return s;
    progress.Update(round + 1, fit.rounds);
  }
  progress.Finish(fit.rounds);
  fit.model = std::move(*booster);
  return fit;
}

}  // namespace recur
