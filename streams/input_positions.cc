#include "streams/input_positions.h"

#include <algorithm>

namespace recur {

std::set<int32_t> PartitionNumbers(const std::vector<TopicPartition>& parts) {
  std::set<int32_t> numbers;
  for (const TopicPartition& tp : parts) numbers.insert(tp.partition);
  return numbers;
}

std::vector<std::pair<TopicPartition, int64_t>> StartOffsets(
    const std::vector<TopicPartition>& parts, const std::map<int32_t, OffsetMap>& stored,
    const OffsetMap& fallback) {
  std::vector<std::pair<TopicPartition, int64_t>> starts;
  for (const TopicPartition& tp : parts) {
    int64_t offset = kOffsetBeginning;
    auto in_store = stored.find(tp.partition);
    if (in_store != stored.end() && in_store->second.count(tp) > 0) {
      offset = in_store->second.at(tp);
    } else if (auto start = fallback.find(tp); start != fallback.end()) {
      offset = start->second;
    }
    starts.push_back({tp, offset});
  }
  return starts;
}

void InputPositions::Assign(const std::vector<std::pair<TopicPartition, int64_t>>& starts) {
  run_.reset();
  for (const auto& [tp, offset] : starts) {
    positions_[tp] = offset;
    at_end_.erase(tp);
    if (assigned_set_.insert(tp).second) assigned_.push_back(tp);
  }
}

void InputPositions::Remove(const std::vector<TopicPartition>& parts) {
  run_.reset();
  for (const TopicPartition& tp : parts) {
    assigned_set_.erase(tp);
    at_end_.erase(tp);
    positions_.erase(tp);
    std::erase(assigned_, tp);
  }
}

void InputPositions::Clear() {
  assigned_.clear();
  assigned_set_.clear();
  at_end_.clear();
  positions_.clear();
  run_.reset();
}

bool InputPositions::Record(const TopicPartition& tp) {
  if (run_ && *run_ == tp) return true;
  run_.reset();
  if (!assigned_set_.count(tp)) return false;
  at_end_.erase(tp);
  run_ = tp;
  run_position_ = &positions_[tp];
  return true;
}

bool InputPositions::AtEnd(const TopicPartition& tp) {
  run_.reset();
  if (!assigned_set_.count(tp)) return false;
  at_end_.insert(tp);
  return true;
}

void InputPositions::ForgetEnds() {
  run_.reset();
  at_end_.clear();
}

void InputPositions::Stopped(const TopicPartition& tp, int64_t stop_offset) {
  run_.reset();
  positions_[tp] = stop_offset;
}

bool InputPositions::AllAtEnd(const BatchBuilder& builder) const {
  if (assigned_.empty()) return false;
  for (const auto& tp : assigned_) {
    if (!at_end_.count(tp) && !builder.Stopped(tp)) return false;
  }
  return true;
}

bool InputPositions::AllStopped(const BatchBuilder& builder) const {
  if (assigned_.empty()) return false;
  for (const auto& tp : assigned_) {
    if (!builder.Stopped(tp)) return false;
  }
  return true;
}

bool InputPositions::CaughtUp(int32_t partition, const BatchBuilder& builder,
                              RecordSource& source) const {
  bool any = false;
  for (const auto& tp : assigned_) {
    if (tp.partition != partition) continue;
    any = true;
    if (at_end_.count(tp) || builder.Stopped(tp)) continue;
    const std::optional<int64_t> end = source.EndOffset(tp);
    if (!end || *end < 0) return false;
    const std::optional<int64_t> position = source.Position(tp);
    if (!position || *position < *end) return false;
  }
  return any;
}

std::map<TopicPartition, int64_t> InputPositions::LagByPartition(RecordSource& source) const {
  std::map<TopicPartition, int64_t> lag;
  for (const auto& tp : assigned_) {
    const std::optional<int64_t> end = source.EndOffset(tp);
    if (!end) continue;
    const std::optional<int64_t> position = source.Position(tp);
    if (position && *position >= 0) lag[tp] = std::max<int64_t>(0, *end - *position);
  }
  return lag;
}

}  // namespace recur
