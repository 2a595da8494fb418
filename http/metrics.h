// The Prometheus text exposition (format 0.0.4) of a pipeline's counters:
// what `GET /metrics` serves. Names follow Prometheus' conventions: the
// `recur_` prefix, `_total` for counters, base units (seconds, bytes,
// records); `promtool check metrics` passes on the output (tests/http).
//
//   std::string text = recur::PrometheusText(pipeline.counters());
#ifndef RECUR_HTTP_METRICS_H_
#define RECUR_HTTP_METRICS_H_

#include <cstdint>
#include <map>
#include <string>

#include "base/histogram.h"
#include "streams/pipeline.h"

namespace recur {

std::string PrometheusText(const PipelineCounters& counters);

// The HTTP server's own families (http/server.h): requests answered by status
// code, the time to compute an answer, connections open.
struct HttpServerCounters {
  std::map<int, int64_t> requests_by_code;
  Histogram answer_seconds{
      {25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 100e-3, 1.0}};
  int64_t connections = 0;
};
void AppendHttpServerText(const HttpServerCounters& counters, std::string* out);

// A label value escaped as the text format asks (backslash, quote, newline).
std::string EscapeLabelValue(const std::string& value);

}  // namespace recur

#endif  // RECUR_HTTP_METRICS_H_
