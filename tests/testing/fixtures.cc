#include "tests/testing/fixtures.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

namespace recur::testing {

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test =
      info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "suite";
  path_ = fs::temp_directory_path() / (prefix + "-" + std::to_string(::getpid()) + "-" + test);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::vector<v1::Event> SimulateEvents(const SimulatorOptions& options) {
  std::vector<v1::Event> events;
  absl::Status s = Simulate(options, [&](const v1::Event& e) {
    events.push_back(e);
    return absl::OkStatus();
  });
  if (!s.ok()) ADD_FAILURE() << "simulate: " << s;
  return events;
}

std::vector<v1::Event> SimulateEvents(int shops, int customers_per_shop, int days,
                                      double duplicate_rate) {
  SimulatorOptions o;
  o.shops = shops;
  o.customers_per_shop = customers_per_shop;
  o.days = days;
  o.duplicate_rate = duplicate_rate;
  return SimulateEvents(o);
}

std::vector<std::vector<v1::Event>> SplitByPartition(const std::vector<v1::Event>& events,
                                                     int partitions) {
  std::vector<std::vector<v1::Event>> parts(partitions);
  for (const v1::Event& e : events) {
    parts[PartitionFor(e.shop_id() + "/" + e.customer_id(), partitions)].push_back(e);
  }
  return parts;
}

absl::Status FillStateDir(const std::string& path, int partitions,
                          const std::vector<v1::Event>& events) {
  StateDir::Options so;
  so.path = path;
  so.partitions = partitions;
  return FillStateDir(so, events);
}

absl::Status FillStateDir(const StateDir::Options& options, const std::vector<v1::Event>& events) {
  auto dir = StateDir::Open(options);
  if (!dir.ok()) return dir.status();
  std::vector<std::vector<v1::Event>> parts = SplitByPartition(events, options.partitions);
  for (int p = 0; p < options.partitions; ++p) {
    absl::Status s = (*dir)->store(p)->ApplyBatch(parts[p], {});
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> EncodedStates(FeatureStore* store) {
  std::map<std::string, std::string> out;
  absl::Status s = store->ForEachCustomer([&](const CustomerKey& k, const CustomerState& state) {
    state.Encode(&out[k.Encode()]);
    return absl::OkStatus();
  });
  if (!s.ok()) ADD_FAILURE() << s;
  return out;
}

}  // namespace recur::testing
