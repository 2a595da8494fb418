#include "streams/apply_stage.h"

#include <pthread.h>

#include <utility>

#include "base/sync_point.h"
#include "streams/retry.h"

namespace recur {

ApplyStage::ApplyStage(Committer* committer, Options options)
    : committer_(committer), options_(std::move(options)) {
  if (options_.threaded) {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "recur-apply");  // for top -H and perf
      Loop();
    });
  }
}

ApplyStage::~ApplyStage() {
  if (!thread_.joinable()) return;
  {
    absl::MutexLock lock(&mu_);
    // A batch handed over is applied first: the thread never stops half-way.
    mu_.Await(absl::Condition(
        +[](ApplyStage* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return !s->todo_; }, this));
    stop_ = true;
  }
  thread_.join();
}

void ApplyStage::Start(Batch batch, Clock::time_point first) {
  busy_ = true;
  if (!options_.threaded) {
    Outcome o = Apply(std::move(batch), first);
    absl::MutexLock lock(&mu_);
    outcome_ = std::move(o);
    return;
  }
  absl::MutexLock lock(&mu_);
  todo_ = std::move(batch);
  todo_first_ = first;
}

bool ApplyStage::done() const {
  absl::MutexLock lock(&mu_);
  return outcome_.has_value();
}

ApplyStage::Outcome ApplyStage::Finish() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](ApplyStage* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->outcome_.has_value(); },
      this));
  Outcome o = std::move(*outcome_);
  outcome_.reset();
  busy_ = false;
  return o;
}

void ApplyStage::Loop() {
  while (true) {
    Batch batch;
    Clock::time_point first;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ApplyStage* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->todo_.has_value() || s->stop_; },
          this));
      if (!todo_) return;  // stop_, nothing handed over
      batch = std::move(*todo_);
      first = todo_first_;
    }
    Outcome o = Apply(std::move(batch), first);
    absl::MutexLock lock(&mu_);
    todo_.reset();
    outcome_ = std::move(o);
  }
}

ApplyStage::Outcome ApplyStage::Apply(Batch batch, Clock::time_point first) {
  Outcome o;
  o.first = first;
  const auto start = Clock::now();
  RECUR_SYNC_POINT("ApplyStage::Apply");
  Committer::Progress progress;  // what landed, across attempts
  o.status = WithRetries("batch", {options_.max_retries, &o.retries, options_.sleep}, [&] {
    Committer::Report report;
    absl::Status s = committer_->Commit(batch, &progress, &report);
    o.apply_ms += report.apply_ms;
    for (Committer::Applied& a : report.applied) o.applied.push_back(std::move(a));
    if (!s.ok()) return s;
    if (options_.flush) {
      if (absl::Status f = options_.flush(); !f.ok()) return f;
      ++o.flushes;
    }
    return absl::OkStatus();
  });
  o.commit_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // The events are freed here, off the loop's thread; the caller needs the rest.
  batch.events.clear();
  batch.event_offsets.clear();
  batch.dead.clear();
  o.batch = std::move(batch);
  return o;
}

}  // namespace recur
