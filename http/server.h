// HttpServer: `recur run --http HOST:PORT`. Serves, from the stores the
// pipeline has open in this process (README "HTTP API"):
//   GET /v1/customers/{shop_id}/{customer_id}            features, last score, watermark
//   GET /v1/customers/{shop_id}/{customer_id}/features?as_of=...   point in time
//   GET /metrics   Prometheus text (http/metrics.h)
//   GET /healthz   the process is up
//   GET /readyz    partitions assigned, caught up within ready_max_lag, models loaded
//   GET /          the status page (http/status_page.h)
// Ids are path segments, percent-decoded one by one (a '/' inside a customer id
// is sent as %2F). Bad requests get a 4xx with {"error": "..."}; nothing a
// client sends reaches the pipeline's loop: lookups read the stores under
// their locks (Pipeline::Lookup), metrics read the shared counters.
//
//   HttpOptions o;  o.listen = "127.0.0.1:8080";
//   auto server = recur::HttpServer::Start(o, pipeline.get());   // serving
//   server->reset();                                             // stopped
//
// Thread-safety: Start and the destructor on one thread; requests are served
// on the server's own event loops (HttpOptions::threads threads; a connection
// stays on the loop that accepted it, any number of connections per loop).
#ifndef RECUR_HTTP_SERVER_H_
#define RECUR_HTTP_SERVER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "streams/pipeline.h"

namespace recur {

struct HttpOptions {
  std::string listen;              // HOST:PORT; port 0 picks a free one (port())
  int64_t ready_max_lag = 10'000;  // /readyz: at most this many records behind
  bool models_required = false;    // /readyz: both models loaded (a --models-dir was given)
  int threads = 2;                 // event loops serving connections (--http-threads)
  // Added to the niceness of the threads serving requests (0..19), so that
  // lookups yield the CPU to the pipeline on a busy machine (--http-nice).
  // 0 by default: at 20,000 events/s the lookup tail at +10 was 2-7x that at
  // 0 with no gain for ingest visible (docs/BENCHMARKS.md, "Lookups").
  int nice = 0;
  int read_timeout_ms = 2'000;         // a client this slow to send its request is dropped
  size_t keep_alive_requests = 1'000;  // requests per connection before it is closed
  // Appends more families to /metrics (the server's own: requests by code,
  // the time to answer, open connections); set by HttpServer::Start.
  std::function<void(std::string*)> more_metrics;
};

// One answer, without sockets (the server and the tests use it).
struct HttpAnswer {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// {"error": message} with `status` (4xx/5xx).
HttpAnswer ErrorAnswer(int status, std::string_view message);

// `target`: the raw request-target (path and query, not yet decoded).
HttpAnswer Answer(const Pipeline& pipeline, const HttpOptions& options, std::string_view method,
                  std::string_view target);

class HttpServer {
 public:
  // Binds options.listen and serves until destroyed. InvalidArgument for a
  // malformed HOST:PORT, Unavailable when the address can not be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options,
                                                           const Pipeline* pipeline);
  virtual ~HttpServer() = default;
  virtual int port() const = 0;
  virtual std::string url() const = 0;  // http://HOST:PORT
};

}  // namespace recur

#endif  // RECUR_HTTP_SERVER_H_
