// HttpServer over cpp-httplib (Debian's libcpp-httplib): every request goes to
// Answer() from the pre-routing handler, so httplib's own routing never runs.
#include "http/server.h"

#include <httplib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

// Lowers the calling thread's scheduling priority once (Linux: nice applies
// per thread), so on a busy machine the pipeline's threads come first and
// lookups take only the CPU left over ("lookups never slow ingest").
void LowerThisThreadsPriority(int nice) {
  thread_local bool done = false;
  if (done || nice == 0) return;
  done = true;
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);  // -1 is a valid niceness
  if (errno != 0 || setpriority(PRIO_PROCESS, tid, std::min(19, current + nice)) != 0) {
    spdlog::debug("http: setpriority failed; requests keep the pipeline's priority");
  }
}

class HttplibServer final : public HttpServer {
 public:
  HttplibServer(HttpOptions options, const Pipeline* pipeline, std::string host)
      : options_(std::move(options)), pipeline_(pipeline), host_(std::move(host)) {}

  ~HttplibServer() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Bind(int port) {
    const int threads = std::max(1, options_.threads);
    server_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    server_.set_read_timeout(std::chrono::milliseconds(options_.read_timeout_ms));
    server_.set_write_timeout(std::chrono::milliseconds(options_.read_timeout_ms));
    server_.set_keep_alive_max_count(options_.keep_alive_requests);
    server_.set_tcp_nodelay(true);  // small answers: no 40 ms Nagle + delayed-ACK stalls
    server_.set_payload_max_length(64 << 10);
    // httplib's default sets SO_REUSEPORT: a second recur on the same port
    // would bind too and share the connections. SO_REUSEADDR only: a restart
    // binds over TIME_WAIT, a port in use is refused.
    server_.set_socket_options([](int sock) {
      int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      LowerThisThreadsPriority(options_.nice);
      HttpAnswer a = Answer(*pipeline_, options_, req.method, req.target);
      res.status = a.status;
      if (a.status == 405) res.set_header("Allow", "GET, HEAD");
      res.set_content(std::move(a.body), a.content_type.c_str());
      return httplib::Server::HandlerResponse::Handled;
    });
    // What httplib refuses itself (a request line over 8 KiB: 414, a malformed
    // request: 400) keeps its status and gets a reason.
    server_.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        res.set_content(absl::StrCat(R"({"error":"request refused (HTTP )", res.status, ")\"}\n"),
                        "application/json");
      }
    });
    if (port == 0) {
      port_ = server_.bind_to_any_port(host_);
      if (port_ < 0) port_ = 0;
    } else if (server_.bind_to_port(host_, port)) {
      port_ = port;
    }
    if (port_ <= 0) {
      return absl::UnavailableError(absl::StrCat("--http ", options_.listen,
                                                 ": can not listen there (address in use, or not "
                                                 "an address of this machine)"));
    }
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      done_ = true;
    });
    // Until the loop runs, stop() would be a no-op and the destructor's join
    // would wait forever.
    while (!server_.is_running() && !done_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  std::string url() const override { return absl::StrCat("http://", host_, ":", port_); }

 private:
  const HttpOptions options_;
  const Pipeline* pipeline_;
  const std::string host_;
  httplib::Server server_;
  int port_ = 0;
  std::atomic<bool> done_{false};  // listen_after_bind returned
  std::thread thread_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options,
                                                              const Pipeline* pipeline) {
  const size_t colon = options.listen.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(options.listen.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--http ", options.listen, ": expected HOST:PORT, e.g. 127.0.0.1:8080"));
  }
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);  // [::1]:8080
  }
  auto server = std::make_unique<HttplibServer>(options, pipeline, host);
  if (absl::Status s = server->Bind(port); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace recur
