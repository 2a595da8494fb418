// Shared test set-up: a private temporary directory per test, simulated event
// streams (whole or split by partition as Kafka would), state directories filled
// offline, and publishing events to a (mock or real) broker. Every fixture that
// used to rebuild these by hand calls them instead.
//
//   recur::testing::TempDir dir;                       // removed when it goes out of scope
//   auto events = recur::testing::SimulateEvents(/*shops=*/2, /*customers_per_shop=*/60,
//   /*days=*/90); ASSERT_TRUE(recur::testing::FillStateDir(dir.Sub("state"), 2, events).ok());
//
// Test-only code: errors are returned as Status (or fail the current test where
// noted), never thrown.
#ifndef RECUR_TESTS_TESTING_FIXTURES_H_
#define RECUR_TESTS_TESTING_FIXTURES_H_

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "featurestore/feature_store.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "proto/recur.pb.h"

namespace recur::testing {

// A fresh directory under the system temp dir, named after the process and the
// running test (so parallel ctest runs never share one), removed on destruction.
class TempDir {
 public:
  // `prefix` names the suite, e.g. "recur-pipeline".
  explicit TempDir(const std::string& prefix = "recur-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path()/name as a string (not created).
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole file at `path` ("" when it cannot be read).
std::string Slurp(const std::filesystem::path& path);

// Every customer of `store` ("shop/customer") with its encoded state: two
// stores hold the same state when these are equal. Fails the current test
// (ADD_FAILURE) if the scan fails.
std::map<std::string, std::string> EncodedStates(FeatureStore* store);

// The simulator's whole stream for `options`, in generation order. Fails the
// current test (ADD_FAILURE) and returns what it has if the simulator fails.
std::vector<v1::Event> SimulateEvents(const SimulatorOptions& options);
// The same with the simulator's other options at their defaults.
std::vector<v1::Event> SimulateEvents(int shops, int customers_per_shop, int days,
                                      double duplicate_rate = 0.0);

// `events` split by the partition their key "shop/customer" maps to
// (PartitionFor, as librdkafka's default partitioner), order kept.
std::vector<std::vector<v1::Event>> SplitByPartition(const std::vector<v1::Event>& events,
                                                     int partitions);

// Creates a state dir of `partitions` stores at `path` and applies `events`
// offline, each partition's events in one batch (no offsets stored).
absl::Status FillStateDir(const std::string& path, int partitions,
                          const std::vector<v1::Event>& events);
// The same with every StateDir option given (e.g. the stores' horizon expiry).
absl::Status FillStateDir(const StateDir::Options& options, const std::vector<v1::Event>& events);

}  // namespace recur::testing

#endif  // RECUR_TESTS_TESTING_FIXTURES_H_
