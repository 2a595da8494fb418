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
// Order and guarantees: batches are scored in the order submitted; a store's
// touched customers stay marked pending (FeatureStore) until their scores are
// delivered, so a crash with batches still queued re-scores them after the
// restart. Backpressure: Submit blocks while max_queued batches wait (memory
// stays bounded when scoring is slower than ingest).
// Thread-safety: Submit, Exclusive, Stats and error from one thread (the
// pipeline's); the worker thread is the only other user of the stage.
#ifndef RECUR_STREAMS_SCORE_WORKER_H_
#define RECUR_STREAMS_SCORE_WORKER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
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
  };

  ScoreWorker(std::unique_ptr<ScoreStage> stage, Options options);
  ~ScoreWorker();  // stops the thread; what is still queued is not scored
  ScoreWorker(const ScoreWorker&) = delete;
  ScoreWorker& operator=(const ScoreWorker&) = delete;

  // Queues one batch's customers (blocks while max_queued batches wait).
  void Submit(std::vector<ScoreStage::Work> work);
  // Waits until every queued batch is scored and no call runs, then runs `fn`
  // on the stage on this thread (the worker waits meanwhile).
  absl::Status Exclusive(const std::function<absl::Status(ScoreStage&)>& fn);
  Stats stats() const;
  // The first scoring or delivery failure after its retries (OK if none).
  absl::Status error() const;

 private:
  void Loop();
  void Publish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  std::unique_ptr<ScoreStage> stage_;  // used under stage_mu_
  absl::Mutex stage_mu_;
  mutable absl::Mutex mu_;
  std::deque<std::vector<ScoreStage::Work>> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // the worker is scoring a batch
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_SCORE_WORKER_H_
