// `recur inspect`: one customer's features and last score, every customer's
// features (--all), the stored source offsets (--offsets) or the drift of the
// population against the models' training rows (--drift), read-only.
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/time.h"
#include "featurestore/calendar.h"
#include "featurestore/catalog.h"
#include "featurestore/customer_state.h"
#include "featurestore/state_dir.h"
#include "http/customer_json.h"
#include "nlohmann/json.hpp"
#include "ops/cli/cli.h"
#include "ops/drift_report.h"
#include "scorer/targets.h"

namespace recur::cli {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e12) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.2f", v);
}

// Per day with activity: [day, orders, sessions, unpaid cart items, marketing
// sent, opened, clicked], and the profile entries kept: what a checker compares
// with the events it produced (tests/bench/soak_check.py), since these count
// events one by one where the features only aggregate them.
nlohmann::json DayCountsJson(const CustomerState& st) {
  nlohmann::json days = nlohmann::json::array();
  for (const DayBucket& b : st.days()) {
    days.push_back({b.day, b.orders, b.sessions, b.unpaid_cart_items, b.marketing_sent,
                    b.marketing_opened, b.marketing_clicked});
  }
  return {{"buckets", days}, {"profiles", st.profiles().size()}};
}

// The human-readable form of one customer's features and last score.
void PrintText(const CustomerKey& key, int64_t t, const Features& f,
               const std::optional<v1::CustomerScore>& score) {
  std::cout << key.Encode() << " as of " << FormatDayOfMs(t) << " (catalog " << kCatalogVersion
            << ")\n";
  for (int i = 0; i < kNumFeatures; ++i) {
    std::string v = i == kTopCategory6m ? (f.top_category_6m.empty() ? "NaN" : f.top_category_6m)
                                        : FormatValue(f.values[i]);
    std::cout << absl::StrFormat("  %-26s %s\n", kFeatureNames[i], v);
  }
  if (!score) {
    std::cout << "last score: none (no model yet, or not scored: `recur run --models-dir ...`)\n";
    return;
  }
  std::cout << absl::StrFormat(
      "last score (as of %s): risk of decline in 90 days %.3f, repurchase in 30 days %.3f\n",
      FormatDayOfMs(score->as_of_ms()), Probability(*score, Target::kActivityDecline90d),
      Probability(*score, Target::kRepurchase30d));
  std::cout << "  models: risk " << ModelVersion(*score, Target::kActivityDecline90d)
            << ", repurchase " << ModelVersion(*score, Target::kRepurchase30d) << ", schema "
            << score->schema_hash() << "\n";
  std::cout << "  segments: "
            << (score->segments().empty() ? "none" : absl::StrJoin(score->segments(), ", "))
            << "\n";
  std::cout << "  reasons (" << score->reasons_method() << "):";
  if (score->reasons().empty()) std::cout << " none";
  for (const auto& r : score->reasons()) {
    std::cout << absl::StrFormat(" %s=%s (+%.3f)", r.feature(), FormatValue(r.value()),
                                 r.contribution());
  }
  std::cout << "\n";
  for (const auto& a : score->actions()) std::cout << "  action: " << a << "\n";
}

void PrintJson(const CustomerKey& key, int64_t t, const Features& f,
               const std::optional<v1::CustomerScore>& score) {
  nlohmann::json j{{"shop_id", key.shop_id},
                   {"customer_id", key.customer_id},
                   {"as_of_ms", t},
                   {"catalog_version", std::string(kCatalogVersion)},
                   {"features", FeaturesJson(f)}};
  j["last_score"] = score ? ScoreJson(*score) : nlohmann::json();
  std::cout << j.dump(2) << "\n";
}

class InspectCommand : public Command {
 public:
  explicit InspectCommand(CLI::App& app)
      : Command(app.add_subcommand("inspect",
                                   "Show one customer's features and last score (segments, "
                                   "reasons, actions)")) {
    sub_->add_option("customer", who_, "shop_id/customer_id");
    sub_->add_flag("--all", all_, "every customer as JSON lines, sorted by key (needs --as-of)");
    sub_->add_flag("--buckets", buckets_,
                   "--all: also each customer's per-day event counts (the soak's checker)");
    sub_->add_flag("--offsets", offsets_,
                   "the source offsets stored in each partition's store (stdout) and its "
                   "retention (stderr)");
    sub_->add_option("--state-dir", state_dir_, "state directory")->capture_default_str();
    sub_->add_option("--as-of", as_of_,
                     "time (ms, YYYY-MM-DD, RFC 3339); default: the store's latest event time");
    sub_->add_flag("--drift", drift_,
                   "the population stability index of every model input and score: the "
                   "customers as the day's re-scoring pass scores them against the current "
                   "models' training rows (needs models trained by this recur)");
    sub_->add_option("--models-dir", models_dir_, "--drift: model registry")->capture_default_str();
    sub_->add_option("--drift-threshold", threshold_, "--drift: PSI above which a row says shifted")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub_->add_flag("--json", json_, "print JSON");
  }

  int Run() override {
    if (drift_) return RunDrift();
    return all_ || offsets_ ? RunAllOrOffsets() : RunOne();
  }

 private:
  // Both paths ask CountPartitions first so that only a missing state dir gets the
  // hint (an empty store is also NotFound from OpenReadOnly, and gets none).
  int RunAllOrOffsets() {
    auto parts = StateDir::CountPartitions(state_dir_);
    if (!parts.ok()) {
      return Fail(parts.status(), parts.status().code() == absl::StatusCode::kNotFound
                                      ? "pass the --state-dir of a recur import or recur run"
                                      : "");
    }
    auto dir = StateDir::OpenReadOnly(state_dir_);
    if (!dir.ok()) return Fail(dir.status());
    if (offsets_) {
      // The retention on stderr: stdout stays "partition topic partition offset"
      // lines, which scripts sum and compare.
      for (int32_t p = 0; p < (*dir)->partitions(); ++p) {
        std::cerr << "partition-" << p << " retention_days " << (*dir)->store(p)->retention_days()
                  << " (recorded when the store was created: --retention-days)\n";
      }
      for (int32_t p = 0; p < (*dir)->partitions(); ++p) {
        auto offsets = (*dir)->store(p)->ReadOffsets();
        if (!offsets.ok()) return Fail(offsets.status());
        for (const auto& [tp, off] : *offsets) {
          std::cout << "partition-" << p << " " << tp.topic << " " << tp.partition << " " << off
                    << "\n";
        }
      }
      return kExitOk;
    }
    auto t = ParseTime(as_of_, DayBound::kStart);
    if (as_of_.empty() || !t.ok()) {
      return Fail(absl::InvalidArgumentError("--all needs --as-of (ms, YYYY-MM-DD or RFC 3339)"));
    }
    std::map<std::string, std::string> lines;
    for (int32_t p = 0; p < (*dir)->partitions(); ++p) {
      FeatureStore* store = (*dir)->store(p);
      // The store's own horizon, as FeatureStore::ComputeFeatures (and so `inspect
      // KEY` and the scorer) applies it: data expired but not yet pruned is ignored
      // here too, and an as-of before the horizon is refused the same way.
      const int32_t horizon = store->horizon_first_day();
      if (store->max_event_time_ms() > 0 && DayOf(*t) < horizon) {
        return Fail(absl::InvalidArgumentError(
            absl::StrCat("as_of_ms: ", *t, " is before the retention horizon")));
      }
      absl::Status s = store->ForEachCustomer([&](const CustomerKey& k, const CustomerState& st) {
        nlohmann::json j{{"key", k.Encode()},
                         {"features", FeaturesJson(st.ComputeFeatures(*t, horizon))}};
        if (buckets_) j["days"] = DayCountsJson(st);
        lines[k.Encode()] = j.dump();
        return absl::OkStatus();
      });
      if (!s.ok()) return Fail(s);
    }
    for (const auto& [k, line] : lines) std::cout << line << "\n";
    return kExitOk;
  }

  int RunDrift() {
    auto parts = StateDir::CountPartitions(state_dir_);
    if (!parts.ok()) return Fail(parts.status());
    auto dir = StateDir::OpenReadOnly(state_dir_);
    if (!dir.ok()) return Fail(dir.status());
    ScorerOptions models;
    models.models_dir = models_dir_;
    auto reports = MeasureDrift(**dir, models);
    if (!reports.ok()) return Fail(reports.status());
    std::cout << (json_ ? DriftJson(*reports) : DriftText(*reports, threshold_));
    return kExitOk;
  }

  int RunOne() {
    if (who_.empty()) {
      return Fail(
          absl::InvalidArgumentError("inspect: give shop_id/customer_id, --all or --offsets"));
    }
    auto key = CustomerKey::Decode(who_);
    if (!key) {
      return Fail(absl::InvalidArgumentError(
          "customer: expected shop_id/customer_id, e.g. shop-1/c-000042"));
    }
    auto parts = StateDir::CountPartitions(state_dir_);
    if (!parts.ok()) {
      return Fail(parts.status(),
                  parts.status().code() == absl::StatusCode::kNotFound
                      ? "run `recur import` or `recur run` first, or pass --state-dir"
                      : "");
    }
    auto dir = StateDir::OpenReadOnly(state_dir_);
    if (!dir.ok()) return Fail(dir.status());
    FeatureStore* store = (*dir)->StoreFor(key->Encode());
    int64_t t = store->max_event_time_ms();
    if (!as_of_.empty()) {
      auto parsed = ParseTime(as_of_, DayBound::kStart);
      if (!parsed.ok()) return Fail(parsed.status());
      t = *parsed;
    }
    auto f = store->ComputeFeatures(*key, t);
    if (!f.ok()) return Fail(f.status());
    // The last score delivered to the scores topic, as `recur run` recorded it.
    std::optional<v1::CustomerScore> score;
    auto last = store->ledger().GetLastScore(*key);
    if (last.ok()) {
      score.emplace();
      if (!score->ParseFromString(*last)) {
        return Fail(absl::DataLossError("stored last score is not a CustomerScore"));
      }
    } else if (last.status().code() != absl::StatusCode::kNotFound) {
      return Fail(last.status());
    }
    if (json_) {
      PrintJson(*key, t, *f, score);
    } else {
      PrintText(*key, t, *f, score);
    }
    return kExitOk;
  }

  std::string who_;
  std::string as_of_;
  std::string state_dir_ = "state";
  bool all_ = false;
  bool offsets_ = false;
  bool buckets_ = false;
  bool json_ = false;
  bool drift_ = false;
  std::string models_dir_ = "models";
  double threshold_ = 0.25;
};

}  // namespace

std::unique_ptr<Command> RegisterInspect(CLI::App& app) {
  return std::make_unique<InspectCommand>(app);
}

}  // namespace recur::cli
