// WithRetries: runs one step of the pipeline (commit a batch, deliver scores,
// a re-scoring pass) until it succeeds, with exponential backoff. The status
// code decides: InvalidArgument, DataLoss, FailedPrecondition and
// ResourceExhausted (bad input, corruption, a refused precondition, a full
// disk) return at once, anything else is retried
// up to `max_retries` times. What finally fails carries what to check and that
// a restart resumes from the last committed batch.
//
//   RetryPolicy policy{.max_retries = 8};
//   absl::Status s = WithRetries("batch", policy, [&] { return TryCommit(); });
#ifndef RECUR_STREAMS_RETRY_H_
#define RECUR_STREAMS_RETRY_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"

namespace recur {

struct RetryPolicy {
  int max_retries = 8;
  int64_t* retries = nullptr;  // counts every retry, if set
  // Waits between attempts (default: sleeps); tests pass one that does not.
  std::function<void(int backoff_ms)> sleep;
};

absl::Status WithRetries(const char* what, const RetryPolicy& policy,
                         const std::function<absl::Status()>& step);

}  // namespace recur

#endif  // RECUR_STREAMS_RETRY_H_
