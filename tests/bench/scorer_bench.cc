// Scoring throughput: customers/s through both models together (300 trees of
// depth 6 each, as the issue sets), from Features to CustomerScore, and the
// cost of the steps around it (rules, approximate reasons). Per core: run with
// OMP_NUM_THREADS=1 (XGBoost's prediction uses OpenMP). The second argument of
// each benchmark: 0 recur's own tree evaluator (the default), 1 XGBoost's
// predictor (--xgboost-predict); both give the same bits (tree_ensemble_test).
//   OMP_NUM_THREADS=1 build/tests/bench/scorer_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>

#include "scorer/rules.h"
#include "scorer/scorer.h"
#include "tests/scorer/test_models.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("recur-scorer-bench-" + std::to_string(::getpid()));
  std::unique_ptr<Scorer> scorer, xgboost;
  // 300 x 6 trees fitted to 30% flipped labels: splits on every feature, as a
  // trained model's (for the cost of InputsKey, which grows with the splits).
  std::unique_ptr<Scorer> noisy;
  Rules rules = *Rules::Load("");
  std::vector<ScoreRow> rows;
  Fixture() {
    fs::remove_all(dir);
    if (!testing::WriteThresholdModel(dir, "activity_decline_90d", "r",
                                      FeatureIndex("days_since_last_purchase"), 20, true,
                                      SchemaHash(), 300, 6) ||
        !testing::WriteThresholdModel(dir, "repurchase_30d", "p", FeatureIndex("orders_90d"), 2,
                                      true, SchemaHash(), 300, 6)) {
      std::abort();
    }
    ScorerOptions o;
    o.models_dir = dir.string();
    scorer = std::move(*Scorer::Create(o));
    o.xgboost_only = true;
    xgboost = std::move(*Scorer::Create(o));
    if (scorer->evaluators() != "own") std::abort();
    const fs::path noisy_dir = dir / "noisy";
    if (!testing::WriteThresholdModel(noisy_dir, "activity_decline_90d", "r",
                                      FeatureIndex("days_since_last_purchase"), 20, true,
                                      SchemaHash(), 300, 6, 0.3) ||
        !testing::WriteThresholdModel(noisy_dir, "repurchase_30d", "p", FeatureIndex("orders_90d"),
                                      2, true, SchemaHash(), 300, 6, 0.3)) {
      std::abort();
    }
    o.models_dir = noisy_dir.string();
    o.xgboost_only = false;
    noisy = std::move(*Scorer::Create(o));
    fs::remove_all(dir);  // the models are in memory now
    std::mt19937_64 rng(3);
    std::uniform_real_distribution<double> u(0, 120);
    rows.resize(100'000);
    for (size_t i = 0; i < rows.size(); ++i) {
      rows[i].key = {"shop-1", "c-" + std::to_string(i)};
      rows[i].as_of_ms = 1'700'000'000'000;
      for (double& v : rows[i].features.values) v = rng() % 8 == 0 ? NAN : u(rng);
      rows[i].features.top_category_6m = i % 3 == 0 ? "electronics" : "books";
    }
  }
};

// Never destroyed: XGBoost's own globals may be gone by the time static
// destructors run, and freeing a booster then crashes at exit.
Fixture& F() {
  static Fixture* f = new Fixture;
  return *f;
}

const Scorer& S(const benchmark::State& state) {
  return state.range(1) == 0 ? *F().scorer : *F().xgboost;
}

std::vector<ScoreRow> Batch(size_t n) {
  return {F().rows.begin(), F().rows.begin() + static_cast<std::ptrdiff_t>(n)};
}

// Both models over a batch: the rate that bounds scoring.
void BM_ScoreBothModels(benchmark::State& state) {
  const auto batch = Batch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto s = S(state).Score(batch);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ScoreBothModels)
    ->ArgsProduct({{10, 100, 1000, 10'000, 100'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// Scores plus segments and actions from the default rules.
void BM_ScoreAndRules(benchmark::State& state) {
  const auto batch = Batch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto s = S(state).Score(batch);
    for (size_t i = 0; i < batch.size(); ++i) {
      auto seg = F().rules.Evaluate((*s)[i].risk_decline_90d(), (*s)[i].repurchase_30d(),
                                    batch[i].features, nullptr);
      benchmark::DoNotOptimize(seg);
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ScoreAndRules)->ArgsProduct({{10'000}, {0, 1}})->Unit(benchmark::kMillisecond);

// The digest every recorded score carries (Scorer::InputsKey: both models'
// split sides), against scoring the
// same rows with the same models. Second argument: 0 the single-split models,
// 1 the noisy ones (splits on every feature).
void BM_InputsKey(benchmark::State& state) {
  const auto batch = Batch(static_cast<size_t>(state.range(0)));
  const Scorer& s = state.range(1) == 0 ? *F().scorer : *F().noisy;
  for (auto _ : state) {
    for (const ScoreRow& row : batch) {
      auto k = s.InputsKey(row.features);
      benchmark::DoNotOptimize(k);
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_InputsKey)->ArgsProduct({{10'000}, {0, 1}})->Unit(benchmark::kMillisecond);

void BM_ScoreNoisyModels(benchmark::State& state) {
  const auto batch = Batch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    auto s = F().noisy->Score(batch);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ScoreNoisyModels)->Arg(10'000)->Unit(benchmark::kMillisecond);

// Approximate reasons for every row: the cost of a published score.
void BM_ApproximateReasons(benchmark::State& state) {
  const auto batch = Batch(static_cast<size_t>(state.range(0)));
  auto scores = *S(state).Score(batch);
  std::vector<const ScoreRow*> rp;
  std::vector<v1::CustomerScore*> sp;
  for (size_t i = 0; i < batch.size(); ++i) {
    rp.push_back(&batch[i]);
    sp.push_back(&scores[i]);
  }
  for (auto _ : state) benchmark::DoNotOptimize(S(state).AddReasons(rp, sp));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ApproximateReasons)
    ->ArgsProduct({{10, 100, 10'000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace recur

BENCHMARK_MAIN();
