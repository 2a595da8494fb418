// StandbyKeeper: `recur run --standby-replicas N` — warm copies of partition
// stores other instances own, kept by tailing their changelog (docs/DESIGN.md,
// "Standbys"), so a partition that fails over to this instance reads only the
// last seconds of its changelog instead of all of it. With N = 0 it keeps no
// copies and only deletes the logged stores of partitions other members own
// (--state-cleanup-delay-ms; the pipeline runs it whenever it has a changelog).
//
//   StandbyKeeper keeper(options);   // starts its thread
//   keeper.Release({3});             // before partition 3's store opens here
//   keeper.SetOwned({1, 3});         // after this instance's stores changed
//
// Which partitions: every few seconds the keeper asks the group coordinator
// for the group's members and their assignment (DescribeConsumerGroups) and,
// when the group is stable, orders the members by member id in a ring; the N
// members after a partition's owner keep it warm (ChooseStandbys). While the
// group rebalances the copies stay as they are. Nothing else is
// coordinated: a copy is the partition's own store directory, read from the
// changelog with a reader that fences nobody (KafkaChangelog::Reader), and
// whoever is assigned the partition opens that directory and catches it up.
// Thread-safety: Release, SetOwned and stats from any thread; the copies are
// read on the keeper's own thread.
#ifndef RECUR_STREAMS_STANDBY_H_
#define RECUR_STREAMS_STANDBY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "streams/admin.h"
#include "streams/kafka.h"

namespace recur {

class KafkaChangelog;
class StandbyCopy;

// The partition numbers member `me` keeps warm: each member's partitions go to
// the `replicas` members after it in member-id order (fewer when the group is
// smaller), never to their owner.
std::set<int32_t> ChooseStandbys(const std::map<std::string, std::set<int32_t>>& assignment,
                                 const std::string& me, int replicas);
// The same from the coordinator's view of the group; nullopt when the view
// tells nothing about them (the group rebalancing, or `me` not in it yet):
// the keeper then keeps the copies it has.
std::optional<std::set<int32_t>> StandbysFromView(const KafkaAdmin::GroupView& view,
                                                  const std::string& me, int replicas);

struct StandbyOptions {
  int replicas = 1;
  std::string state_dir;
  KafkaProperties kafka;
  std::string group;                           // the pipeline's consumer group
  std::string changelog_topic;                 // one partition per partition number
  std::function<std::string()> member_id;      // this instance's, "" before it joined
  absl::Duration interval = absl::Seconds(1);  // between two catch-ups of every copy
  // A copy the group no longer wants here (neither kept warm nor owned) is
  // deleted from the state dir this long after the keeper closed it (Kafka
  // Streams' state.cleanup.delay.ms); its partition's changelog holds it. So
  // is a store found here of a partition another member owns and this one
  // does not keep (left by an earlier run, or by this run before the
  // partition moved), unless it was never logged. InfiniteDuration: kept.
  absl::Duration cleanup_delay = absl::Minutes(10);
};

class StandbyKeeper {
 public:
  explicit StandbyKeeper(StandbyOptions options);
  ~StandbyKeeper();  // stops the thread, closes the copies
  StandbyKeeper(const StandbyKeeper&) = delete;
  StandbyKeeper& operator=(const StandbyKeeper&) = delete;

  // Closes the copies of `partitions` (a catch-up in progress is cancelled)
  // and keeps none of them until SetOwned says they are not owned here.
  void Release(const std::set<int32_t>& partitions);
  // The partition numbers whose stores are open here (never kept as copies).
  void SetOwned(const std::set<int32_t>& owned);

  struct Stats {
    std::map<int32_t, int64_t> ends;  // copy -> changelog offset it holds up to
    int64_t records = 0;              // applied to copies since the start
    int64_t removed = 0;              // copies deleted (cleanup_delay)
  };
  Stats stats() const;

 private:
  struct Copy;
  void Run();
  void Round();
  void CatchUpCopy(int32_t p);
  void CloseCopy(int32_t p);        // the keeper's: the store closed before the copy goes
  void Remove(int32_t p, Copy* c);  // c busy: its store closed, then out of copies_
  // Deletes the directories of copies unwanted for cleanup_delay.
  void RemoveUnwanted();
  // Replicas 0: mine_ and elsewhere_ from owned_ and the state dir's stores.
  void SeeOwnAssignment();
  // Removes p's copy from copies_ (destroyed by the caller, outside mu_).
  std::unique_ptr<Copy> TakeCopy(int32_t p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const StandbyOptions options_;
  mutable absl::Mutex mu_;
  std::set<int32_t> owned_ ABSL_GUARDED_BY(mu_);
  // The copies; a busy one's log and store are used outside mu_ by the keeper.
  std::map<int32_t, std::unique_ptr<Copy>> copies_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<KafkaAdmin> admin_;  // the keeper thread's (group queries)
  std::set<int32_t> wanted_;           // the keeper thread's
  std::string last_state_;             // the keeper thread's: the group's, last asked
  // The keeper thread's: the directories the group no longer wants here,
  // since when (they wait for cleanup_delay): copies it closed, and stores
  // (`store`) of partitions another member owns that it found here.
  struct Unwanted {
    absl::Time since;
    bool store = false;
  };
  std::map<int32_t, Unwanted> unwanted_;
  // The keeper thread's, from the last stable view of the group: the partition
  // numbers assigned to this member, and to the others.
  // With no standbys (replicas 0), from this member's own assignment: what it
  // owns, and every other partition store in the state dir (SeeOwnAssignment).
  std::set<int32_t> mine_, elsewhere_;
  std::set<int32_t> spared_;  // stores here never logged: never deleted
  std::thread thread_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_STANDBY_H_
