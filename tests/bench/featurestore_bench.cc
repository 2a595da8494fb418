// Feature store benchmarks (Google Benchmark):
//   BM_ApplyBatch          events applied per second, batched, RocksDB on local disk
//   BM_ComputeFeaturesStore  the full catalog for one customer from warm state
//   BM_ComputeFeaturesState  the same, feature math only (no store lookup)
// Run: build/tests/bench/featurestore_bench --benchmark_counters_tabular=true
// RECUR_BENCH_DIR picks the disk directory (default: /tmp).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <vector>

#include "featurestore/feature_store.h"
#include "ops/simulator.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::vector<v1::Event> SimulatedEvents(int customers_per_shop, int days) {
  std::vector<v1::Event> out;
  SimulatorOptions o;
  o.shops = 3;
  o.customers_per_shop = customers_per_shop;
  o.days = days;
  o.seed = 7;
  (void)Simulate(o, [&](const v1::Event& e) {
    out.push_back(e);
    return absl::OkStatus();
  });
  return out;
}

fs::path BenchDir(const std::string& name) {
  const char* base = std::getenv("RECUR_BENCH_DIR");
  fs::path p =
      fs::path(base ? base : "/tmp") / ("recur-bench-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

std::unique_ptr<FeatureStore> OpenStore(const fs::path& dir) {
  FeatureStore::Options o;
  o.path = dir.string();
  auto s = FeatureStore::Open(o);
  if (!s.ok()) std::abort();
  return std::move(*s);
}

// A stream in event-time order over 1,000,000 customers (3 shops) and 90 days:
// purchases (1-3 lines), sessions, marketing sends, in the simulator's
// proportions (about 1 purchase : 3 sessions : 2 marketing), customers drawn
// uniformly, so most events in a batch touch a different customer: the
// expensive case for a per-customer store.
std::vector<v1::Event> StreamEvents(size_t n) {
  std::vector<v1::Event> out(n);
  std::mt19937_64 rng(11);
  const int64_t start = 1'735'689'600'000;  // 2025-01-01
  const char* cats[] = {"books", "children", "electronics", "fashion", "grocery", "home"};
  for (size_t i = 0; i < n; ++i) {
    v1::Event& e = out[i];
    const uint64_t r = rng();
    const uint64_t c = r % 1'000'000;
    e.set_shop_id("shop-" + std::to_string(1 + c % 3));
    e.set_customer_id("c-" + std::to_string(c));
    e.set_event_id("e-" + std::to_string(i));
    e.set_event_time_ms(start + static_cast<int64_t>(i * (90.0 * 86'400'000 / n)));
    switch ((r >> 32) % 6) {
      case 0: {
        const int lines = 1 + (r >> 40) % 3;
        for (int l = 0; l < lines; ++l) {
          auto* pl = e.mutable_purchase()->add_lines();
          pl->set_category(cats[(r >> (44 + l)) % 6]);
          pl->set_quantity(1 + l);
          pl->set_unit_price(9.99 + l);
          pl->set_promo(l == 1);
          pl->set_profit(2.5);
        }
        break;
      }
      case 1:
      case 2:
      case 3: {
        auto* s = e.mutable_session();
        s->set_minutes(4.5);
        s->set_pages(6);
        s->add_categories_viewed(cats[(r >> 40) % 6]);
        s->set_service_errors((r >> 48) % 10 == 0);
        break;
      }
      default:
        e.mutable_marketing()->set_action(v1::MARKETING_ACTION_SENT);
        e.mutable_marketing()->set_campaign_id("w1");
    }
  }
  return out;
}

// 4,000,000 events applied in stream order in batches of state.range(0) events.
void BM_ApplyBatch(benchmark::State& state) {
  static const std::vector<v1::Event> events = StreamEvents(4'000'000);
  const size_t batch = static_cast<size_t>(state.range(0));
  const fs::path dir = BenchDir("apply");
  auto store = OpenStore(dir);
  size_t pos = 0;
  int64_t applied = 0;
  const TopicPartition tp{"shop.purchases", 0};
  for (auto _ : state) {
    if (pos + batch > events.size()) {  // start over in a fresh store
      state.PauseTiming();
      store.reset();
      fs::remove_all(dir);
      store = OpenStore(dir);
      pos = 0;
      state.ResumeTiming();
    }
    std::span<const v1::Event> span(events.data() + pos, batch);
    if (!store->ApplyBatch(span, {{tp, static_cast<int64_t>(pos + batch)}}).ok()) std::abort();
    pos += batch;
    applied += static_cast<int64_t>(batch);
  }
  state.SetItemsProcessed(applied);
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(applied), benchmark::Counter::kIsRate);
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_ApplyBatch)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(50'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

struct WarmStore {
  fs::path dir = BenchDir("features");
  std::unique_ptr<FeatureStore> store;
  std::vector<CustomerKey> keys;
  WarmStore() {
    // 2,000 customers per shop over 400 days: a full year of history each.
    std::vector<v1::Event> events = SimulatedEvents(2'000, 400);
    store = OpenStore(dir);
    for (size_t i = 0; i < events.size(); i += 20'000) {
      std::span<const v1::Event> span(events.data() + i,
                                      std::min<size_t>(20'000, events.size() - i));
      if (!store->ApplyBatch(span, {}).ok()) std::abort();
    }
    for (int s = 1; s <= 3; ++s) {
      for (int c = 1; c <= 2'000; ++c) {
        char id[16];
        std::snprintf(id, sizeof(id), "c-%06d", c);
        keys.push_back({"shop-" + std::to_string(s), id});
      }
    }
  }
  ~WarmStore() {
    store.reset();
    fs::remove_all(dir);
  }
};

// One warm store shared by the feature benchmarks (one RocksDB directory).
WarmStore& Warm() {
  static WarmStore warm;
  return warm;
}

void BM_ComputeFeaturesStore(benchmark::State& state) {
  WarmStore& warm = Warm();
  const int64_t t = warm.store->max_event_time_ms();
  size_t i = 0;
  for (auto _ : state) {
    auto f = warm.store->ComputeFeatures(warm.keys[i++ % warm.keys.size()], t);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ComputeFeaturesStore);

void BM_ComputeFeaturesState(benchmark::State& state) {
  WarmStore& warm = Warm();
  static std::vector<CustomerState> states = [&warm] {
    std::vector<CustomerState> out;
    for (const auto& k : warm.keys) {
      auto s = warm.store->GetState(k);
      if (s.ok()) out.push_back(std::move(*s));
    }
    return out;
  }();
  const int64_t t = warm.store->max_event_time_ms();
  const int32_t horizon = warm.store->horizon_first_day();
  size_t i = 0, days = 0;
  for (const auto& s : states) days += s.days().size();
  for (auto _ : state) {
    Features f = states[i++ % states.size()].ComputeFeatures(t, horizon);
    benchmark::DoNotOptimize(f);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["avg_active_days"] =
      static_cast<double>(days) / static_cast<double>(states.size());
}
BENCHMARK(BM_ComputeFeaturesState);

}  // namespace
}  // namespace recur

BENCHMARK_MAIN();
