// ApplyStage: commits one batch — its dead letters, then one ApplyBatch per
// partition store (Committer::Commit), retried, and the flush when the stores
// are write-through — on a thread of its own, so the loop reads and decodes
// the next batch meanwhile (the pipelined loop, docs/DESIGN.md "The stages").
// One batch at a time: the loop waits for it (Finish) before it starts the
// next, before anything else touches the stores (a revocation, a flush on the
// clock, a re-scoring pass) and before it scores what the batch changed.
//
//   recur::ApplyStage apply(&committer, {.max_retries = 8});
//   apply.Start(builder.TakeBatch(), first_record_time);  // returns at once
//   ... read the next records ...
//   if (apply.busy()) {
//     recur::ApplyStage::Outcome o = apply.Finish();     // waits for it
//     if (!o.status.ok()) ...;                             // after its retries
//   }
//
// Exactly once is the Committer's: nothing of a batch is durable before the
// stores' flush, which writes applied batches only; a crash while a batch is
// applied leaves its records to be read again. The stage only changes which
// thread waits for the apply. Options::threaded false runs Start inline (the
// loop as before; --no-pipeline, for comparisons).
// Test seam (base/sync_point.h): "ApplyStage::Apply" is reached on the
// applying thread before each batch's commit.
// Thread-safety: Start, busy, done and Finish from one thread (the loop's).
#ifndef RECUR_STREAMS_APPLY_STAGE_H_
#define RECUR_STREAMS_APPLY_STAGE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "streams/batch_builder.h"
#include "streams/committer.h"

namespace recur {

class ApplyStage {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    int max_retries = 8;   // a failed attempt is retried with backoff (WithRetries)
    bool threaded = true;  // false: Start applies on the caller's thread
    // Set: runs after each commit, in the same attempt (write-through stores:
    // PartitionStores::FlushAll); its failure is retried like the commit's.
    std::function<absl::Status()> flush;
    std::function<void(int backoff_ms)> sleep;  // between attempts (default: sleeps)
  };
  // What became of one batch.
  struct Outcome {
    // The batch without its events and dead letters (freed on the stage's
    // thread): its offsets and oldest_record_ms for the caller.
    Batch batch;
    Clock::time_point first;  // its first record, as Start was given
    absl::Status status;      // OK, or the failure that outlived the retries
    // Every partition written, over all attempts (also when status failed).
    std::vector<Committer::Applied> applied;
    int64_t apply_ms = 0;  // wall time in ApplyBatch
    int64_t flushes = 0;   // write-through flushes
    int64_t retries = 0;
    double commit_seconds = 0;  // dead letters + apply (+ flush), retries included
  };

  ApplyStage(Committer* committer, Options options);
  ~ApplyStage();  // waits for a batch in flight, then stops the thread
  ApplyStage(const ApplyStage&) = delete;
  ApplyStage& operator=(const ApplyStage&) = delete;

  // Hands a batch over. Requires !busy().
  void Start(Batch batch, Clock::time_point first);
  // A batch was started and not yet collected by Finish.
  bool busy() const { return busy_; }
  // The batch started is applied (Finish returns at once).
  bool done() const;
  // Waits for the batch started and returns what became of it. Requires busy().
  Outcome Finish();

 private:
  Outcome Apply(Batch batch, Clock::time_point first);
  void Loop();

  Committer* const committer_;
  const Options options_;
  bool busy_ = false;  // the caller's view: started, not collected

  mutable absl::Mutex mu_;
  std::optional<Batch> todo_ ABSL_GUARDED_BY(mu_);
  Clock::time_point todo_first_ ABSL_GUARDED_BY(mu_);
  std::optional<Outcome> outcome_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_APPLY_STAGE_H_
