// `recur replay --diff`: the last score per customer of two score topics,
// compared within the contract (probabilities to a tolerance, reasons and as-of
// ignored) or exactly. See replay.h.
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "ops/replay.h"
#include "proto/recur.pb.h"
#include "spdlog/spdlog.h"
#include "streams/admin.h"

namespace recur {
namespace {

using Clock = std::chrono::steady_clock;

// Records a CustomerScore's top-level fields that MessageDifferencer finds different.
class FieldCollector : public google::protobuf::util::MessageDifferencer::Reporter {
 public:
  using SpecificField = google::protobuf::util::MessageDifferencer::SpecificField;
  std::set<std::string> fields;
  void ReportAdded(const google::protobuf::Message&, const google::protobuf::Message&,
                   const std::vector<SpecificField>& path) override {
    Add(path);
  }
  void ReportDeleted(const google::protobuf::Message&, const google::protobuf::Message&,
                     const std::vector<SpecificField>& path) override {
    Add(path);
  }
  void ReportModified(const google::protobuf::Message&, const google::protobuf::Message&,
                      const std::vector<SpecificField>& path) override {
    Add(path);
  }

 private:
  void Add(const std::vector<SpecificField>& path) {
    fields.insert(!path.empty() && path[0].field != nullptr ? path[0].field->name()
                                                            : "unknown fields");
  }
};

// The last value per key of `topic`, read from the beginning to the end offsets
// taken when the read starts.
absl::StatusOr<std::map<std::string, std::string>> LastPerKey(const KafkaProperties& kafka,
                                                              const std::string& topic,
                                                              const char* what,
                                                              absl::Duration timeout,
                                                              int64_t* messages) {
  auto admin =
      KafkaAdmin::Create(kafka, absl::StrCat("recur-replay-diff-", absl::ToUnixMillis(absl::Now())),
                         /*eof=*/true);
  if (!admin.ok()) return admin.status();
  rd_kafka_t* rk = (*admin)->handle();
  auto counts = (*admin)->PartitionCounts(timeout);
  if (!counts.ok()) return counts.status();
  if (absl::Status s = RequireTopic(*counts, topic, what, kafka); !s.ok()) return s;
  std::map<int32_t, int64_t> end;  // partitions still to read, to their end offset
  KafkaPartitionsPtr assign(rd_kafka_topic_partition_list_new(counts->at(topic)));
  for (int32_t p = 0; p < counts->at(topic); ++p) {
    auto marks =
        (*admin)->QueryWatermarks(topic, p, timeout, absl::StrCat("end offsets of ", topic));
    if (!marks.ok()) return marks.status();
    if (marks->high > marks->low) {
      end[p] = marks->high;
      rd_kafka_topic_partition_list_add(assign.get(), topic.c_str(), p)->offset = marks->low;
    }
  }
  std::map<std::string, std::string> last;
  *messages = 0;
  if (end.empty()) return last;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, assign.get());
      err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, absl::StrCat("reading ", topic));
  }
  auto progress = Clock::now();
  while (!end.empty()) {
    KafkaMessagePtr m(rd_kafka_consumer_poll(rk, 100));
    if (!m) {
      if (std::chrono::duration<double>(Clock::now() - progress).count() >
          absl::ToDoubleSeconds(timeout)) {
        return absl::UnavailableError(absl::StrCat("reading ", topic, ": nothing received for ",
                                                   absl::FormatDuration(timeout),
                                                   " (is the broker reachable?)"));
      }
      continue;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        // At the end even if the last offsets hold no record (transaction markers).
        auto it = end.find(m->partition);
        if (it != end.end() && m->offset >= it->second) end.erase(it);
        continue;
      }
      spdlog::warn("reading {}: {}", topic, rd_kafka_message_errstr(m.get()));
      continue;
    }
    progress = Clock::now();
    ++*messages;
    if (m->key != nullptr) {
      last[std::string(static_cast<const char*>(m->key), m->key_len)] =
          std::string(static_cast<const char*>(m->payload), m->payload != nullptr ? m->len : 0);
    }
    auto it = end.find(m->partition);
    if (it != end.end() && m->offset + 1 >= it->second) end.erase(it);
  }
  rd_kafka_assign(rk, nullptr);
  return last;
}

std::string FieldText(const v1::CustomerScore& s, const google::protobuf::FieldDescriptor* f) {
  std::string out;
  google::protobuf::TextFormat::PrintFieldValueToString(s, f, -1, &out);
  return out;
}

}  // namespace

absl::StatusOr<ScoreDiff> DiffScoreTopics(const KafkaProperties& kafka,
                                          const std::string& live_topic,
                                          const std::string& replay_topic,
                                          const ScoreDiffOptions& options) {
  ScoreDiff diff;
  auto live =
      LastPerKey(kafka, live_topic, "live scores (--diff)", options.timeout, &diff.live_messages);
  if (!live.ok()) return live.status();
  auto replay =
      LastPerKey(kafka, replay_topic, "replay scores", options.timeout, &diff.replay_messages);
  if (!replay.ok()) return replay.status();
  diff.live_keys = static_cast<int64_t>(live->size());
  diff.replay_keys = static_cast<int64_t>(replay->size());
  const google::protobuf::Descriptor* desc = v1::CustomerScore::descriptor();
  google::protobuf::util::DefaultFieldComparator approximate;
  approximate.set_float_comparison(google::protobuf::util::DefaultFieldComparator::APPROXIMATE);
  approximate.SetDefaultFractionAndMargin(0.0, options.tolerance);
  std::set<std::string> keys;
  for (const auto& [k, v] : *live) keys.insert(k);
  for (const auto& [k, v] : *replay) keys.insert(k);
  for (const std::string& key : keys) {
    auto l = live->find(key);
    auto r = replay->find(key);
    if (l == live->end()) {
      diff.differences.push_back({key, {"missing in live"}, ""});
      continue;
    }
    if (r == replay->end()) {
      diff.differences.push_back({key, {"missing in replay"}, ""});
      continue;
    }
    if (l->second == r->second) continue;
    v1::CustomerScore a, b;
    if (!a.ParseFromString(l->second) || !b.ParseFromString(r->second)) {
      diff.differences.push_back({key, {"undecodable"}, ""});
      continue;
    }
    FieldCollector collector;
    google::protobuf::util::MessageDifferencer differ;
    differ.ReportDifferencesTo(&collector);
    if (!options.exact) {
      differ.set_field_comparator(&approximate);
      for (const char* name : {"as_of_ms", "reasons", "reasons_method"})
        differ.IgnoreField(desc->FindFieldByName(name));
    }
    if (differ.Compare(a, b))
      continue;  // same content (or, by default, the same within the contract)
    ScoreDifference d{key, {collector.fields.begin(), collector.fields.end()}, ""};
    std::vector<std::string> shown = d.fields;
    if (!collector.fields.count("as_of_ms") && a.as_of_ms() != b.as_of_ms())
      shown.push_back("as_of_ms");
    for (const std::string& name : shown) {
      const auto* f = desc->FindFieldByName(name);
      if (f == nullptr || f->is_repeated()) continue;
      absl::StrAppend(&d.detail, d.detail.empty() ? "" : "; ", name, ": live=", FieldText(a, f),
                      " replay=", FieldText(b, f));
    }
    diff.differences.push_back(std::move(d));
  }
  return diff;
}

}  // namespace recur
