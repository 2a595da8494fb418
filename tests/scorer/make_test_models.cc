// make_test_models MODELS_DIR VERSION: writes small real XGBoost models for both
// targets (risk rises with days_since_last_purchase, repurchase with orders_90d)
// as <VERSION> and points CURRENT at them (atomic rename). For the integration
// tests, which need models without running a training.
#include <cstdlib>
#include <iostream>
#include <string>

#include "tests/scorer/test_models.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::cerr << "usage: make_test_models MODELS_DIR VERSION [TREES DEPTH]\n";
    return 2;
  }
  using recur::FeatureIndex;
  const std::string v = argv[2];
  const int trees = argc == 5 ? std::atoi(argv[3]) : 30, depth = argc == 5 ? std::atoi(argv[4]) : 3;
  if (!recur::testing::WriteThresholdModel(argv[1], "activity_decline_90d", "r" + v,
                                           FeatureIndex("days_since_last_purchase"), 20, true,
                                           recur::SchemaHash(), trees, depth) ||
      !recur::testing::WriteThresholdModel(argv[1], "repurchase_30d", "p" + v,
                                           FeatureIndex("orders_90d"), 2, true, recur::SchemaHash(),
                                           trees, depth)) {
    std::cerr << "make_test_models: failed\n";
    return 1;
  }
  return 0;
}
