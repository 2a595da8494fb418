// The Prometheus text exposition (format 0.0.4) of a pipeline's counters:
// what `GET /metrics` serves. Names follow Prometheus' conventions: the
// `recur_` prefix, `_total` for counters, base units (seconds, bytes,
// records); `promtool check metrics` passes on the output (tests/http).
//
//   std::string text = recur::PrometheusText(pipeline.counters());
#ifndef RECUR_HTTP_METRICS_H_
#define RECUR_HTTP_METRICS_H_

#include <string>

#include "streams/pipeline.h"

namespace recur {

std::string PrometheusText(const PipelineCounters& counters);

// A label value escaped as the text format asks (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace recur

#endif  // RECUR_HTTP_METRICS_H_
