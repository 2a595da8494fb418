// The full loop of docs/DESIGN.md in one call (`recur demo`, `ops/quickstart`):
// simulate shops, publish to Kafka (the embedded mock cluster unless brokers are
// given), ingest with `recur run`'s pipeline, snapshot the running store, train
// both models, let the running pipeline pick them up, and print per shop the
// customers most at risk with segments, reasons and actions, plus each model's
// ROC-AUC and report.
//
//   recur::DemoOptions o;  o.dir = "/tmp/demo";
//   absl::Status s = recur::RunDemo(o, std::cout);
#ifndef RECUR_OPS_DEMO_H_
#define RECUR_OPS_DEMO_H_

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "ops/simulator.h"

namespace recur {

struct DemoOptions {
  SimulatorOptions sim = [] {
    SimulatorOptions s;
    s.shops = 3;
    s.customers_per_shop = 20'000;
    s.days = 540;  // 18 months
    s.duplicate_rate = 0.01;
    s.late_rate = 0.01;
    return s;
  }();
  std::string dir;       // work directory (state, snapshot, models); created
  std::string brokers;   // "" = embedded mock cluster; else topics must exist
  int partitions = 4;    // embedded cluster only
  int top = 10;          // customers shown per shop
  int max_rounds = 300;  // boosting rounds per model at most
  // The HTTP API while the demo runs (recur run --http); port 0: a free one.
  // "": off.
  std::string http = "127.0.0.1:0";
};

absl::Status RunDemo(const DemoOptions& options, std::ostream& out);

}  // namespace recur

#endif  // RECUR_OPS_DEMO_H_
