// FakeRecordSource: an in-memory RecordSource for tests — a script of events
// played back in order, and a record of what the pipeline asked of it
// (assignments, pauses, committed offsets). No broker, no threads.
//
//   auto fake = std::make_unique<recur::FakeRecordSource>();
//   fake->Assigned({{"shop.purchases", 0}});
//   fake->AddRecord({"shop.purchases", 0}, 0, "shop-1/c-1", bytes, ts_ms);
//   fake->AddEnd({"shop.purchases", 0}, 1);
//   recur::FakeRecordSource* script = fake.get();   // still readable after the move
//   auto pipeline = recur::Pipeline::CreateWithSource(options, std::move(fake), &sink);
//
// Poll returns the next scripted event, or nothing once the script is played;
// a scripted kAssigned must be answered with Assign (as with Kafka), which the
// fake records in `assignments()`. EndOffset is the largest end scripted with
// AddEnd (or set with SetEndOffset); Position follows the records returned.
// Thread-safety: one thread.
#ifndef RECUR_STREAMS_FAKE_SOURCE_H_
#define RECUR_STREAMS_FAKE_SOURCE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "streams/record_source.h"

namespace recur {

class FakeRecordSource final : public RecordSource {
 public:
  // Script.
  void Assigned(std::vector<TopicPartition> partitions);
  void Revoked(std::vector<TopicPartition> partitions);
  // A cooperative group's revocation: just `partitions` (SourceEvent::incremental).
  void RevokedSome(std::vector<TopicPartition> partitions);
  // A cooperative group's assignment: `partitions` added to what is assigned.
  void AssignedSome(std::vector<TopicPartition> partitions);
  void AddRecord(const TopicPartition& tp, int64_t offset, std::optional<std::string> key,
                 std::string value, int64_t timestamp_ms = -1);
  void AddEnd(const TopicPartition& tp, int64_t end_offset);
  void AddBrokerDown(absl::Status why);
  void AddFatal(absl::Status why);
  void SetEndOffset(const TopicPartition& tp, int64_t end) { ends_[tp] = end; }
  bool played() const { return script_.empty(); }
  // Records Poll handed out so far; may be read from any thread.
  int64_t records_polled() const { return records_polled_.load(); }

  // What the pipeline did.
  using Starts = std::vector<std::pair<TopicPartition, int64_t>>;
  const std::vector<Starts>& assignments() const { return assignments_; }
  int unassigns() const { return unassigns_; }
  const std::vector<TopicPartition>& paused() const { return paused_; }
  const std::vector<OffsetMap>& commits() const { return commits_; }
  bool closed() const { return closed_; }
  // Every call in order: "assign", "unassign", "pause", "commit", "rejoin", "close".
  const std::vector<std::string>& calls() const { return calls_; }

  // RecordSource.
  std::optional<SourceEvent> Poll(int timeout_ms) override;
  absl::Status Assign(const Starts& starts) override;
  absl::Status Unassign() override;
  void Pause(const TopicPartition& tp) override {
    calls_.push_back("pause");
    paused_.push_back(tp);
  }
  void CommitAsync(const OffsetMap& offsets) override {
    calls_.push_back("commit");
    commits_.push_back(offsets);
  }
  std::optional<int64_t> EndOffset(const TopicPartition& tp) override;
  std::optional<int64_t> Position(const TopicPartition& tp) override;
  bool ProbeBroker() override { return true; }
  absl::Status Rejoin() override {
    calls_.push_back("rejoin");
    return absl::OkStatus();
  }
  absl::Status Close() override;

 private:
  struct Scripted {
    SourceEvent event;
    std::optional<std::string> key;  // owned bytes behind a kRecord's views
    std::string value;
  };
  std::deque<Scripted> script_;
  Scripted current_;  // the last event returned (keeps its views valid)
  std::map<TopicPartition, int64_t> ends_;
  std::map<TopicPartition, int64_t> positions_;
  std::vector<Starts> assignments_;
  int unassigns_ = 0;
  std::vector<TopicPartition> paused_;
  std::vector<OffsetMap> commits_;
  bool closed_ = false;
  std::vector<std::string> calls_;
  std::atomic<int64_t> records_polled_{0};
};

}  // namespace recur

#endif  // RECUR_STREAMS_FAKE_SOURCE_H_
