#include "streams/standby.h"

#include <pthread.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
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

std::optional<std::set<int32_t>> StandbysFromView(const KafkaAdmin::GroupView& view,
                                                  const std::string& me, int replicas) {
  if (!view.stable || !view.members.count(me)) return std::nullopt;
  return ChooseStandbys(view.members, me, replicas);
}

struct StandbyKeeper::Copy {
  std::unique_ptr<KafkaChangelog> log;
  std::unique_ptr<StandbyCopy> copy;  // destroyed before its log
  bool busy = false;                  // the keeper reads it (outside mu_)
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
    for (auto& [p, c] : copies_) {
      if (c->busy) c->log->Cancel();
    }
  }
  thread_.join();
  absl::MutexLock lock(&mu_);
  copies_.clear();  // each copy before its log (Copy's member order)
}

std::unique_ptr<StandbyKeeper::Copy> StandbyKeeper::TakeCopy(int32_t p) {
  std::unique_ptr<Copy> c;
  if (auto it = copies_.find(p); it != copies_.end()) {
    c = std::move(it->second);
    copies_.erase(it);
  }
  stats_.ends.erase(p);
  return c;
}

void StandbyKeeper::Release(const std::set<int32_t>& partitions) {
  // A copy the keeper is not reading is closed here at once; one it reads is
  // cancelled, and the keeper closes it when the read returns.
  std::vector<std::unique_ptr<Copy>> closing;
  mu_.Lock();
  owned_.insert(partitions.begin(), partitions.end());
  for (int32_t p : partitions) {
    auto it = copies_.find(p);
    if (it == copies_.end()) continue;
    if (it->second->busy) {
      it->second->log->Cancel();
    } else {
      closing.push_back(TakeCopy(p));
    }
  }
  mu_.Unlock();
  closing.clear();  // the RocksDB locks go with them
  absl::MutexLock lock(&mu_);
  auto released = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return std::none_of(partitions.begin(), partitions.end(),
                        [&](int32_t p) { return copies_.count(p) > 0; });
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

void StandbyKeeper::Run() {
  for (;;) {
    Round();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stop_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval);
    if (stop_) break;
  }
}

void StandbyKeeper::Round() {
  // Which partitions: from the coordinator's view of the group. Unknown (the
  // coordinator is away, or this instance has not joined yet): as before.
  const std::string me = options_.member_id();
  if (options_.replicas == 0) {
    // No copies to choose: the cleaner needs only this member's own
    // assignment, not the group's view. The view is an Admin request to the
    // group's coordinator, and librdkafka 2.0.x aborts the process when that
    // broker's connection drops under one (librdkafka#4605; docs/DESIGN.md,
    // "Known pitfalls").
    if (!me.empty()) SeeOwnAssignment();
  } else if (!me.empty()) {
    if (admin_ == nullptr) {
      auto admin = KafkaAdmin::Create(options_.kafka, options_.group + "-standby");
      if (admin.ok()) admin_ = std::move(*admin);
    }
    auto view =
        admin_ != nullptr
            ? admin_->DescribeGroup(options_.group, absl::Seconds(10))
            : absl::StatusOr<KafkaAdmin::GroupView>(absl::UnavailableError("no admin client"));
    std::optional<std::set<int32_t>> wanted;
    if (view.ok()) wanted = StandbysFromView(*view, me, options_.replicas);
    if (wanted.has_value()) {  // (a stable view with this member in it)
      mine_ = view->members.at(me);
      elsewhere_.clear();
      for (const auto& [member, parts] : view->members) {
        if (member != me) elsewhere_.insert(parts.begin(), parts.end());
      }
    }
    if (wanted.has_value() && *wanted != wanted_) {
      spdlog::info(
          "standby: keeping partition numbers [{}] warm (--standby-replicas {}, member {})",
          absl::StrJoin(*wanted, ","), options_.replicas, me);
      wanted_ = std::move(*wanted);
    } else if (!view.ok()) {
      spdlog::debug("standby: {}", std::string(view.status().message()));
    } else if (!view->stable && view->state != last_state_) {
      spdlog::debug("standby: group '{}' is {}: the copies stay as they are", options_.group,
                    view->state);
    }
    if (view.ok()) last_state_ = view->state;
  }
  std::vector<int32_t> drop;
  {
    absl::MutexLock lock(&mu_);
    // A copy closed because nobody wants it here waits for cleanup_delay
    // (a copy leaves copies_ only so, or when its partition is owned here).
    const absl::Time now = absl::Now();
    for (const auto& [p, c] : copies_) {
      if (!wanted_.count(p) || owned_.count(p)) drop.push_back(p);
      if (!wanted_.count(p) && !owned_.count(p)) unwanted_.try_emplace(p, Unwanted{now});
    }
    // So does a store here of a partition another member owns that this one
    // does not keep: left by an earlier run, or by this one before it moved.
    for (int32_t p : elsewhere_) {
      if (!wanted_.count(p) && !owned_.count(p) && !copies_.count(p) && !spared_.count(p) &&
          std::filesystem::exists(StateDir::PartitionPath(options_.state_dir, p)))
        unwanted_.try_emplace(p, Unwanted{now, /*store=*/true});
    }
    std::erase_if(unwanted_, [this](const auto& u) ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return wanted_.count(u.first) > 0 || owned_.count(u.first) > 0 || mine_.count(u.first) > 0;
    });
    // A store spared once may be logged since (opened here with the changelog).
    std::erase_if(
        spared_, [this](int32_t p) ABSL_SHARED_LOCKS_REQUIRED(mu_) { return owned_.count(p) > 0; });
  }
  for (int32_t p : drop) CloseCopy(p);
  for (int32_t p : wanted_) CatchUpCopy(p);
  RemoveUnwanted();
}

void StandbyKeeper::SeeOwnAssignment() {
  std::set<int32_t> owned;
  {
    absl::MutexLock lock(&mu_);
    owned = owned_;
  }
  // Unassigned (joining, or between an eager rebalance's revoke and assign):
  // nothing is known, so nothing changes.
  if (owned.empty()) return;
  mine_ = owned;
  elsewhere_.clear();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(options_.state_dir, ec)) {
    const std::string name = entry.path().filename().string();
    int32_t p = 0;
    if (absl::StartsWith(name, "partition-") &&
        absl::SimpleAtoi(absl::string_view(name).substr(10), &p) && p >= 0 && !owned.count(p))
      elsewhere_.insert(p);
  }
}

void StandbyKeeper::RemoveUnwanted() {
  const absl::Time now = absl::Now();
  for (auto it = unwanted_.begin(); it != unwanted_.end();) {
    const int32_t p = it->first;
    if (now - it->second.since < options_.cleanup_delay) {
      ++it;
      continue;
    }
    // Under mu_: a Release of p (its store about to open here) waits, and
    // then finds the directory whole or gone (restored from the changelog).
    absl::MutexLock lock(&mu_);
    const bool stale = it->second.store;
    const std::string path = StateDir::PartitionPath(options_.state_dir, p);
    // Only a store the changelog holds all of (a copy always is).
    absl::StatusOr<bool> logged = !stale || !std::filesystem::exists(path)
                                      ? absl::StatusOr<bool>(true)
                                      : StandbyCopy::IsLogged(path);
    if (logged.ok() && !*logged) {
      spared_.insert(p);
      spdlog::warn(
          "standby: {} (partition {}, owned by another member) is kept: it was never "
          "logged to the changelog, so its state is only here",
          path, p);
    } else if (!owned_.count(p) && !copies_.count(p)) {
      absl::Status d = logged.ok() ? StandbyCopy::Destroy(path) : logged.status();
      if (d.ok()) {
        ++stats_.removed;
        spdlog::info("standby: deleted the {} of partition {} ({}), not wanted here for {}",
                     stale ? "store" : "copy", p, path,
                     absl::FormatDuration(options_.cleanup_delay));
      } else {
        // E.g. open by another instance on the same disk: its store now.
        spdlog::warn("standby: {} no longer wanted here is not deleted: {}", path,
                     std::string(d.message()));
      }
    }
    it = unwanted_.erase(it);
  }
}

void StandbyKeeper::CloseCopy(int32_t p) {
  Copy* c = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = copies_.find(p);
    if (it == copies_.end()) return;
    c = it->second.get();
    c->busy = true;  // a Release meanwhile waits until it is gone
  }
  Remove(p, c);
}

void StandbyKeeper::Remove(int32_t p, Copy* c) {
  c->copy.reset();  // the RocksDB lock, before the copy leaves copies_
  std::unique_ptr<Copy> gone;
  absl::MutexLock lock(&mu_);
  gone = TakeCopy(p);
}

void StandbyKeeper::CatchUpCopy(int32_t p) {
  Copy* c = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (stop_ || owned_.count(p)) return;
    auto& slot = copies_[p];
    if (slot == nullptr) {
      slot = std::make_unique<Copy>();
      slot->log = KafkaChangelog::Reader({.kafka = options_.kafka,
                                          .topic = options_.changelog_topic,
                                          .partition = p,
                                          .group = options_.group});
    }
    c = slot.get();
    c->busy = true;  // Release cancels it and waits, never closes it
  }
  absl::Status failed;
  int64_t applied = 0;
  if (c->copy == nullptr) {
    auto opened = StandbyCopy::Open(StateDir::PartitionPath(options_.state_dir, p), c->log.get());
    if (opened.ok()) {
      c->copy = std::move(*opened);
    } else {
      failed = opened.status();  // e.g. locked by another process on a shared disk
    }
  }
  if (failed.ok()) {
    auto r = c->copy->CatchUp();
    if (r.ok())
      applied = *r;
    else
      failed = r.status();
  }
  if (failed.ok() && !c->warm) {
    spdlog::info("standby: partition {} warm, at changelog offset {}", p, c->copy->end());
    c->warm = true;
  }
  if (failed.ok()) {
    c->last_error.clear();
  } else if (!absl::IsCancelled(failed) && c->last_error != failed.message()) {
    c->last_error = std::string(failed.message());
    spdlog::warn("standby: partition {}: {} (retried)", p, c->last_error);
  }
  bool close = false;
  {
    absl::MutexLock lock(&mu_);
    if (failed.ok()) {
      stats_.ends[p] = c->copy->end();
      stats_.records += applied;
    }
    // Released meanwhile, stopping, cancelled (a reader stays cancelled) or
    // not opened: closed (the next round opens it again if still wanted).
    close = owned_.count(p) || stop_ || absl::IsCancelled(failed) || c->copy == nullptr;
    if (!close) c->busy = false;
  }
  if (close) Remove(p, c);
}

}  // namespace recur
