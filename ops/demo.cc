#include "ops/demo.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/time.h"
#include "featurestore/snapshot.h"
#include "featurestore/state_dir.h"
#include "http/server.h"
#include "proto/recur.pb.h"
#include "scorer/registry.h"
#include "scorer/targets.h"
#include "streams/embedded.h"
#include "streams/pipeline.h"
#include "streams/producer.h"
#include "trainer/trainer.h"

namespace recur {
namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kMaxAhead = 300'000;  // events published but not yet consumed (embedded broker)

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// Waits until `done(counters)` holds, printing progress every few seconds.
absl::Status WaitFor(Pipeline& p, const std::atomic<bool>& failed, std::ostream& out,
                     const char* what, const std::function<bool(const PipelineCounters&)>& done,
                     const std::function<std::string(const PipelineCounters&)>& progress,
                     int timeout_s) {
  const auto start = Clock::now();
  auto last = start;
  while (true) {
    if (failed.load()) return absl::AbortedError(absl::StrCat("the pipeline stopped while ", what));
    const PipelineCounters c = p.counters();
    if (done(c)) return absl::OkStatus();
    if (Seconds(start) > timeout_s) {
      return absl::DeadlineExceededError(
          absl::StrCat(what, ": not done after ", timeout_s, " s (", p.StatsJson(), ")"));
    }
    if (Seconds(last) >= 5) {
      last = Clock::now();
      out << "  ... " << progress(c) << std::endl;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Simulates o.sim and publishes every event; returns how many. The embedded mock
// cluster keeps only ~5 MB per partition (librdkafka's fixed limit): on it,
// publishing stays no further ahead of the pipeline than that allows.
absl::StatusOr<int64_t> Publish(const SimulatorOptions& sim, const std::string& brokers,
                                const TopicNames& topics, bool embedded, Pipeline& pipeline,
                                const std::atomic<bool>& failed, std::ostream& out) {
  auto producer = Producer::Create({{"bootstrap.servers", brokers}});
  if (!producer.ok()) return producer.status();
  int64_t produced = 0;
  std::string bytes;
  absl::Status s = Simulate(sim, [&](const v1::Event& e) {
    if (embedded && produced % 10'000 == 0) {
      while (produced - pipeline.counters().events_in > kMaxAhead && !failed.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (failed.load()) return absl::AbortedError("the pipeline stopped while publishing");
    }
    e.SerializeToString(&bytes);
    if (++produced % 1'000'000 == 0)
      out << "  ... " << produced << " events published" << std::endl;
    return (*producer)->Send(topics.ForEvent(e), e.shop_id() + "/" + e.customer_id(), bytes, {});
  });
  if (s.ok()) s = (*producer)->Flush(absl::Seconds(120));
  if (!s.ok()) return s;
  return produced;
}

// Trains both targets from `snapshot` into `models` (promotion replaces CURRENT).
absl::StatusOr<std::map<std::string, TrainResult>> TrainBoth(const std::string& snapshot,
                                                             const std::string& models,
                                                             int max_rounds, std::ostream& out) {
  std::map<std::string, TrainResult> trained;
  for (Target target : {Target::kActivityDecline90d, Target::kRepurchase30d}) {
    const auto t = Clock::now();
    TrainOptions to;
    to.state_dir = snapshot;
    to.models_dir = models;
    to.labels.target = target;
    to.max_rounds = max_rounds;
    auto r = Train(to);
    if (!r.ok()) return r.status();
    // Step 7 waits for the pipeline to load the models: a refused one (e.g. a
    // snapshot whose test set has one class) would leave it waiting, so stop
    // here with the gate's reason.
    if (!r->promoted) {
      return absl::FailedPreconditionError(absl::StrCat("6. trained ", TargetName(target), " ",
                                                        r->version, ": ", r->promotion_note));
    }
    out << absl::StrFormat(
               "6. trained %s %s: ROC-AUC %.3f (baseline %s %.3f), %d rounds, %d rows, %.0f s",
               TargetName(target), r->version, r->model.roc_auc, r->baseline_name,
               r->baseline.roc_auc, r->rounds, r->train_rows + r->early_stop_rows + r->valid_rows,
               Seconds(t))
        << std::endl;
    trained[TargetName(target)] = *r;
  }
  return trained;
}

// Every delivered score in the state dir, by shop.
absl::StatusOr<std::map<std::string, std::vector<v1::CustomerScore>>> ScoresByShop(
    const std::string& state) {
  auto dir = StateDir::OpenReadOnly(state);
  if (!dir.ok()) return dir.status();
  std::map<std::string, std::vector<v1::CustomerScore>> by_shop;
  for (int32_t p = 0; p < (*dir)->partitions(); ++p) {
    absl::Status s = (*dir)->store(p)->ledger().ForEachCustomerWithScore(
        [&](const CustomerKey& k, const CustomerState&, const std::string* score) {
          if (score == nullptr) return absl::OkStatus();
          v1::CustomerScore sc;
          if (!sc.ParseFromString(*score))
            return absl::DataLossError(absl::StrCat("bad stored score of ", k.Encode()));
          by_shop[k.shop_id].push_back(std::move(sc));
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
  }
  return by_shop;
}

// The `top` customers most at risk per shop, with segments, reasons and actions.
void PrintMostAtRisk(std::map<std::string, std::vector<v1::CustomerScore>>& by_shop, int top,
                     std::ostream& out) {
  out << "\n8. the " << top << " customers most at risk of declining activity, per shop:\n";
  for (auto& [shop, scores] : by_shop) {
    std::sort(scores.begin(), scores.end(),
              [](const v1::CustomerScore& a, const v1::CustomerScore& b) {
                const double ra = Probability(a, Target::kActivityDecline90d),
                             rb = Probability(b, Target::kActivityDecline90d);
                if (ra != rb) return ra > rb;
                return a.customer_id() < b.customer_id();
              });
    out << "\n" << shop << " (" << scores.size() << " customers scored)\n";
    out << absl::StrFormat("  %-4s %-10s %5s %5s  %-40s %s\n", "#", "customer", "risk", "rep30",
                           "segments", "top reasons");
    for (int i = 0; i < top && i < static_cast<int>(scores.size()); ++i) {
      const auto& sc = scores[i];
      std::vector<std::string> reasons;
      for (const auto& r : sc.reasons()) {
        reasons.push_back(std::isnan(r.value()) ? absl::StrCat(r.feature(), "=n/a")
                                                : absl::StrFormat("%s=%g", r.feature(), r.value()));
      }
      out << absl::StrFormat("  %-4d %-10s %5.2f %5.2f  %-40s %s\n", i + 1, sc.customer_id(),
                             Probability(sc, Target::kActivityDecline90d),
                             Probability(sc, Target::kRepurchase30d),
                             sc.segments().empty() ? "-" : absl::StrJoin(sc.segments(), ","),
                             absl::StrJoin(reasons, ", "));
      for (const auto& a : sc.actions()) out << "         action: " << a << "\n";
    }
  }
}

// The embedded mock cluster, or the brokers the user named (topics must exist).
absl::StatusOr<std::string> ConnectKafka(const DemoOptions& o, const TopicNames& topics,
                                         std::unique_ptr<EmbeddedKafka>* embedded,
                                         std::ostream& out) {
  if (!o.brokers.empty()) {
    out << "1. Kafka: " << o.brokers << " (topics must exist, see ops/kafka/README.md)"
        << std::endl;
    return o.brokers;
  }
  auto k = EmbeddedKafka::Start(o.partitions, topics);
  if (!k.ok()) return k.status();
  *embedded = std::move(*k);
  const std::string brokers = (*embedded)->bootstraps();
  out << "1. Kafka: embedded mock cluster (librdkafka) at " << brokers << ", " << o.partitions
      << " partitions per topic" << std::endl;
  return brokers;
}

// Step 5: a snapshot of the running pipeline's store, for the trainer.
absl::Status TakeSnapshot(const std::string& state, const std::string& snapshot,
                          std::ostream& out) {
  const auto t = Clock::now();
  auto snap = Snapshot(state, snapshot, {});
  if (!snap.ok()) return snap.status();
  int64_t customers = 0, max_time = 0;
  for (const auto& p : snap->partitions) {
    customers += p.customers;
    max_time = std::max(max_time, p.max_event_time_ms);
  }
  out << absl::StrFormat(
             "5. snapshot of the running store: %s, %d customers, events up to %s, %.0f s",
             snapshot, customers, FormatDayOfMs(max_time), Seconds(t))
      << std::endl;
  return absl::OkStatus();
}

// Each trained model's version, ROC-AUC against its baseline, promotion and report.
void PrintModels(const std::map<std::string, TrainResult>& trained, std::ostream& out) {
  out << "\nmodels:\n";
  for (const auto& [name, r] : trained) {
    out << absl::StrFormat("  %-22s %s  ROC-AUC %.3f (baseline %.3f)  %s\n", name, r.version,
                           r.model.roc_auc, r.baseline.roc_auc, r.promotion_note);
    out << "  " << std::string(22, ' ')
        << " report: " << ModelRegistry::ReportPath(r.model_dir).string() << "\n";
  }
}

// The HTTP API on `listen` ("": none), its URL printed.
absl::StatusOr<std::unique_ptr<HttpServer>> StartHttp(const std::string& listen,
                                                      const Pipeline& pipeline, std::ostream& out) {
  if (listen.empty()) return nullptr;
  auto http = HttpServer::Start({.listen = listen}, &pipeline);
  if (!http.ok()) return http.status();
  out << "   HTTP API while the demo runs: " << (*http)->url() << "/metrics, " << (*http)->url()
      << "/v1/customers/shop-1/c-000001 (README \"HTTP API\")" << std::endl;
  return http;
}

}  // namespace

absl::Status RunDemo(const DemoOptions& o, std::ostream& out) {
  namespace fs = std::filesystem;
  const auto t0 = Clock::now();
  std::error_code ec;
  fs::create_directories(o.dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", o.dir, ": ", ec.message()));
  const std::string state = o.dir + "/state", snapshot = o.dir + "/snapshot",
                    models = o.dir + "/models";
  if (fs::exists(state) || fs::exists(snapshot) || fs::exists(models)) {
    return absl::FailedPreconditionError(
        absl::StrCat(o.dir,
                     " holds a previous demo (state, snapshot or models): "
                     "pass a new --dir or remove it"));
  }

  // 1. Kafka.
  TopicNames topics;
  std::unique_ptr<EmbeddedKafka> embedded;
  auto brokers = ConnectKafka(o, topics, &embedded, out);
  if (!brokers.ok()) return brokers.status();

  // 2. The pipeline, running all along: ingests, then scores once models appear.
  PipelineOptions po;
  po.kafka["bootstrap.servers"] = *brokers;
  po.group_id = "recur-demo";
  // A backlog: larger batches re-encode each customer's record less often
  // (the cost that dominates catch-up, docs/BENCHMARKS.md).
  po.batch_max_events = 100'000;
  po.batch_linger_ms = 1000;
  po.state_dir = state;
  po.topics = topics;
  po.scoring.scorer.models_dir = models;
  po.scoring.reload_check_ms = 500;
  auto pipeline = Pipeline::Create(po);
  if (!pipeline.ok()) return pipeline.status();
  std::atomic<bool> stop{false}, failed{false};
  absl::Status run_status;
  std::thread runner([&] {
    run_status = (*pipeline)->Run(stop);
    failed = true;
  });
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop, runner};
  out << "2. recur run: consuming the five input topics into " << state
      << " (no model yet: ingesting only)" << std::endl;
  auto http = StartHttp(o.http, **pipeline, out);  // stopped before the pipeline (joiner)
  if (!http.ok()) return http.status();

  // 3. Simulate and publish.
  auto t = Clock::now();
  auto produced = Publish(o.sim, *brokers, topics, embedded != nullptr, **pipeline, failed, out);
  if (!produced.ok()) return produced.status();
  out << absl::StrFormat(
             "3. simulated and published %d events: %d shops x %d customers x %d days (seed %d), "
             "%.0f s",
             *produced, o.sim.shops, o.sim.customers_per_shop, o.sim.days, o.sim.seed, Seconds(t))
      << std::endl;

  // 4. Ingested.
  t = Clock::now();
  absl::Status s = WaitFor(
      **pipeline, failed, out, "ingesting",
      // Durable too: the snapshot copies the stores, not the write-back cache.
      [&](const PipelineCounters& c) {
        return c.events_in >= *produced && c.caught_up && c.durable;
      },
      [&](const PipelineCounters& c) {
        return absl::StrCat(c.events_in, "/", *produced, " events ingested");
      },
      3600);
  if (!s.ok()) return s;
  PipelineCounters c = (*pipeline)->counters();
  out << absl::StrFormat("4. ingested %d events (%d applied, %d duplicates), %.0f s", c.events_in,
                         c.applied, c.duplicates, Seconds(t))
      << std::endl;

  // 5. Snapshot of the running pipeline's store.
  if (absl::Status snap = TakeSnapshot(state, snapshot, out); !snap.ok()) return snap;

  // 6. Train both models from the snapshot; promotion replaces CURRENT.
  auto trained = TrainBoth(snapshot, models, o.max_rounds, out);
  if (!trained.ok()) return trained.status();

  // 7. The running pipeline picks the models up and scores everyone.
  t = Clock::now();
  s = WaitFor(
      **pipeline, failed, out, "scoring",
      [&](const PipelineCounters& c) { return c.model_reloads > 0 && c.caught_up; },
      [&](const PipelineCounters& c) {
        return absl::StrCat("models ", c.models, ", ", c.scores_published, " scores published");
      },
      1800);
  if (!s.ok()) return s;
  c = (*pipeline)->counters();
  out << absl::StrFormat(
             "7. recur run picked up %s without a restart and published %d scores to %s, %.0f s",
             c.models, c.scores_published, topics.scores, Seconds(t))
      << std::endl;
  stop = true;
  runner.join();
  if (!run_status.ok()) return run_status;

  // 8. The customers most at risk, per shop, from the scores the pipeline delivered.
  auto by_shop = ScoresByShop(state);
  if (!by_shop.ok()) return by_shop.status();
  PrintMostAtRisk(*by_shop, o.top, out);
  PrintModels(*trained, out);
  out << absl::StrFormat(
      "\ndone in %.0f s. Explore: recur inspect %s/%s --state-dir %s\n", Seconds(t0),
      by_shop->empty() ? "shop-1" : by_shop->begin()->first,
      by_shop->empty() ? "c-000001" : by_shop->begin()->second.front().customer_id(), state);
  return absl::OkStatus();
}

}  // namespace recur
