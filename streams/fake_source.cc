#include "streams/fake_source.h"

#include <algorithm>

namespace recur {

void FakeRecordSource::Assigned(std::vector<TopicPartition> partitions) {
  Scripted s;
  s.event.kind = SourceEvent::kAssigned;
  s.event.partitions = std::move(partitions);
  script_.push_back(std::move(s));
}

void FakeRecordSource::Revoked(std::vector<TopicPartition> partitions) {
  Scripted s;
  s.event.kind = SourceEvent::kRevoked;
  s.event.partitions = std::move(partitions);
  script_.push_back(std::move(s));
}

void FakeRecordSource::RevokedSome(std::vector<TopicPartition> partitions) {
  Revoked(std::move(partitions));
  script_.back().event.incremental = true;
}

void FakeRecordSource::AssignedSome(std::vector<TopicPartition> partitions) {
  Assigned(std::move(partitions));
  script_.back().event.incremental = true;
}

void FakeRecordSource::AddRecord(const TopicPartition& tp, int64_t offset,
                                 std::optional<std::string> key, std::string value,
                                 int64_t timestamp_ms) {
  Scripted s;
  s.event.kind = SourceEvent::kRecord;
  s.event.tp = tp;
  s.event.record.partition = tp.partition;
  s.event.record.offset = offset;
  s.event.record.timestamp_ms = timestamp_ms;
  s.key = std::move(key);
  s.value = std::move(value);
  script_.push_back(std::move(s));
}

void FakeRecordSource::AddEnd(const TopicPartition& tp, int64_t end_offset) {
  Scripted s;
  s.event.kind = SourceEvent::kEnd;
  s.event.tp = tp;
  s.event.offset = end_offset;
  ends_[tp] = std::max(ends_[tp], end_offset);
  script_.push_back(std::move(s));
}

void FakeRecordSource::AddBrokerDown(absl::Status why) {
  Scripted s;
  s.event.kind = SourceEvent::kBrokerDown;
  s.event.status = std::move(why);
  script_.push_back(std::move(s));
}

void FakeRecordSource::AddFatal(absl::Status why) {
  Scripted s;
  s.event.kind = SourceEvent::kFatal;
  s.event.status = std::move(why);
  script_.push_back(std::move(s));
}

std::optional<SourceEvent> FakeRecordSource::Poll(int /*timeout_ms*/) {
  if (script_.empty()) return std::nullopt;
  current_ = std::move(script_.front());
  script_.pop_front();
  SourceEvent& e = current_.event;
  if (e.kind == SourceEvent::kRecord) {
    // Point the views at this event's own bytes (they moved with it).
    e.record.topic = e.tp.topic;
    e.record.key = current_.key ? std::optional<std::string_view>(*current_.key) : std::nullopt;
    e.record.value = current_.value;
    positions_[e.tp] = e.record.offset + 1;
    ++records_polled_;
  }
  return e;
}

absl::Status FakeRecordSource::Assign(const Starts& starts) {
  calls_.push_back("assign");
  assignments_.push_back(starts);
  for (const auto& [tp, offset] : starts) positions_[tp] = offset;
  return absl::OkStatus();
}

absl::Status FakeRecordSource::Unassign() {
  calls_.push_back("unassign");
  ++unassigns_;
  positions_.clear();
  return absl::OkStatus();
}

std::optional<int64_t> FakeRecordSource::EndOffset(const TopicPartition& tp) {
  auto it = ends_.find(tp);
  if (it == ends_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> FakeRecordSource::Position(const TopicPartition& tp) {
  auto it = positions_.find(tp);
  if (it == positions_.end()) return std::nullopt;
  return it->second;
}

absl::Status FakeRecordSource::Close() {
  calls_.push_back("close");
  closed_ = true;
  return absl::OkStatus();
}

}  // namespace recur
