// ScoreWorker: the scoring stage of `recur run` on its own thread, so the loop
// that consumes and applies batches never waits for XGBoost or for the scores'
// delivery (the pipelined loop, docs/DESIGN.md "State layout and write path").
//
//   recur::ScoreWorker worker(std::move(stage), {.max_queued = 4});
//   worker.Submit(work);                       // after a batch is applied: returns at once
//   worker.Exclusive([&](ScoreStage& s) {      // reload, open/close stores, re-scoring pass:
//     return s.Rescore(p, store);              //   with every queued batch scored first
//   });
//   if (!worker.error().ok()) ...              // scoring failed after its retries: stop
//
// The worker also checks for new models itself (ScoreStage::MaybeReload, every
// reload_check_ms), so the loop never waits for it except to open or close
// stores, for a re-scoring pass and at the end.
// Order and guarantees: batches are scored in the order submitted (batches
// queued behind one another are scored in one call, each customer once: the
// state read is the same, as it already includes the later batches); a store's
// touched customers stay marked pending (FeatureStore) until their scores are
// delivered, so a crash with batches still queued re-scores them after the
// restart. Backpressure: Submit blocks while max_queued batches wait (memory
// stays bounded when scoring is slower than ingest).
// Thread-safety: Submit, Exclusive, Stats and error from one thread (the
// pipeline's); the worker thread is the only other user of the stage.
#ifndef RECUR_STREAMS_SCORE_WORKER_H_
#define RECUR_STREAMS_SCORE_WORKER_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "streams/scoring.h"

namespace recur {

class ScoreWorker {
 public:
  struct Options {
    size_t max_queued = 4;  // batches waiting to be scored
    int max_retries = 8;    // a failed scoring call is retried with backoff, then error()
  };
  // What the pipeline's stats and watchers read, copied after every step.
  struct Stats {
    bool active = false;       // both models loaded
    bool idle = true;          // nothing queued, nothing in flight
    std::string versions;      // ScoreStage::versions()
    ScoringCounters counters;  // counters.reloads grows when the worker swapped models
    int64_t retries = 0;
    std::map<int32_t, int32_t> rescored_days;  // ScoreStage::RescoredDays()
    std::set<int32_t> passing;                 // passes requested or in progress
    int64_t pass_steps = 0;
    // Time the caller (the loop) waited in Submit (a full queue: backpressure)
    // and Exclusive (a reload, a store opened, a whole pass); the longest wait.
    int64_t wait_ms = 0;
    int64_t wait_ms_max = 0;
    // Batches scored together with the one queued before them (one call for
    // consecutive queued batches, each customer once).
    int64_t merged = 0;
  };

  ScoreWorker(std::unique_ptr<ScoreStage> stage, Options options);
  ~ScoreWorker();  // stops the thread; what is still queued is not scored
  ScoreWorker(const ScoreWorker&) = delete;
  ScoreWorker& operator=(const ScoreWorker&) = delete;

  // Queues one batch's customers (blocks while max_queued batches wait).
  void Submit(std::vector<ScoreStage::Work> work);
  // Queues the start of a re-scoring pass of a partition's store, after the
  // batches queued before it; the caller flushed the store (ScoreStage::StartPass).
  // The worker then runs the passes' steps whenever no batch waits for its
  // scores (and at least one a second), so ingest and event-driven scores go
  // on during the pass and come first. Stats::passing lists the partition until it is
  // complete (or dropped by a model reload or a close of the store).
  void RequestPass(int32_t partition);
  // Waits until every queued batch is scored and no call runs, then runs `fn`
  // on the stage on this thread (the worker waits meanwhile). A pass under way
  // is paused, not waited for: at most the step in flight ends first.
  absl::Status Exclusive(const std::function<absl::Status(ScoreStage&)>& fn);
  Stats stats() const;
  // The first scoring or delivery failure after its retries (OK if none).
  absl::Status error() const;

 private:
  void Loop();
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds `from`'s customers to `into`, per store, each customer once.
  static void MergeWork(std::vector<ScoreStage::Work>* into, std::vector<ScoreStage::Work> from);

  const Options options_;
  std::unique_ptr<ScoreStage> stage_;  // used under stage_mu_
  absl::Mutex stage_mu_;
  mutable absl::Mutex mu_;
  struct Item {
    std::vector<ScoreStage::Work> work;
    int32_t pass = -1;  // >= 0: start a pass of this partition (RequestPass)
  };
  // Runs one queued item and, if passes are in progress, one step of the next
  // of them (round robin) unless batches wait (see kMaxStepGap). Under stage_mu_.
  absl::Status Step(Item* item, bool step, bool nothing_waits, int64_t* retries);
  // A pass step may run: one is under way, no error, and no Exclusive waits
  // (it goes first: a revocation or a store opened never waits for a pass).
  bool StepDue() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stepping_ && error_.ok() && exclusive_waiting_ == 0;
  }
  static constexpr std::chrono::milliseconds kMaxStepGap{1000};
  std::chrono::steady_clock::time_point last_step_;  // under stage_mu_
  void CountWait(std::chrono::steady_clock::time_point since) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stepping_ ABSL_GUARDED_BY(mu_) = false;  // a pass is in progress
  int exclusive_waiting_ ABSL_GUARDED_BY(mu_) = 0;
  int32_t next_pass_ = -1;                  // round robin; under stage_mu_
  int64_t pass_steps_ = 0;                  // under stage_mu_
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // the worker is scoring a batch
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_SCORE_WORKER_H_
