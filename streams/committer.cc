#include "streams/committer.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/parallel.h"
#include "spdlog/spdlog.h"

namespace recur {

namespace {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return hex;
}

}  // namespace

ProducerSink::~ProducerSink() {
  // librdkafka still points at the groups of unconfirmed records: give them
  // time, and never free one it may still write to.
  auto waiting = [this] {
    return std::any_of(in_flight_.begin(), in_flight_.end(),
                       [](const auto& g) { return g->outstanding > 0; });
  };
  if (waiting()) (void)producer_->Flush(absl::Seconds(5));
  for (auto& g : in_flight_) {
    if (g->outstanding > 0) (void)g.release();  // leaked on purpose, see above
  }
}

std::vector<absl::Status> ProducerSink::Deliver(const std::string& topic,
                                                std::span<const DlqRecord> records,
                                                absl::Duration timeout) {
  std::erase_if(in_flight_, [](const auto& g) { return g->outstanding == 0; });
  std::vector<absl::Status> outcomes(records.size());
  std::vector<DeliveryGroup*> groups(records.size(), nullptr);
  for (size_t i = 0; i < records.size(); ++i) {
    auto group = std::make_unique<DeliveryGroup>();
    const DlqRecord& r = records[i];
    outcomes[i] =
        producer_->Send(topic, r.key, r.value, r.headers, RD_KAFKA_PARTITION_UA, group.get());
    if (!outcomes[i].ok()) continue;  // refused before it was queued (e.g. message.max.bytes)
    groups[i] = group.get();
    in_flight_.push_back(std::move(group));
  }
  absl::Status flushed = producer_->Flush(timeout);
  for (size_t i = 0; i < records.size(); ++i) {
    if (groups[i] == nullptr) continue;
    if (groups[i]->outstanding > 0) {
      outcomes[i] = flushed.ok() ? absl::UnavailableError("not confirmed in time") : flushed;
    } else {
      outcomes[i] = groups[i]->error;
    }
  }
  return outcomes;
}

DlqRecord Committer::Relayed(const DeadLetter& d, bool whole) const {
  DlqRecord r;
  r.headers = {{"recur.error.reason", d.reason},
               {"recur.error.topic", d.topic},
               {"recur.error.partition", std::to_string(d.partition)},
               {"recur.error.offset", std::to_string(d.offset)},
               {"recur.error.original_size", std::to_string(d.value.size())},
               {"recur.error.sha256", Sha256Hex(d.value)}};
  if (whole) {
    if (d.key) r.key = *d.key;
    r.value = d.value;
    return r;
  }
  const bool keep_key = d.key && d.key->size() <= options_.max_headers_only_key_bytes;
  if (keep_key) r.key = *d.key;
  r.headers.push_back({"recur.error.omitted", keep_key || !d.key ? "value" : "key,value"});
  return r;
}

absl::Status Committer::SendDeadLetters(std::span<const DeadLetter> dead,
                                        std::set<size_t>* delivered) {
  // First round: each dead letter not delivered yet, whole if it is small enough;
  // second round: the refused ones, headers-only.
  std::vector<size_t> todo;
  std::vector<DlqRecord> records;
  for (size_t i = 0; i < dead.size(); ++i) {
    if (delivered->count(i)) continue;  // delivered by an earlier attempt
    const DeadLetter& d = dead[i];
    todo.push_back(i);
    records.push_back(Relayed(
        d, /*whole=*/d.value.size() + (d.key ? d.key->size() : 0) <= options_.max_relayed_bytes));
  }
  absl::Status first_error;
  for (int round = 0; round < 2 && !todo.empty(); ++round) {
    std::vector<absl::Status> outcomes =
        dlq_->Deliver(dlq_topic_, records, options_.delivery_timeout);
    std::vector<size_t> refused;
    std::vector<DlqRecord> smaller;
    for (size_t k = 0; k < todo.size(); ++k) {
      const absl::Status s = k < outcomes.size() ? outcomes[k] : absl::InternalError("no outcome");
      const DeadLetter& d = dead[todo[k]];
      if (s.ok()) {
        delivered->insert(todo[k]);
      } else if (round == 0 && !absl::IsUnavailable(s)) {
        // Refused (too large for the DLQ topic, or in one produce request with
        // one that was): headers-only, now.
        spdlog::warn(
            "dead letter {}/{}/{} ({}, {} bytes) refused by {}: {}; relaying it "
            "headers-only",
            d.topic, d.partition, d.offset, d.reason, d.value.size(), dlq_topic_,
            std::string(s.message()));
        refused.push_back(todo[k]);
        smaller.push_back(Relayed(d, /*whole=*/false));
      } else if (first_error.ok()) {
        first_error =
            absl::Status(s.code(), absl::StrCat("dead-letter delivery (", d.topic, "/", d.partition,
                                                "/", d.offset, "): ", s.message()));
      }
    }
    todo = std::move(refused);
    records = std::move(smaller);
  }
  return first_error;
}

absl::Status Committer::Commit(const Batch& batch, Progress* progress, Report* report) {
  *report = Report();
  if (!progress->dead_sent && !batch.dead.empty()) {
    if (absl::Status s = SendDeadLetters(batch.dead, &progress->dead_delivered); !s.ok()) return s;
    progress->dead_sent = true;
  }
  std::map<int32_t, OffsetMap> by_partition;
  std::map<int32_t, StreamTimeMap> times_by_partition;
  for (const auto& [tp, offset] : batch.offsets) {
    by_partition[tp.partition][tp] = offset;
    auto t = batch.stream_times.find(tp);
    times_by_partition[tp.partition][tp] = t == batch.stream_times.end() ? 0 : t->second;
  }
  // Partition stores are independent: apply them in parallel (one task per
  // partition number, at most one thread per core), each its own WriteBatch.
  struct Job {
    int32_t partition;
    std::span<const v1::Event> events;
    const OffsetMap* offsets;
    const StreamTimeMap* times;
    FeatureStore::ApplyStats stats;
    absl::Status status;
  };
  std::vector<Job> jobs;
  for (const auto& [partition, offsets] : by_partition) {
    if (progress->applied.count(partition)) continue;  // landed in an earlier attempt
    if (!stores_->IsOpen(partition)) {
      return absl::InternalError(absl::StrCat("no store open for partition ", partition));
    }
    auto ev = batch.events.find(partition);
    jobs.push_back({partition,
                    ev == batch.events.end() ? std::span<const v1::Event>() : std::span(ev->second),
                    &offsets,
                    &times_by_partition[partition],
                    {},
                    {}});
  }
  const auto apply_start = std::chrono::steady_clock::now();
  ParallelFor(jobs.size(), [&](size_t i) {
    Job& j = jobs[i];
    j.status = stores_->Apply(j.partition, j.events, *j.offsets, *j.times, &j.stats);
  });
  report->apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - apply_start)
                         .count();
  absl::Status first_error;
  for (Job& j : jobs) {
    if (!j.status.ok()) {
      if (first_error.ok()) first_error = j.status;
      continue;
    }
    progress->applied.insert(j.partition);  // a retry skips what already landed
    for (size_t index : j.stats.rate_limited) {
      progress->limited.push_back(RateLimited(batch, j.partition, index));
    }
    report->applied.push_back({j.partition, std::move(j.stats)});
  }
  // The events left out are not durable as left out before the caller's Flush.
  if (absl::Status s = SendDeadLetters(progress->limited, &progress->limited_delivered);
      !s.ok() && first_error.ok()) {
    first_error = s;
  }
  return first_error;
}

DeadLetter Committer::RateLimited(const Batch& batch, int32_t partition, size_t index) const {
  const v1::Event& e = batch.events.at(partition)[index];
  const auto offsets = batch.event_offsets.find(partition);
  DeadLetter d;
  d.topic = options_.topics.ForEvent(e);
  d.partition = partition;
  d.offset = offsets != batch.event_offsets.end() && index < offsets->second.size()
                 ? offsets->second[index]
                 : -1;
  d.key = absl::StrCat(e.shop_id(), "/", e.customer_id());
  e.SerializeToString(&d.value);  // the decoded event: the original bytes are not kept
  d.reason = "rate_limited";
  return d;
}

}  // namespace recur
