#include "streams/standby.h"

#include <pthread.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "featurestore/standby_copy.h"
#include "featurestore/state_dir.h"
#include "spdlog/spdlog.h"
#include "streams/admin.h"
#include "streams/changelog_kafka.h"

namespace recur {

std::set<int32_t> ChooseStandbys(const std::map<std::string, std::set<int32_t>>& assignment,
                                 const std::string& me, int replicas) {
  std::vector<const std::string*> ring;
  for (const auto& [member, parts] : assignment) ring.push_back(&member);
  const auto at = std::find_if(ring.begin(), ring.end(), [&](auto* m) { return *m == me; });
  std::set<int32_t> out;
  if (at == ring.end()) return out;
  const size_t n = ring.size(), mine = static_cast<size_t>(at - ring.begin());
  const size_t k = std::min<size_t>(std::max(replicas, 0), n - 1);
  // Member i's partitions go to i+1 .. i+k: `me` keeps those of mine-1 .. mine-k.
  for (size_t d = 1; d <= k; ++d) {
    const auto& parts = assignment.at(*ring[(mine + n - d) % n]);
    out.insert(parts.begin(), parts.end());
  }
  for (int32_t p : assignment.at(me)) out.erase(p);
  return out;
}

struct StandbyKeeper::Copy {
  std::unique_ptr<KafkaChangelog> log;
  std::unique_ptr<StandbyCopy> copy;  // destroyed before its log
  bool warm = false;                  // caught up once
  std::string last_error;             // logged once until it changes
};

StandbyKeeper::StandbyKeeper(StandbyOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recur-standby");
    Run();
  });
}

StandbyKeeper::~StandbyKeeper() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    for (auto& [p, log] : open_) log->Cancel();
  }
  thread_.join();
}

void StandbyKeeper::Release(const std::set<int32_t>& partitions) {
  absl::MutexLock lock(&mu_);
  owned_.insert(partitions.begin(), partitions.end());
  for (int32_t p : partitions) {
    if (auto it = open_.find(p); it != open_.end()) it->second->Cancel();
  }
  auto released = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return std::none_of(partitions.begin(), partitions.end(),
                        [&](int32_t p) { return open_.count(p) > 0; });
  };
  mu_.Await(absl::Condition(&released));
}

void StandbyKeeper::SetOwned(const std::set<int32_t>& owned) {
  absl::MutexLock lock(&mu_);
  owned_ = owned;
}

StandbyKeeper::Stats StandbyKeeper::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void StandbyKeeper::CloseCopy(int32_t p) {
  std::unique_ptr<Copy> c;
  if (auto it = copies_.find(p); it != copies_.end()) {
    c = std::move(it->second);
    copies_.erase(it);
  }
  if (c != nullptr) c->copy.reset();  // the RocksDB lock first
  absl::MutexLock lock(&mu_);
  open_.erase(p);  // then Release goes on; the log (c) last: Release may have held it
  stats_.ends.erase(p);
}

void StandbyKeeper::Run() {
  for (;;) {
    Round();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval);
    if (stop_) break;
  }
  std::vector<int32_t> open;
  for (const auto& [p, copy] : copies_) open.push_back(p);
  for (int32_t p : open) CloseCopy(p);
}

void StandbyKeeper::Round() {
  // Which partitions: from the coordinator's view of the group. Unknown (the
  // coordinator is away, or this instance has not joined yet): as before.
  const std::string me = options_.member_id();
  if (!me.empty()) {
    if (admin_ == nullptr) {
      auto admin = KafkaAdmin::Create(options_.kafka, options_.group + "-standby");
      if (admin.ok()) admin_ = std::move(*admin);
    }
    auto assignment = admin_ != nullptr ? admin_->GroupAssignment(options_.group, absl::Seconds(10))
                                        : absl::StatusOr<std::map<std::string, std::set<int32_t>>>(
                                              absl::UnavailableError("no admin client"));
    if (assignment.ok() && assignment->count(me)) {
      std::set<int32_t> wanted = ChooseStandbys(*assignment, me, options_.replicas);
      if (wanted != wanted_) {
        spdlog::info("standby: keeping partition numbers [{}] warm (--standby-replicas {})",
                     absl::StrJoin(wanted, ","), options_.replicas);
        wanted_ = std::move(wanted);
      }
    } else if (!assignment.ok()) {
      spdlog::debug("standby: {}", std::string(assignment.status().message()));
    }
  }
  std::set<int32_t> owned;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    owned = owned_;
  }
  std::vector<int32_t> drop;
  for (const auto& [p, copy] : copies_) {
    if (!wanted_.count(p) || owned.count(p)) drop.push_back(p);
  }
  for (int32_t p : drop) CloseCopy(p);
  for (int32_t p : wanted_) {
    if (owned.count(p)) continue;
    auto& slot = copies_[p];
    if (slot == nullptr) {
      auto c = std::make_unique<Copy>();
      c->log = KafkaChangelog::Reader({.kafka = options_.kafka,
                                       .topic = options_.changelog_topic,
                                       .partition = p,
                                       .group = options_.group});
      {
        absl::MutexLock lock(&mu_);
        if (owned_.count(p) || stop_) {  // taken meanwhile: not opened
          copies_.erase(p);
          continue;
        }
        open_[p] = c->log.get();  // before its directory is locked: Release waits for it
      }
      KafkaChangelog* log = c->log.get();
      slot = std::move(c);
      auto opened = StandbyCopy::Open(StateDir::PartitionPath(options_.state_dir, p), log);
      if (!opened.ok()) {  // e.g. locked by another process on a shared disk
        spdlog::debug("standby: partition {}: {}", p, std::string(opened.status().message()));
        CloseCopy(p);
        continue;
      }
      slot->copy = std::move(*opened);
    }
    Copy& c = *slot;
    auto applied = c.copy->CatchUp();
    if (applied.ok()) {
      if (!c.warm) {
        spdlog::info("standby: partition {} warm, at changelog offset {}", p, c.copy->end());
        c.warm = true;
      }
      c.last_error.clear();
      absl::MutexLock lock(&mu_);
      stats_.ends[p] = c.copy->end();
      stats_.records += *applied;
    } else if (!absl::IsCancelled(applied.status()) && c.last_error != applied.status().message()) {
      c.last_error = std::string(applied.status().message());
      spdlog::warn("standby: partition {}: {} (retried)", p, c.last_error);
    }
    bool release = false;
    {
      absl::MutexLock lock(&mu_);
      release = owned_.count(p) > 0 || stop_;
    }
    if (release || absl::IsCancelled(applied.status())) CloseCopy(p);
  }
}

}  // namespace recur
