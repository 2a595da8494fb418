#include "http/metrics.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "featurestore/catalog.h"

namespace recur {
namespace {

// Exact for counts (StrCat's 6 significant digits would round 12,345,678).
std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == static_cast<double>(static_cast<int64_t>(v)) && v > -1e15 && v < 1e15) {
    return absl::StrCat(static_cast<int64_t>(v));
  }
  return absl::StrFormat("%.17g", v);
}

// One metric family: its HELP and TYPE lines, then its samples.
class Family {
 public:
  Family(std::string* out, const std::string& name, const char* type, const char* help)
      : out_(out), name_(name) {
    absl::StrAppend(out_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
  }
  // `labels`: {name, value} pairs.
  Family& Sample(double value, const std::vector<std::pair<std::string, std::string>>& labels = {},
                 const std::string& suffix = "") {
    absl::StrAppend(out_, name_, suffix);
    if (!labels.empty()) {
      out_->push_back('{');
      for (size_t i = 0; i < labels.size(); ++i) {
        absl::StrAppend(out_, i ? "," : "", labels[i].first, "=\"",
                        EscapeLabelValue(labels[i].second), "\"");
      }
      out_->push_back('}');
    }
    absl::StrAppend(out_, " ", FormatValue(value), "\n");
    return *this;
  }

 private:
  std::string* out_;
  std::string name_;
};

void Counter(std::string* out, const std::string& name, const char* help, double value) {
  Family(out, name, "counter", help).Sample(value);
}

void Gauge(std::string* out, const std::string& name, const char* help, double value) {
  Family(out, name, "gauge", help).Sample(value);
}

void ByLabel(std::string* out, const std::string& name, const char* type, const char* help,
             const char* label, const std::map<std::string, int64_t>& values) {
  Family f(out, name, type, help);
  for (const auto& [k, v] : values) f.Sample(static_cast<double>(v), {{label, k}});
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// One histogram per label set ({} for none) in one family.
void HistogramFamily(std::string* out, const std::string& name, const char* help,
                     const std::vector<std::pair<Labels, const Histogram*>>& series) {
  Family f(out, name, "histogram", help);
  for (const auto& [labels, h] : series) {
    const std::vector<int64_t> cumulative = h->Cumulative();
    for (size_t i = 0; i <= h->bounds().size(); ++i) {
      Labels with_le = labels;
      with_le.emplace_back("le", i < h->bounds().size() ? absl::StrCat(h->bounds()[i]) : "+Inf");
      f.Sample(static_cast<double>(cumulative[i]), with_le, "_bucket");
    }
    f.Sample(h->sum(), labels, "_sum");
    f.Sample(static_cast<double>(h->count()), labels, "_count");
  }
}

// "risk=<v> repurchase=<v>" (ScoreStage::versions) -> {target name: version}.
std::map<std::string, std::string> ModelVersions(const std::string& models) {
  std::map<std::string, std::string> out;
  if (models == "none") return out;
  for (absl::string_view part : absl::StrSplit(models, ' ', absl::SkipEmpty())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    out[kv.first] = kv.second;
  }
  return out;
}

// The families are written even while no pass has reported (no samples):
// their HELP names what they will hold.
void DriftFamilies(std::string* out, const std::vector<DriftReport>& drift) {
  {
    Family f(out, "recur_feature_psi", "gauge",
             "Population stability index of each model input: the last re-scoring passes' "
             "customers against the training rows (> 0.25: shifted).");
    for (const DriftReport& d : drift) {
      for (size_t i = 0; i < d.feature_psi.size() && i < kFeatureNames.size(); ++i) {
        if (std::isnan(d.feature_psi[i])) continue;
        f.Sample(d.feature_psi[i],
                 {{"target", d.target}, {"feature", std::string(kFeatureNames[i])}});
      }
    }
  }
  {
    Family f(out, "recur_score_psi", "gauge",
             "Population stability index of each model's probability, the same populations.");
    for (const DriftReport& d : drift) {
      if (!std::isnan(d.score_psi)) f.Sample(d.score_psi, {{"target", d.target}});
    }
  }
  Family f(out, "recur_drift_customers", "gauge",
           "Customers in the live population the drift figures compare (per target).");
  for (const DriftReport& d : drift) f.Sample(static_cast<double>(d.rows), {{"target", d.target}});
}

}  // namespace

std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AppendHttpServerText(const HttpServerCounters& c, std::string* out) {
  Family requests(out, "recur_http_requests_total", "counter",
                  "HTTP requests answered, by status code (refusals of malformed requests "
                  "and slow clients included)");
  for (const auto& [code, n] : c.requests_by_code) {
    requests.Sample(static_cast<double>(n), {{"code", absl::StrCat(code)}});
  }
  HistogramFamily(out, "recur_http_answer_duration_seconds",
                  "time to compute an answer (routing, store reads, JSON) once its request is "
                  "complete; waiting for a loop and the network are not in it",
                  {{Labels{}, &c.answer_seconds}});
  Gauge(out, "recur_http_connections", "HTTP connections open", static_cast<double>(c.connections));
}

std::string PrometheusText(const PipelineCounters& c) {
  std::string out;
  ByLabel(&out, "recur_events_consumed_total", "counter",
          "Input records consumed (decoded or dead-lettered), by topic.", "topic",
          c.consumed_by_topic);
  ByLabel(&out, "recur_events_late_total", "counter",
          "Events older than their partition's lateness bound, by topic.", "topic",
          c.late_by_topic);
  ByLabel(&out, "recur_events_applied_total", "counter",
          "Events applied to the feature stores, by the topic of their kind.", "topic",
          c.applied_by_topic);
  ByLabel(&out, "recur_events_duplicate_total", "counter",
          "Events whose id was already applied (counted once), by the topic of their kind.",
          "topic", c.duplicates_by_topic);
  ByLabel(&out, "recur_dlq_records_total", "counter",
          "Records sent to the dead-letter topic, by reason.", "reason", c.dlq);
  Counter(&out, "recur_batches_total", "Batches committed.", static_cast<double>(c.batches));
  HistogramFamily(&out, "recur_batch_commit_seconds",
                  "Time to commit one batch: its dead letters delivered and its state applied.",
                  {{{}, &c.batch_commit_seconds}});
  Counter(&out, "recur_apply_seconds_total", "Time in the feature stores' ApplyBatch.",
          static_cast<double>(c.apply_ms) / 1000.0);
  Counter(&out, "recur_store_flushes_total", "Flushes of state and offsets to RocksDB.",
          static_cast<double>(c.flushes));
  Counter(&out, "recur_store_flush_seconds_total", "Time in those flushes.",
          static_cast<double>(c.flush_ms) / 1000.0);
  Counter(&out, "recur_retries_total", "Failed attempts retried (batches, flushes, scores).",
          static_cast<double>(c.retries));
  {
    Family f(
        &out, "recur_consumer_lag_records", "gauge",
        "Records behind the partition's end, per assigned input partition whose end is known.");
    for (const auto& [tp, n] : c.lag_by_partition) {
      f.Sample(static_cast<double>(n),
               {{"topic", tp.topic}, {"partition", absl::StrCat(tp.partition)}});
    }
  }
  Gauge(&out, "recur_partitions_assigned", "Partition numbers this instance owns (stores open).",
        c.stores_open);
  Gauge(&out, "recur_caught_up", "1 when every assigned partition is at its end and scored.",
        c.caught_up ? 1 : 0);
  Counter(&out, "recur_customers_scored_total", "Customers run through the models.",
          static_cast<double>(c.scoring.scored));
  Counter(&out, "recur_scores_published_total", "Scores delivered to the scores topic.",
          static_cast<double>(c.scoring.published));
  Counter(&out, "recur_scores_unchanged_total",
          "Re-scored customers whose score did not change enough to publish.",
          static_cast<double>(c.scoring.unchanged));
  HistogramFamily(&out, "recur_event_to_score_seconds",
                  "Event-driven scores: from the oldest Kafka record timestamp of the batch "
                  "that touched the customer to the score's delivery.",
                  {{{}, &c.scoring.event_to_score}});
  HistogramFamily(&out, "recur_score_probability",
                  "Probabilities of the scores sent for publication, per target.",
                  {{{{"target", "activity_decline_90d"}}, &c.scoring.risk},
                   {{{"target", "repurchase_30d"}}, &c.scoring.repurchase}});
  Counter(&out, "recur_rescoring_passes_total", "Re-scoring passes (day boundary, new models).",
          static_cast<double>(c.scoring.passes));
  Counter(&out, "recur_model_reloads_total", "Model swaps.",
          static_cast<double>(c.scoring.reloads));
  Counter(&out, "recur_models_refused_total", "Model files refused on reload.",
          static_cast<double>(c.scoring.refused));
  {
    Family f(&out, "recur_model_info", "gauge",
             "The model version in use per target (1); none while no model is loaded.");
    for (const auto& [target, version] : ModelVersions(c.models)) {
      f.Sample(1, {{"target", target}, {"version", version}});
    }
  }
  if (c.scoring.models_loaded_s > 0) {
    Gauge(&out, "recur_model_loaded_timestamp_seconds",
          "When the models in use were loaded (Unix time): their time in use.",
          static_cast<double>(c.scoring.models_loaded_s));
  }
  DriftFamilies(&out, c.scoring.drift);
  Gauge(&out, "recur_store_cached_customers", "Decoded customers in the stores' caches.",
        static_cast<double>(c.cache.entries));
  Gauge(&out, "recur_store_cache_bytes", "Approximate size of the cached customers.",
        static_cast<double>(c.cache.bytes));
  Gauge(&out, "recur_store_dirty_customers", "Cached customers changed since the last flush.",
        static_cast<double>(c.cache.dirty_entries));
  Counter(&out, "recur_store_loads_total", "Cache misses read from RocksDB.",
          static_cast<double>(c.cache.loads));
  Counter(&out, "recur_store_evictions_total", "Clean customers evicted from the caches.",
          static_cast<double>(c.cache.evictions));
  return out;
}

}  // namespace recur
