#include "streams/score_worker.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "streams/retry.h"

namespace recur {

ScoreWorker::ScoreWorker(std::unique_ptr<ScoreStage> stage, Options options)
    : options_(options), stage_(std::move(stage)) {
  {
    absl::MutexLock lock(&mu_);
    Publish();
  }
  thread_ = std::thread([this] { Loop(); });
}

ScoreWorker::~ScoreWorker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void ScoreWorker::Submit(std::vector<ScoreStage::Work> work) {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
        return w->queue_.size() < w->options_.max_queued || !w->error_.ok();
      },
      this));
  if (!error_.ok()) return;  // the pipeline stops on error(); nothing more is scored
  queue_.push_back(std::move(work));
  stats_.idle = false;
}

absl::Status ScoreWorker::Exclusive(const std::function<absl::Status(ScoreStage&)>& fn) {
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
          return (w->queue_.empty() && !w->busy_) || !w->error_.ok();
        },
        this));
    if (!error_.ok()) return error_;
  }
  absl::MutexLock stage_lock(&stage_mu_);
  absl::Status s = fn(*stage_);
  absl::MutexLock lock(&mu_);
  Publish();
  return s;
}

ScoreWorker::Stats ScoreWorker::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

absl::Status ScoreWorker::error() const {
  absl::MutexLock lock(&mu_);
  return error_;
}

// Copies what the pipeline reads; the caller holds mu_ and no call of the
// stage runs on another thread (the worker between steps, or Exclusive).
void ScoreWorker::Publish() {
  stats_.active = stage_->active();
  stats_.versions = stage_->versions();
  stats_.counters = stage_->counters();
  stats_.rescored_days = stage_->RescoredDays();
  stats_.idle = queue_.empty() && !busy_ && stage_->idle();
}

void ScoreWorker::Loop() {
  int64_t retries = 0;
  for (;;) {
    std::vector<ScoreStage::Work> work;
    bool have = false;
    {
      absl::MutexLock lock(&mu_);
      // Wake for work, to stop, or every 10 ms to record delivered scores.
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
                                 return !w->queue_.empty() || w->stop_;
                               },
                               this),
                           absl::Milliseconds(10));
      if (stop_) return;
      if (!error_.ok()) continue;
      if (!queue_.empty()) {
        work = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        have = true;
      }
    }
    absl::Status s;
    {
      absl::MutexLock stage_lock(&stage_mu_);
      if (have) {
        RetryPolicy policy{options_.max_retries, &retries, nullptr};
        s = WithRetries("scores", policy, [&] { return stage_->ScoreCustomers(work); });
      }
      if (s.ok()) s = stage_->Drain(/*wait=*/false);
      // New models between batches: the pipeline sees counters.reloads grow
      // and asks for a re-scoring pass.
      if (s.ok() && !have) stage_->MaybeReload();
      absl::MutexLock lock(&mu_);
      busy_ = false;
      if (!s.ok() && error_.ok()) {
        error_ = absl::Status(s.code(), absl::StrCat("scoring: ", s.message()));
      }
      stats_.retries = retries;
      Publish();
    }
  }
}

}  // namespace recur
