#include "streams/score_worker.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "base/sync_point.h"
#include "streams/batch_builder.h"
#include "streams/retry.h"

namespace recur {

ScoreWorker::ScoreWorker(std::unique_ptr<ScoreStage> stage, Options options)
    : options_(options), stage_(std::move(stage)) {
  {
    absl::MutexLock lock(&mu_);
    Publish();
  }
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recur-score");  // for top -H and perf
    Loop();
  });
}

ScoreWorker::~ScoreWorker() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void ScoreWorker::CountWait(std::chrono::steady_clock::time_point since) {
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - since)
                         .count();
  stats_.wait_ms += ms;
  stats_.wait_ms_max = std::max(stats_.wait_ms_max, ms);
}

void ScoreWorker::Submit(std::vector<ScoreStage::Work> work) {
  const auto since = std::chrono::steady_clock::now();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
        return w->queue_.size() < w->options_.max_queued || !w->error_.ok();
      },
      this));
  CountWait(since);
  if (!error_.ok()) return;  // the pipeline stops on error(); nothing more is scored
  queue_.push_back({std::move(work), -1});
  stats_.idle = false;
}

void ScoreWorker::RequestPass(int32_t partition) {
  absl::MutexLock lock(&mu_);
  if (!error_.ok()) return;
  queue_.push_back({{}, partition});  // not counted against max_queued: it is no batch
  stats_.passing.insert(partition);
  stats_.idle = false;
}

absl::Status ScoreWorker::Exclusive(const std::function<absl::Status(ScoreStage&)>& fn) {
  const auto since = std::chrono::steady_clock::now();
  {
    absl::MutexLock lock(&mu_);
    ++exclusive_waiting_;  // the worker takes no further pass step meanwhile
    mu_.Await(absl::Condition(
        +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
          return (w->queue_.empty() && !w->busy_) || !w->error_.ok();
        },
        this));
    if (!error_.ok()) {
      --exclusive_waiting_;
      return error_;
    }
  }
  absl::MutexLock stage_lock(&stage_mu_);
  absl::Status s = fn(*stage_);
  absl::MutexLock lock(&mu_);
  --exclusive_waiting_;
  Publish();
  CountWait(since);
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
  stats_.passing = stage_->Passing();
  stepping_ = !stats_.passing.empty();  // before the requests still queued are added
  for (const Item& item : queue_) {
    if (item.pass >= 0) stats_.passing.insert(item.pass);
  }
  stats_.pass_steps = pass_steps_;
  stats_.idle = queue_.empty() && !busy_ && stage_->idle() && stats_.passing.empty();
}

absl::Status ScoreWorker::Step(Item* item, bool step, bool nothing_waits, int64_t* retries) {
  RetryPolicy policy{options_.max_retries, retries, nullptr};
  absl::Status s;
  if (item != nullptr && item->pass >= 0) {
    s = stage_->StartPass(item->pass);
  } else if (item != nullptr) {
    s = WithRetries("scores", policy, [&] { return stage_->ScoreCustomers(item->work); });
  }
  if (!s.ok()) return s;
  // One step of the next pass in progress, when no batch waits for its scores
  // (they come first), or at least every kMaxStepGap so that a pass ends even
  // when batches never stop queuing: a batch waits for at most one step.
  const std::set<int32_t> passing = stage_->Passing();
  const auto now = std::chrono::steady_clock::now();
  if (!step || passing.empty() || (!nothing_waits && now - last_step_ < kMaxStepGap))
    return absl::OkStatus();
  last_step_ = now;
  auto next = passing.upper_bound(next_pass_);
  next_pass_ = next != passing.end() ? *next : *passing.begin();
  ++pass_steps_;
  return WithRetries("re-scoring", policy, [&] { return stage_->PassStep(next_pass_).status(); });
}

void ScoreWorker::MergeWork(std::vector<ScoreStage::Work>* into,
                            std::vector<ScoreStage::Work> from) {
  for (ScoreStage::Work& w : from) {
    auto same = std::find_if(into->begin(), into->end(), [&](const ScoreStage::Work& x) {
      return x.partition == w.partition && x.store == w.store;
    });
    if (same == into->end()) {
      into->push_back(std::move(w));
      continue;
    }
    same->keys.insert(same->keys.end(), w.keys.begin(), w.keys.end());
    std::sort(same->keys.begin(), same->keys.end());
    same->keys.erase(std::unique(same->keys.begin(), same->keys.end()), same->keys.end());
    same->oldest_record_ms = OldestKnownMs(same->oldest_record_ms, w.oldest_record_ms);
  }
}

void ScoreWorker::Loop() {
  int64_t retries = 0;
  for (;;) {
    Item item;
    bool have = false, nothing_waits = false, step = false;
    {
      absl::MutexLock lock(&mu_);
      // Wake for work, to stop, or every 10 ms to record delivered scores
      // (at once while a pass is in progress: its next step is work).
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](ScoreWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
                                 return !w->queue_.empty() || w->stop_ || w->StepDue();
                               },
                               this),
                           absl::Milliseconds(10));
      if (stop_) return;
      if (!error_.ok()) continue;
      if (!queue_.empty()) {
        item = std::move(queue_.front());
        queue_.pop_front();
        // Batches queued behind it (not a pass request): one scoring call for
        // all of them, each customer once, so the models' calls are larger.
        while (item.pass < 0 && !queue_.empty() && queue_.front().pass < 0) {
          MergeWork(&item.work, std::move(queue_.front().work));
          queue_.pop_front();
          ++stats_.merged;
        }
        have = true;
      }
      step = StepDue();
      busy_ = have || step;
      nothing_waits = queue_.empty();
    }
    if (have) RECUR_SYNC_POINT("ScoreWorker::BeforeScoring");  // tests: batches queue meanwhile
    absl::Status s;
    {
      absl::MutexLock stage_lock(&stage_mu_);
      s = Step(have ? &item : nullptr, step, nothing_waits, &retries);
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
