// `recur --log-format json`: every log line one JSON object, for log shippers.
//   {"ts":"2026-12-04T16:54:20.123Z","level":"info","component":"pipeline",
//    "partition":3,"msg":"partition 3: re-scored ..."}
// `component` is the thread that logged (the pipeline's loop, the scorer's
// thread, the HTTP server's, librdkafka's); `partition` is there when the
// message is about one ("partition N..." at its start, as recur writes them).
// The text format stays the default.
//
//   recur::UseLogFormat("json");   // after the default logger is set
#ifndef RECUR_OPS_LOG_FORMAT_H_
#define RECUR_OPS_LOG_FORMAT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "spdlog/formatter.h"

namespace recur {

// A spdlog formatter writing one JSON object per line.
std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter();

// "text" (the default) or "json", for the default logger; InvalidArgument otherwise.
absl::Status UseLogFormat(const std::string& format);

}  // namespace recur

#endif  // RECUR_OPS_LOG_FORMAT_H_
