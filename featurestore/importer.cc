#include "featurestore/importer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "featurestore/validate.h"

namespace recur {

Importer::Importer(StateDir* dir, Options options)
    : dir_(dir),
      options_(std::move(options)),
      source_{options_.source, 0},
      pending_(dir->partitions()),
      pending_positions_(dir->partitions()) {}

absl::StatusOr<std::unique_ptr<Importer>> Importer::Start(StateDir* dir, Options options) {
  std::unique_ptr<Importer> imp(new Importer(dir, std::move(options)));
  for (int32_t p = 0; p < dir->partitions(); ++p) {
    auto offsets = dir->store(p)->ReadOffsets();
    if (!offsets.ok()) return offsets.status();
    auto it = offsets->find(imp->source_);
    imp->resume_.push_back(it == offsets->end() ? 0 : it->second);
    imp->max_time_.push_back(dir->store(p)->max_event_time_ms());
  }
  return imp;
}

absl::Status Importer::Add(int64_t position, const absl::StatusOr<v1::Event>& event) {
  position_ = position + 1;
  if (!event.ok()) {
    Reject(position, "undecodable", event.status());
    return absl::OkStatus();
  }
  const int32_t p = dir_->partitions() == 1
                        ? 0
                        : PartitionFor(absl::StrCat(event->shop_id(), "/", event->customer_id()),
                                       dir_->partitions());
  if (position < resume_[p]) {
    ++summary_.skipped;
    return absl::OkStatus();
  }
  std::string reason;
  absl::Status valid = ValidateEvent(*event, &reason);
  if (!valid.ok()) {
    Reject(position, reason, valid);
    return absl::OkStatus();
  }
  // The store would fail the whole batch on such an event: reject it here, one line.
  const int32_t retention = dir_->store(p)->retention_days();
  if (!WithinHorizon(event->event_time_ms(), max_time_[p], retention)) {
    // Whatever the order of a file's lines, `recur import` adds them sorted by
    // event time: only an event older than the store already held gets here.
    const int64_t t = event->event_time_ms();
    Reject(position, "too_late",
           absl::InvalidArgumentError(absl::StrCat(
               "event_time_ms: ", FormatDayOfMs(t), " is ", DayOf(max_time_[p]) - DayOf(t),
               " days before the latest event this store holds (", FormatDayOfMs(max_time_[p]),
               ") and the store keeps ", retention, " days (from ",
               FormatDay(HorizonFirstDay(max_time_[p], retention)),
               ", its --retention-days): import older files first, or into a new state dir "
               "(with a longer --retention-days to keep more history)")));
    return absl::OkStatus();
  }
  max_time_[p] = std::max(max_time_[p], event->event_time_ms());
  pending_[p].push_back(*event);
  pending_positions_[p].push_back(position);
  if (++pending_count_ >= options_.batch_size) return Flush();
  return absl::OkStatus();
}

absl::Status Importer::Flush() {
  for (int32_t p = 0; p < dir_->partitions(); ++p) {
    // A store that already holds this position keeps its record (and has no events).
    if (position_ <= resume_[p]) continue;
    FeatureStore::ApplyStats st;
    absl::Status s = dir_->store(p)->ApplyBatch(pending_[p], {{source_, position_}}, &st);
    if (!s.ok()) return s;
    summary_.applied += st.applied;
    summary_.duplicates += st.duplicates;
    for (size_t i : st.rate_limited) {
      Reject(
          pending_positions_[p][i], "rate_limited",
          absl::ResourceExhaustedError(absl::StrCat("event ", pending_[p][i].event_id(),
                                                    ": its customer, kind and day are at the cap "
                                                    "(--max-events-per-day)")));
    }
    pending_[p].clear();
    pending_positions_[p].clear();
  }
  pending_count_ = 0;
  return absl::OkStatus();
}

void Importer::Reject(int64_t position, const std::string& reason, const absl::Status& why) {
  ++summary_.rejected;
  ++summary_.rejected_by_reason[reason];
  if (options_.on_reject) options_.on_reject(position, reason, why);
}

}  // namespace recur
