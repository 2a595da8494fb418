// BrokerWatch: whether the pipeline's broker is reachable, from the source's
// events: down since a kBrokerDown, back at the next record, partition end or
// answered probe; down longer than the timeout is fatal.
//
//   case SourceEvent::kBrokerDown: watch.Down(e.status); break;
//   case SourceEvent::kRecord:     watch.Up(/*log=*/true); ...
//   if (absl::Status s = watch.Check(*source, timeout_s); !s.ok()) return s;  // between polls
// Thread-safety: one thread (the pipeline's loop).
#ifndef RECUR_STREAMS_BROKER_WATCH_H_
#define RECUR_STREAMS_BROKER_WATCH_H_

#include <chrono>
#include <optional>

#include "absl/status/status.h"
#include "streams/record_source.h"

namespace recur {

class BrokerWatch {
 public:
  // No broker reachable (`why`): logged once per outage.
  void Down(const absl::Status& why);
  // The broker answered; `log`: say that it is back (when it was down).
  // Inline: the loop calls it for every record.
  void Up(bool log) {
    if (down_since_) Back(log);
  }
  // While down: asks the cluster every 2 s (nothing else may arrive to tell
  // that it is back); Unavailable once down longer than `timeout_s`.
  absl::Status Check(RecordSource& source, int timeout_s);

 private:
  using Clock = std::chrono::steady_clock;
  void Back(bool log);
  std::optional<Clock::time_point> down_since_;
  Clock::time_point last_probe_ = Clock::now();
};

}  // namespace recur

#endif  // RECUR_STREAMS_BROKER_WATCH_H_
