// A DeadLetterSink (streams/committer.h) that accepts every record and keeps
// none, for tests and benchmarks whose pipelines are not about the DLQ.
#ifndef RECUR_TESTS_TESTING_DEAD_LETTERS_H_
#define RECUR_TESTS_TESTING_DEAD_LETTERS_H_

#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "streams/committer.h"

namespace recur::testing {

class NoDeadLetters : public DeadLetterSink {
 public:
  std::vector<absl::Status> Deliver(const std::string&, std::span<const DlqRecord> records,
                                    absl::Duration) override {
    return std::vector<absl::Status>(records.size());
  }
};

}  // namespace recur::testing

#endif  // RECUR_TESTS_TESTING_DEAD_LETTERS_H_
