// Test helper: small real XGBoost models written into a registry layout
// (models/<target>/<version>/{model.json, meta.json}, CURRENT), whose
// probability rises with one feature: label = feature > threshold (NaN: 1).
// With `flip` > 0 that share of the labels is flipped at random, so the trees
// also split on the other (noise) features, as a real model's do.
#ifndef RECUR_TESTS_SCORER_TEST_MODELS_H_
#define RECUR_TESTS_SCORER_TEST_MODELS_H_

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "featurestore/catalog.h"
#include "scorer/registry.h"
#include "scorer/xgb.h"

namespace recur::testing {

inline bool WriteThresholdModel(const std::filesystem::path& models, const std::string& target,
                                const std::string& version, int feature, float threshold,
                                bool make_current = true,
                                const std::string& schema_hash = SchemaHash(), int trees = 30,
                                int depth = 3, double flip = 0) {
  const ModelRegistry registry(models);
  const auto dir = registry.VersionDir(target, version);
  std::filesystem::create_directories(dir);
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<float> u(0, 120);
  const size_t n = 2000;
  std::vector<float> x(n * kNumFeatures), y(n);
  for (size_t r = 0; r < n; ++r) {
    for (int c = 0; c < kNumFeatures; ++c)
      x[r * kNumFeatures + c] = (rng() % 10 == 0) ? NAN : u(rng);
    const float v = x[r * kNumFeatures + feature];
    y[r] = std::isnan(v) || v > threshold ? 1.0f : 0.0f;
    if (flip > 0 && static_cast<double>(rng() % 1000) < flip * 1000) y[r] = 1.0f - y[r];
  }
  auto m = XgbMatrix::FromRows(x.data(), n, kNumFeatures, &y);
  if (!m.ok()) return false;
  auto b = XgbBooster::Create({m->handle()}, {{"objective", "binary:logistic"},
                                              {"max_depth", std::to_string(depth)},
                                              {"eta", "0.3"},
                                              {"nthread", "1"},
                                              {"seed", "1"}});
  if (!b.ok()) return false;
  for (int i = 0; i < trees; ++i) {
    if (!b->UpdateOneIter(i, *m).ok()) return false;
  }
  if (!b->Save(ModelRegistry::ModelPath(dir).string()).ok()) return false;
  // A minimal meta.json, as a hand-written or older file would be.
  std::ofstream(ModelRegistry::MetaPath(dir))
      << "{\"version\": \"" << version << "\", \"schema_hash\": \"" << schema_hash << "\"}";
  // Atomic like the trainer's promotion: written aside, renamed over.
  return !make_current || registry.Promote(target, version).ok();
}

}  // namespace recur::testing

#endif  // RECUR_TESTS_SCORER_TEST_MODELS_H_
