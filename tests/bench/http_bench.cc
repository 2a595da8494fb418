// What a lookup costs in process, without sockets (docs/BENCHMARKS.md,
// "Lookups over HTTP"): Answer() for a customer that exists and for one that
// does not, over a pipeline with 4 partition stores of 10,000 customers each
// (8 purchases over 60 days per customer), and the JSON of one customer with a
// last score of 3 reasons, 2 segments and 2 actions.
//   http_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "http/customer_json.h"
#include "http/server.h"
#include "streams/fake_source.h"
#include "streams/pipeline.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

constexpr int kPartitions = 4;
constexpr int kCustomersPerPartition = 10'000;

using testing::NoDeadLetters;

// A pipeline that has read every partition's events and waits for more.
struct Served {
  Served() {
    options.kafka["bootstrap.servers"] = "127.0.0.1:1";  // nothing is produced
    options.state_dir = (tmp.path() / "state").string();
    options.scoring.enabled = false;
    options.progress_interval_ms = 0;
    auto fake = std::make_unique<FakeRecordSource>();
    std::vector<TopicPartition> tps;
    for (int p = 0; p < kPartitions; ++p) tps.push_back({"shop.purchases", p});
    fake->Assigned(tps);
    const int64_t start = testing::Ms(2024, 1, 1);
    for (int p = 0; p < kPartitions; ++p) {
      int64_t offset = 0;
      for (int day = 0; day < 64; day += 8) {
        for (int c = 0; c < kCustomersPerPartition; ++c) {
          const std::string id = absl::StrCat("c-", c * kPartitions + p);
          testing::EventFactory f("shop-1", absl::StrCat(id, "-", day));
          v1::Event e = f.Purchase(start + day * 86'400'000LL, {{"shoes", 1, 10.0 + c % 7}});
          e.set_customer_id(id);
          fake->AddRecord(tps[p], offset++, "shop-1/" + id, e.SerializeAsString(),
                          e.event_time_ms());
        }
      }
      fake->AddEnd(tps[p], offset);
      events += offset;
    }
    pipeline = *Pipeline::CreateWithSource(options, std::move(fake), &dlq);
    runner = std::thread([this] { (void)pipeline->Run(stop); });
    while (!(pipeline->counters().applied == events && pipeline->counters().caught_up)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~Served() {
    stop = true;
    runner.join();
  }
  testing::TempDir tmp{"recur-http-bench"};
  PipelineOptions options;
  NoDeadLetters dlq;
  std::unique_ptr<Pipeline> pipeline;
  std::atomic<bool> stop{false};
  std::thread runner;
  int64_t events = 0;
};

Served& TheServed() {
  static Served* served = new Served();  // lives to the end of the process
  return *served;
}

void LookupLoop(benchmark::State& state, bool known) {
  Served& s = TheServed();
  HttpOptions o;
  std::mt19937_64 rng(7);
  const int customers = kPartitions * kCustomersPerPartition;
  int64_t bytes = 0, ok = 0;
  for (auto _ : state) {
    const uint64_t c = rng() % customers;
    const std::string target = absl::StrCat("/v1/customers/shop-1/c-", known ? "" : "x", c);
    HttpAnswer a = Answer(*s.pipeline, o, "GET", target);
    bytes += static_cast<int64_t>(a.body.size());
    ok += a.status == 200;
    benchmark::DoNotOptimize(a);
  }
  if (ok != (known ? state.iterations() : 0)) state.SkipWithError("unexpected answers");
  state.counters["bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}

void BM_AnswerKnownCustomer(benchmark::State& state) { LookupLoop(state, true); }
void BM_AnswerUnknownCustomer(benchmark::State& state) { LookupLoop(state, false); }
BENCHMARK(BM_AnswerKnownCustomer);  // CPU: this thread's (the idle pipeline polls beside it)
BENCHMARK(BM_AnswerUnknownCustomer);

// The JSON of a found customer, alone: without a last score (0) and with one (1).
void BM_CustomerJson(benchmark::State& state) {
  CustomerLookup found;
  found.partition = 2;
  found.as_of_ms = found.watermark_ms = found.max_event_time_ms = 1'717'000'000'000;
  for (int i = 0; i < kNumFeatures; ++i) found.features.values[i] = i * 1.25;
  found.features.top_category_6m = "shoes";
  v1::CustomerScore score;
  score.set_shop_id("shop-1");
  score.set_customer_id("c-12345");
  score.set_as_of_ms(1'717'000'000'000);
  score.set_risk_decline_90d(0.7312345);
  score.set_repurchase_30d(0.1298765);
  score.set_risk_model_version("risk-20241201-abcdef");
  score.set_repurchase_model_version("repurchase-20241201-abcdef");
  score.set_schema_hash("0123456789abcdef");
  score.add_segments("at_risk_high_value");
  score.add_segments("lapsing");
  score.set_reasons_method("approximate");
  for (const char* f : {"days_since_last_order", "orders_90d", "spend_180d"}) {
    v1::Contribution* r = score.add_reasons();
    r->set_feature(f);
    r->set_value(12.5);
    r->set_contribution(0.3141);
  }
  score.add_actions("winback_voucher_10");
  score.add_actions("email_reminder");
  if (state.range(0) == 1) found.last_score = score.SerializeAsString();
  const CustomerKey key{"shop-1", "c-12345"};
  int64_t bytes = 0;
  for (auto _ : state) {
    auto j = CustomerJson(key, found);
    std::string text = j->dump();
    bytes += static_cast<int64_t>(text.size());
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_CustomerJson)->Arg(0)->Arg(1);  // without, with a last score

}  // namespace
}  // namespace recur

BENCHMARK_MAIN();
