// Builds the state dir the trainer benchmark trains on (tests/bench/trainer_bench.sh):
// the simulator's events applied straight through FeatureStore::ApplyBatch — no
// JSON, no Kafka — so setting up 1,000,000 customers over 18 months takes
// minutes, not hours. Events are gathered for --batch-days of simulated time,
// then applied, one batch per partition store, partitions in parallel, while
// the simulator produces the next batch.
//
//   trainer_bench_store --out /tmp/state --customers-per-shop 333334 --days 540 --retention-days
//   540
#include <algorithm>
#include <filesystem>
#include <future>
#include <iostream>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "base/parallel.h"
#include "base/progress.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"

namespace recur {
namespace {

using Batch = std::vector<std::vector<v1::Event>>;  // per partition

absl::Status ApplyAll(StateDir* dir, Batch batch, int threads) {
  std::vector<absl::Status> status(batch.size());
  ParallelFor(
      batch.size(),
      [&](size_t p) {
        if (!batch[p].empty())
          status[p] = dir->store(static_cast<int32_t>(p))->ApplyBatch(batch[p], {});
      },
      static_cast<size_t>(std::max(threads, 1)));
  for (const auto& s : status) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

int Run(int argc, char** argv) {
  SimulatorOptions sim;
  sim.customers_per_shop = 333'334;
  sim.days = 540;
  std::string out, start = "2024-01-01";
  int32_t partitions = 4, retention = 540, batch_days = 14;
  int threads = 2;
  size_t cache_mb = 512;
  CLI::App app{"Build a simulated state dir for the trainer benchmark"};
  app.add_option("--out", out, "state dir to create (must not exist)")->required();
  app.add_option("--shops", sim.shops)->capture_default_str();
  app.add_option("--customers-per-shop", sim.customers_per_shop)->capture_default_str();
  app.add_option("--days", sim.days)->capture_default_str();
  app.add_option("--start", start, "first day, YYYY-MM-DD")->capture_default_str();
  app.add_option("--seed", sim.seed)->capture_default_str();
  app.add_option("--partitions", partitions)->capture_default_str();
  app.add_option("--retention-days", retention, "store horizon (>= days keeps everything)")
      ->capture_default_str();
  app.add_option("--batch-days", batch_days, "days of events per ApplyBatch")
      ->capture_default_str();
  app.add_option("--threads", threads, "partition stores applied in parallel")
      ->capture_default_str();
  // A decoded customer of 18 months takes ~30 KB: bound the cache per store.
  app.add_option("--cache-mb", cache_mb, "MiB of decoded customers cached per store")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d", start, absl::UTCTimeZone(), &t, &err)) {
    std::cerr << "--start: " << err << "\n";
    return 2;
  }
  sim.start_ms = absl::ToUnixMillis(t);
  if (std::filesystem::exists(out)) {
    std::cerr << out << " exists\n";
    return 2;
  }
  StateDir::Options so;
  so.path = out;
  so.partitions = partitions;
  so.store.retention_days = retention;
  so.store.cache_bytes = cache_mb << 20;
  auto dir = StateDir::Open(so);
  if (!dir.ok()) {
    std::cerr << dir.status() << "\n";
    return 1;
  }
  const int32_t first_day = DayOf(sim.start_ms);
  Batch batch(partitions);
  int32_t batch_end = first_day + batch_days;
  int64_t events = 0;
  std::future<absl::Status> applying;
  ProgressLine progress("store", "days",
                        absl::StrCat(" of ", sim.shops * sim.customers_per_shop, " customers"));
  auto flush = [&]() -> absl::Status {
    if (applying.valid()) {
      absl::Status s = applying.get();
      if (!s.ok()) return s;
    }
    applying = std::async(std::launch::async, ApplyAll, dir->get(), std::move(batch), threads);
    batch = Batch(partitions);
    return absl::OkStatus();
  };
  absl::Status s = Simulate(sim, [&](const v1::Event& e) -> absl::Status {
    const int32_t day = DayOf(e.event_time_ms());
    if (day >= batch_end) {
      absl::Status f = flush();
      if (!f.ok()) return f;
      batch_end = day + batch_days;
      progress.Update(day - first_day, sim.days, absl::StrCat(", ", events, " events"));
    }
    batch[PartitionFor(e.shop_id() + "/" + e.customer_id(), partitions)].push_back(e);
    ++events;
    return absl::OkStatus();
  });
  if (s.ok()) s = flush();
  if (s.ok()) s = applying.get();
  if (!s.ok()) {
    std::cerr << "trainer_bench_store: " << s << "\n";
    return 1;
  }
  progress.Finish(sim.days, absl::StrCat(", ", events, " events"));
  std::cout << "store: customers=" << sim.shops * sim.customers_per_shop << " events=" << events
            << " days=" << sim.days << " seconds=" << absl::StrFormat("%.1f", progress.elapsed())
            << " events_per_s=" << static_cast<int64_t>(events / std::max(1e-9, progress.elapsed()))
            << "\n";
  return 0;
}

}  // namespace
}  // namespace recur

int main(int argc, char** argv) { return recur::Run(argc, argv); }
