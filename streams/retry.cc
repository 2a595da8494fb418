#include "streams/retry.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace recur {

absl::Status WithRetries(const char* what, const RetryPolicy& policy,
                         const std::function<absl::Status()>& step) {
  absl::Status s;
  for (int attempt = 0; attempt <= policy.max_retries; ++attempt) {
    s = step();
    if (s.ok()) return s;
    if (s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kDataLoss ||
        s.code() == absl::StatusCode::kFailedPrecondition ||
        s.code() == absl::StatusCode::kResourceExhausted) {
      break;  // retrying can not help (a full disk: RocksDB refuses writes until reopened)
    }
    if (attempt == policy.max_retries) break;  // the last attempt: no wait, no retry
    if (policy.retries != nullptr) ++*policy.retries;
    const int backoff_ms = std::min(10'000, 200 << std::min(attempt, 6));
    spdlog::warn("{} not committed (attempt {}/{}): {}; retrying in {} ms", what, attempt + 1,
                 policy.max_retries + 1, std::string(s.message()), backoff_ms);
    if (policy.sleep) {
      policy.sleep(backoff_ms);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    }
  }
  absl::Status out(s.code(),
                   absl::StrCat(s.message(), " — ", what,
                                " not committed; fix the cause (broker reachable? disk space and "
                                "permissions of --state-dir?) and restart: recur resumes from the "
                                "last committed batch and re-scores pending customers"));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace recur
