// Feature store benchmarks (Google Benchmark):
//   BM_ApplyBatch/B/F      events applied per process-CPU second, batches of B, RocksDB on
//                          local disk; F = 0: write-through (a WriteBatch per batch),
//                          F > 0: write-back, Flush() every F events (timed too);
//                          apply_us_per_event / flush_us_per_event: the calling
//                          thread's CPU inside ApplyBatch / Flush (also BM_ApplyStream)
//   BM_ApplyStream         the whole 4,000,000-event stream once, write-back, a flush
//                          every 1,000,000 events (fixed work: compare binaries)
//   BM_HotKey/F/C          the same stream with a bot: 200,000 visits of one customer
//                          within 3 hours, interleaved (a third of every batch); C:
//                          the daily cap (0: none)
//   BM_FlushWithHistory/H  10,000 customers with H days of history each (a session
//                          a day); then, timed, a new day's session for every one of
//                          them and a flush: CPU and bytes written (WAL, memtable
//                          flushes, compactions: /proc/self/io wchar) per event,
//                          so the cost of a change can be set against the history
//   BM_ComputeFeaturesStore  the full catalog for one customer from warm state
//   BM_ComputeFeaturesState  the same, feature math only (no store lookup)
// Run: build/tests/bench/featurestore_bench --benchmark_counters_tabular=true
// RECUR_BENCH_DIR picks the disk directory (default: /tmp).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
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

std::unique_ptr<FeatureStore> OpenStore(const fs::path& dir, bool write_back = false,
                                        uint32_t max_events_per_day = 0) {
  FeatureStore::Options o;
  o.path = dir.string();
  o.write_back = write_back;
  o.max_events_per_day = max_events_per_day;
  o.cache_bytes = size_t{4} << 30;
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

// The calling thread's CPU time so far, in seconds.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Applies `events` in batches of `batch` (starting over in a fresh store at
// the end), flushing every `flush_every` events (0: write-through store), with
// the stores' daily cap `max_events_per_day` (0: none).
void ApplyLoop(benchmark::State& state, const std::vector<v1::Event>& events, size_t batch,
               size_t flush_every, const std::string& name, uint32_t max_events_per_day = 0) {
  const fs::path dir = BenchDir(name);
  auto store = OpenStore(dir, flush_every > 0, max_events_per_day);
  size_t pos = 0, since_flush = 0;
  int64_t applied = 0, rate_limited = 0;
  double apply_s = 0, flush_s = 0;  // the calling thread's CPU in ApplyBatch and in Flush
  const TopicPartition tp{"shop.purchases", 0};
  for (auto _ : state) {
    if (pos + batch > events.size()) {  // start over in a fresh store
      state.PauseTiming();
      store.reset();
      fs::remove_all(dir);
      store = OpenStore(dir, flush_every > 0, max_events_per_day);
      pos = 0;
      state.ResumeTiming();
    }
    std::span<const v1::Event> span(events.data() + pos, batch);
    FeatureStore::ApplyStats stats;
    const double a0 = ThreadCpuSeconds();
    if (!store->ApplyBatch(span, {{tp, static_cast<int64_t>(pos + batch)}}, &stats).ok()) {
      std::abort();
    }
    apply_s += ThreadCpuSeconds() - a0;
    rate_limited += static_cast<int64_t>(stats.rate_limited.size());
    pos += batch;
    since_flush += batch;
    if (flush_every > 0 && since_flush >= flush_every) {
      const double f0 = ThreadCpuSeconds();
      if (!store->Flush().ok()) std::abort();
      flush_s += ThreadCpuSeconds() - f0;
      since_flush = 0;
    }
    applied += static_cast<int64_t>(batch);
  }
  state.SetItemsProcessed(applied);
  // Process CPU (RocksDB's background threads included) per event.
  state.counters["cpu_us_per_event"] =
      benchmark::Counter(static_cast<double>(applied) / 1e6,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // The split: ApplyBatch's own CPU and the flushes' on the calling thread;
  // the rest of cpu_us_per_event is RocksDB's background threads (memtable
  // flushes, compactions) and the loop around the calls.
  const double per_event = 1e6 / static_cast<double>(std::max<int64_t>(applied, 1));
  state.counters["apply_us_per_event"] = apply_s * per_event;
  state.counters["flush_us_per_event"] = flush_s * per_event;
  const FeatureStore::CacheStats c = store->cache_stats();
  state.counters["rate_limited_share"] =
      static_cast<double>(rate_limited) / static_cast<double>(std::max<int64_t>(applied, 1));
  state.counters["records_per_event"] =
      static_cast<double>(c.flushed_customers) / static_cast<double>(std::max<int64_t>(applied, 1));
  store.reset();
  fs::remove_all(dir);
}

// 4,000,000 events in stream order, batches of range(0), flush every range(1).
void BM_ApplyBatch(benchmark::State& state) {
  static const std::vector<v1::Event> events = StreamEvents(4'000'000);
  ApplyLoop(state, events, static_cast<size_t>(state.range(0)), static_cast<size_t>(state.range(1)),
            "apply");
}
BENCHMARK(BM_ApplyBatch)
    ->Args({1'000, 0})
    ->Args({10'000, 0})
    ->Args({50'000, 0})
    ->Args({10'000, 250'000})
    ->Args({10'000, 1'000'000})
    ->Args({50'000, 1'000'000})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// The whole stream once (400 batches of 10,000, a flush every 1,000,000
// events): a fixed amount of work, so binaries compare run for run (the
// iteration count of BM_ApplyBatch depends on its first timing).
void BM_ApplyStream(benchmark::State& state) {
  static const std::vector<v1::Event> events = StreamEvents(4'000'000);
  ApplyLoop(state, events, 10'000, 1'000'000, "stream");
}
BENCHMARK(BM_ApplyStream)->Iterations(400)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime();

// The first 400,000 events of the stream with a bot's 200,000 visits of one
// customer within 3 hours interleaved: a bot visit after every second normal event.
void BM_HotKey(benchmark::State& state) {
  static const std::vector<v1::Event> events = [] {
    std::vector<v1::Event> normal = StreamEvents(400'000), out;
    out.reserve(600'000);
    const int64_t start = normal.front().event_time_ms();
    for (size_t i = 0; i < normal.size(); ++i) {
      out.push_back(normal[i]);
      if (i % 2 == 0) {
        v1::Event bot;
        bot.set_shop_id("shop-1");
        bot.set_customer_id("bot");
        bot.set_event_id("bot-" + std::to_string(i));
        bot.set_event_time_ms(start + static_cast<int64_t>(i) * 10'800'000 / 400'000);
        bot.mutable_session()->set_minutes(0.1);
        bot.mutable_session()->set_pages(1);
        out.push_back(std::move(bot));
      }
    }
    return out;
  }();
  ApplyLoop(state, events, 10'000, static_cast<size_t>(state.range(0)), "hotkey",
            static_cast<uint32_t>(state.range(1)));
}
// range(0): flush every N events (0: write-through); range(1): the daily cap
// (0: none; 10,000: recur run's default, which leaves the bot's visits after
// its 10,000th of each day out, as rate_limited).
BENCHMARK(BM_HotKey)
    ->Args({0, 0})
    ->Args({250'000, 0})
    ->Args({250'000, kDefaultMaxEventsPerDay})
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

// Bytes this process has written with write(2) and friends (/proc/self/io
// wchar): the WAL, memtable flushes and compactions of every store.
int64_t WrittenBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  int64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

void BM_FlushWithHistory(benchmark::State& state) {
  constexpr int kCustomers = 10'000;
  constexpr int64_t kDay = 86'400'000;
  const int history = static_cast<int>(state.range(0));
  const int64_t start = 1'735'689'600'000;  // 2025-01-01
  auto session = [](int c, int64_t t, int64_t seq) {
    v1::Event e;
    e.set_shop_id("shop-1");
    e.set_customer_id("c-" + std::to_string(c));
    e.set_event_id("e-" + std::to_string(seq));
    e.set_event_time_ms(t + c);
    e.mutable_session()->set_minutes(4.5);
    e.mutable_session()->set_pages(6);
    e.mutable_session()->add_categories_viewed("books");
    return e;
  };
  const fs::path dir = BenchDir("history");
  auto store = OpenStore(dir, /*write_back=*/true);
  const TopicPartition tp{"shop.sessions", 0};
  int64_t seq = 0;
  for (int d = 0; d < history; ++d) {
    std::vector<v1::Event> day;
    for (int c = 0; c < kCustomers; ++c) day.push_back(session(c, start + d * kDay, seq++));
    if (!store->ApplyBatch(day, {{tp, seq}}).ok()) std::abort();
    if (d % 30 == 29 && !store->Flush().ok()) std::abort();
  }
  if (!store->Flush().ok()) std::abort();
  int64_t events = 0;
  int day = history;
  const int64_t written_before = WrittenBytes();
  for (auto _ : state) {
    std::vector<v1::Event> batch;
    state.PauseTiming();
    for (int c = 0; c < kCustomers; ++c) batch.push_back(session(c, start + day * kDay, seq++));
    state.ResumeTiming();
    if (!store->ApplyBatch(batch, {{tp, seq}}).ok() || !store->Flush().ok()) std::abort();
    events += kCustomers;
    ++day;
  }
  // Background flushes and compactions the loop caused may end after it: the
  // figure is a lower bound of what the changes cost on disk.
  const int64_t written = WrittenBytes() - written_before;
  state.SetItemsProcessed(events);
  state.counters["cpu_us_per_event"] = benchmark::Counter(
      static_cast<double>(events) / 1e6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["written_bytes_per_event"] =
      static_cast<double>(written) / static_cast<double>(std::max<int64_t>(events, 1));
  store.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_FlushWithHistory)
    ->Arg(7)
    ->Arg(90)
    ->Arg(365)
    ->Iterations(20)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

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
