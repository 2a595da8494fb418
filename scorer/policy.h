// The scoring policy: as of which time a customer is scored, when a store is
// due for a re-scoring pass, and whether a new score is worth publishing.
// Pure functions of their arguments (no clock, no I/O), so a replay of the same
// input makes the same decisions, and each rule is unit-tested on its own
// (tests/scorer/policy_test.cc). streams/scoring.h applies them.
//
//   int64_t as_of = recur::EventScoreAsOf(state.last_event_ms(), watermark, rescored_day);
//   if (recur::RescoreDue(watermark, rescored_day)) ...   // a new UTC day
//   int64_t as_of = recur::RescoreAsOf(state.last_event_ms(), day);
//   if (recur::ShouldPublish(last_or_null, next, /*epsilon=*/0.01)) send(next);
//
// As-of rule: features have day resolution, so a score depends only on the
// state and the day it is taken at, never on batching or the wall clock.
// Thread-safety: pure functions.
#ifndef RECUR_SCORER_POLICY_H_
#define RECUR_SCORER_POLICY_H_

#include <cstdint>

#include "proto/recur.pb.h"

namespace recur {

// An event-driven score (a customer touched by a batch): as of the customer's
// latest event — or the store's watermark for a customer without one — but
// never before the start of the store's last re-scored day: a late event (older
// than that day, or read after it from a topic that lags) must not take a
// published score back in time. A from-scratch run, which passes once at the
// end, scores it as of that day too.
int64_t EventScoreAsOf(int64_t last_event_ms, int64_t watermark_ms, int32_t rescored_day);

// A re-scoring pass at UTC day `day`: as of the start of that day, or the
// customer's latest event if that is later.
int64_t RescoreAsOf(int64_t last_event_ms, int32_t day);

// True when the watermark (max event time, <= 0: none yet) is in a later UTC
// day than the store's last re-scoring pass: time-dependent features changed.
bool RescoreDue(int64_t watermark_ms, int32_t rescored_day);

// Whether a re-score is published: always when there is no comparable last
// score (`last` is null: never published, or unreadable); otherwise only when
// a probability moved by more than `epsilon` (a NaN counts as moved), the
// segments differ (order counts) or a model version changed. Event-driven
// scores are always published and do not ask.
bool ShouldPublish(const v1::CustomerScore* last, const v1::CustomerScore& next, double epsilon);

}  // namespace recur

#endif  // RECUR_SCORER_POLICY_H_
