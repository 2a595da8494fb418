// HttpServer: epoll event loops (HttpOptions::threads of them), each accepting
// from the one listening socket and serving its connections without a thread
// per connection. A request is read, answered by Answer() and written on the
// loop that owns its connection; keep-alive and pipelined requests are served
// in order. Before this (2026-12-06) the server was Debian's cpp-httplib 0.11,
// which holds a pool thread per keep-alive connection and polls it in 10-ms
// steps with 1-ms sleeps between requests (docs/BENCHMARKS.md, "Lookups").
#include "http/server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "http/metrics.h"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

constexpr size_t kMaxHeadBytes = 8 << 10;    // request line and headers
constexpr size_t kMaxBodyBytes = 64 << 10;   // a GET has none; read and dropped
constexpr size_t kMaxPendingOut = 1 << 20;   // answers a client has not read yet
constexpr size_t kMaxDrainBytes = 1 << 20;   // read and dropped after a refusal
constexpr int64_t kKeepAliveIdleMs = 5'000;  // an idle keep-alive connection is closed
constexpr int kMaxConnections = 4'096;       // beyond: 503 and closed at once
constexpr int kSweepMs = 50;                 // how often timeouts are looked at

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Lowers the calling thread's scheduling priority (Linux: nice applies per
// thread), so on a busy machine the pipeline's threads come first and lookups
// take only the CPU left over.
void LowerThisThreadsPriority(int nice) {
  if (nice == 0) return;
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);  // -1 is a valid niceness
  if (errno != 0 || setpriority(PRIO_PROCESS, tid, std::min(19, current + nice)) != 0) {
    spdlog::debug("http: setpriority failed; requests keep the pipeline's priority");
  }
}

const char* Reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

void AppendAnswer(const HttpAnswer& a, bool head_only, bool close, std::string* out) {
  absl::StrAppend(out, "HTTP/1.1 ", a.status, " ", Reason(a.status),
                  "\r\nContent-Type: ", a.content_type, "\r\nContent-Length: ", a.body.size(),
                  "\r\n");
  if (a.status == 405) out->append("Allow: GET, HEAD\r\n");
  if (close) out->append("Connection: close\r\n");
  out->append("\r\n");
  if (!head_only) out->append(a.body);
}

// Whether a comma-separated header value lists `token` (case-insensitive).
bool HasToken(absl::string_view value, absl::string_view token) {
  for (absl::string_view t : absl::StrSplit(value, ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), token)) return true;
  }
  return false;
}

// One request parsed from the front of a connection's input.
struct Request {
  size_t bytes = 0;  // its length in the input, body included
  absl::string_view method, target;
  bool keep_alive = true;
  std::optional<HttpAnswer> refused;  // the request is malformed: answer this and close
};

enum class Parse { kNeedMore, kDone };

Parse ParseRequest(absl::string_view in, Request* r) {
  const size_t head_end = in.find("\r\n\r\n");
  const size_t line_end = in.find("\r\n");
  if (head_end == absl::string_view::npos || head_end + 4 > kMaxHeadBytes) {
    if (in.size() <= kMaxHeadBytes && head_end == absl::string_view::npos) return Parse::kNeedMore;
    const bool line_too_long = line_end == absl::string_view::npos || line_end > kMaxHeadBytes;
    r->refused =
        line_too_long
            ? ErrorAnswer(414, absl::StrCat("request line longer than ", kMaxHeadBytes, " bytes"))
            : ErrorAnswer(431, absl::StrCat("request line and headers longer than ", kMaxHeadBytes,
                                            " bytes"));
    return Parse::kDone;
  }
  const absl::string_view line = in.substr(0, line_end);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    r->refused = ErrorAnswer(400, "malformed request line (want METHOD TARGET HTTP/1.1)");
    return Parse::kDone;
  }
  if (parts[2] != "HTTP/1.1" && parts[2] != "HTTP/1.0") {
    r->refused = ErrorAnswer(505, "only HTTP/1.0 and HTTP/1.1 are served");
    return Parse::kDone;
  }
  r->method = parts[0];
  r->target = parts[1];
  r->keep_alive = parts[2] == "HTTP/1.1";
  size_t body = 0;
  const absl::string_view headers = in.substr(line_end + 2, head_end - line_end - 2);
  for (absl::string_view h : absl::StrSplit(headers, "\r\n", absl::SkipEmpty())) {
    const size_t colon = h.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      r->refused = ErrorAnswer(400, "malformed header line");
      return Parse::kDone;
    }
    const absl::string_view name = h.substr(0, colon);
    const absl::string_view value = absl::StripAsciiWhitespace(h.substr(colon + 1));
    if (absl::EqualsIgnoreCase(name, "connection")) {
      if (HasToken(value, "keep-alive")) r->keep_alive = true;
      if (HasToken(value, "close")) r->keep_alive = false;  // close wins
    } else if (absl::EqualsIgnoreCase(name, "transfer-encoding")) {
      r->refused = ErrorAnswer(501, "request bodies in Transfer-Encoding are not served");
      return Parse::kDone;
    } else if (absl::EqualsIgnoreCase(name, "content-length")) {
      if (!absl::SimpleAtoi(value, &body)) {
        r->refused = ErrorAnswer(400, "malformed Content-Length");
        return Parse::kDone;
      }
      if (body > kMaxBodyBytes) {
        r->refused = ErrorAnswer(413, absl::StrCat("request body over ", kMaxBodyBytes, " bytes"));
        return Parse::kDone;
      }
    }
  }
  if (in.size() < head_end + 4 + body) return Parse::kNeedMore;
  r->bytes = head_end + 4 + body;
  return Parse::kDone;
}

struct Connection {
  std::string in;
  std::string out;
  size_t out_done = 0;
  int64_t request_since_ms = -1;  // first byte of a request not yet complete
  int64_t last_io_ms = 0;
  size_t served = 0;
  bool closing = false;   // close once `out` is written
  bool dead = false;      // close now
  bool draining = false;  // answered and shut down: reading what the client still sends
  size_t drained = 0;
  uint32_t events = 0;  // what epoll waits for now
};

class EpollServer final : public HttpServer {
 public:
  EpollServer(HttpOptions options, const Pipeline* pipeline, std::string host)
      : options_(std::move(options)), pipeline_(pipeline), host_(std::move(host)) {
    options_.more_metrics = [this](std::string* out) {
      HttpServerCounters c;
      {
        absl::MutexLock lock(&stats_mu_);
        c = stats_;
      }
      c.connections = open_.load();
      AppendHttpServerText(c, out);
    };
  }

  ~EpollServer() override {
    if (stop_fd_ >= 0) {
      const uint64_t one = 1;
      (void)!write(stop_fd_, &one, sizeof one);
    }
    for (std::thread& t : loops_) t.join();
    if (listen_fd_ >= 0) close(listen_fd_);
    if (stop_fd_ >= 0) close(stop_fd_);
  }

  absl::Status Listen(int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    const auto unavailable = [&](absl::string_view why) {
      return absl::UnavailableError(
          absl::StrCat("--http ", options_.listen, ": can not listen there (", why, ")"));
    };
    if (getaddrinfo(host_.empty() ? nullptr : host_.c_str(), service.c_str(), &hints, &found) !=
            0 ||
        found == nullptr) {
      return unavailable("not an address of this machine");
    }
    std::string why = "address in use, or not an address of this machine";
    for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
      const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      // SO_REUSEADDR only: a restart binds over TIME_WAIT, a port in use is
      // refused (no SO_REUSEPORT: a second recur would share the connections).
      int yes = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1024) == 0) {
        listen_fd_ = fd;
      } else {
        why = std::strerror(errno);
        close(fd);
      }
    }
    freeaddrinfo(found);
    if (listen_fd_ < 0) return unavailable(why);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (stop_fd_ < 0) return absl::InternalError("http: eventfd failed");
    const int loops = std::max(1, options_.threads);
    for (int i = 0; i < loops; ++i) {
      const int ep = epoll_create1(EPOLL_CLOEXEC);
      if (ep < 0) return absl::InternalError("http: epoll_create1 failed");
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;  // one loop wakes per new connection
      ev.data.fd = listen_fd_;
      epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd_, &ev);
      ev.events = EPOLLIN;
      ev.data.fd = stop_fd_;
      epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd_, &ev);
      loops_.emplace_back([this, ep] { Loop(ep); });
    }
    return absl::OkStatus();
  }

  int port() const override { return port_; }
  std::string url() const override {
    return host_.find(':') == std::string::npos ? absl::StrCat("http://", host_, ":", port_)
                                                : absl::StrCat("http://[", host_, "]:", port_);
  }

 private:
  using Connections = std::unordered_map<int, Connection>;

  void Loop(int ep) {
    pthread_setname_np(pthread_self(), "recur-http");  // the logs' component "http"
    LowerThisThreadsPriority(options_.nice);
    Connections conns;
    std::vector<epoll_event> events(256);
    int64_t next_sweep = NowMs() + kSweepMs;
    for (;;) {
      const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), kSweepMs);
      if (n < 0 && errno != EINTR) {
        spdlog::error("http: epoll_wait failed ({}); this loop stops serving",
                      std::strerror(errno));
        break;
      }
      const int64_t now = NowMs();
      bool stop = false;
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == stop_fd_) {
          stop = true;
        } else if (fd == listen_fd_) {
          Accept(ep, now, &conns);
        } else if (auto it = conns.find(fd); it != conns.end()) {
          Serve(ep, fd, events[i].events, now, &it->second);
          if (it->second.dead) Close(ep, fd, &conns);
        }
      }
      if (stop) break;
      if (now >= next_sweep) {
        Sweep(ep, now, &conns);
        next_sweep = now + kSweepMs;
      }
    }
    for (auto& [fd, c] : conns) close(fd);
    open_ -= static_cast<int>(conns.size());
    close(ep);
  }

  void Accept(int ep, int64_t now, Connections* conns) {
    for (int k = 0; k < 64; ++k) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN: another loop took it, or none left
      if (open_.fetch_add(1) >= kMaxConnections) {
        --open_;
        std::string out;
        AppendAnswer(ErrorAnswer(503, "too many connections"), false, true, &out);
        Count(503);
        (void)!send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        close(fd);
        continue;
      }
      int yes = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);  // small answers, no Nagle
      Connection& c = (*conns)[fd];
      c.last_io_ms = now;
      c.events = EPOLLIN | EPOLLRDHUP;
      epoll_event ev{};
      ev.events = c.events;
      ev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  // Reads what there is, answers every complete request, writes what it can;
  // sets c->dead when the connection is to be closed now.
  void Serve(int ep, int fd, uint32_t ready, int64_t now, Connection* c) {
    if (ready & (EPOLLERR | EPOLLHUP)) {
      c->dead = true;
      return;
    }
    if (c->draining) {
      Drain(fd, now, c);
      return;
    }
    bool peer_done = false;
    if ((ready & (EPOLLIN | EPOLLRDHUP)) && !c->closing) {
      char buf[16 << 10];
      for (;;) {
        const ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got > 0) {
          if (c->in.empty()) c->request_since_ms = now;
          c->in.append(buf, static_cast<size_t>(got));
          c->last_io_ms = now;
          if (c->in.size() > kMaxHeadBytes + kMaxBodyBytes) break;
          continue;
        }
        if (got < 0 && errno == EINTR) continue;
        // 0: the client closed its side; answer what it sent, then close.
        if (got == 0 || errno != EAGAIN) peer_done = true;
        break;
      }
    }
    if (!c->in.empty()) AnswerRequests(now, c);
    if (peer_done) c->closing = true;
    Write(fd, now, c);
    const bool pending = c->out_done < c->out.size();
    if (c->closing && !pending) {
      // Closing a socket with unread input resets it, and a reset can destroy
      // the answer before the client reads it (a refused request whose body
      // is still arriving): end our side, read and drop what still comes,
      // close at the client's end (or after the read timeout, or 1 MiB).
      if (peer_done || shutdown(fd, SHUT_WR) != 0) {
        c->dead = true;
        return;
      }
      c->draining = true;
      c->last_io_ms = now;
      Want(ep, fd, EPOLLIN | EPOLLRDHUP, c);  // not EPOLLOUT: writable forever
      Drain(fd, now, c);
      return;
    }
    // While answers wait for the client to read them, no more are read.
    Want(ep, fd, pending ? EPOLLOUT : EPOLLIN | EPOLLRDHUP, c);
  }

  static void Want(int ep, int fd, uint32_t events, Connection* c) {
    if (events == c->events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
    c->events = events;
  }

  void Drain(int fd, int64_t now, Connection* c) {
    char buf[16 << 10];
    for (;;) {
      const ssize_t got = recv(fd, buf, sizeof buf, 0);
      if (got > 0) {
        c->drained += static_cast<size_t>(got);
        c->last_io_ms = now;
        if (c->drained > kMaxDrainBytes) break;
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) return;  // more may come: wait for it
      break;                                   // the client's end, or an error
    }
    c->dead = true;
  }

  void AnswerRequests(int64_t now, Connection* c) {
    size_t at = 0;
    while (!c->closing && at < c->in.size() && c->out.size() - c->out_done < kMaxPendingOut) {
      Request r;
      if (ParseRequest(absl::string_view(c->in).substr(at), &r) == Parse::kNeedMore) break;
      if (r.refused) {
        Count(r.refused->status);
        AppendAnswer(*r.refused, false, true, &c->out);
        c->closing = true;
        at = c->in.size();
        break;
      }
      const auto started = std::chrono::steady_clock::now();
      const HttpAnswer a =
          Answer(*pipeline_, options_, std::string_view(r.method.data(), r.method.size()),
                 std::string_view(r.target.data(), r.target.size()));
      Count(a.status, std::chrono::duration<double>(std::chrono::steady_clock::now() - started));
      ++c->served;
      const bool close = !r.keep_alive || c->served >= options_.keep_alive_requests;
      AppendAnswer(a, r.method == "HEAD", close, &c->out);
      at += r.bytes;
      if (close) {
        c->closing = true;
        at = c->in.size();
        break;
      }
    }
    c->in.erase(0, at);
    c->request_since_ms = c->in.empty() ? -1 : (at > 0 ? now : c->request_since_ms);
  }

  void Write(int fd, int64_t now, Connection* c) {
    while (c->out_done < c->out.size()) {
      const ssize_t sent =
          send(fd, c->out.data() + c->out_done, c->out.size() - c->out_done, MSG_NOSIGNAL);
      if (sent > 0) {
        c->out_done += static_cast<size_t>(sent);
        c->last_io_ms = now;
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0 && errno != EAGAIN) {  // the peer is gone: nothing more to write
        c->out_done = c->out.size();
        c->closing = true;
      }
      return;
    }
    c->out.clear();
    c->out_done = 0;
  }

  // Drops clients too slow to send a request or read an answer, and idle
  // keep-alive connections.
  void Sweep(int ep, int64_t now, Connections* conns) {
    std::vector<int> dead;
    for (auto& [fd, c] : *conns) {
      const bool writing = c.out_done < c.out.size();
      if (c.draining) {
        if (now - c.last_io_ms > options_.read_timeout_ms) dead.push_back(fd);
      } else if (writing && now - c.last_io_ms > options_.read_timeout_ms) {
        dead.push_back(fd);
      } else if (!writing && c.request_since_ms >= 0 &&
                 now - c.request_since_ms > options_.read_timeout_ms) {
        std::string out;
        AppendAnswer(ErrorAnswer(408, "request not received in time"), false, true, &out);
        Count(408);
        (void)!send(fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        dead.push_back(fd);
      } else if (!writing && c.in.empty() && now - c.last_io_ms > kKeepAliveIdleMs) {
        dead.push_back(fd);
      }
    }
    for (int fd : dead) Close(ep, fd, conns);
  }

  // An answer for /metrics; `took`: the time Answer() took (none for refusals).
  void Count(int status, std::optional<std::chrono::duration<double>> took = std::nullopt) {
    absl::MutexLock lock(&stats_mu_);
    ++stats_.requests_by_code[status];
    if (took) stats_.answer_seconds.Observe(took->count());
  }

  void Close(int ep, int fd, Connections* conns) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns->erase(fd);
    --open_;
  }

  HttpOptions options_;  // more_metrics set in the constructor, then never changed
  const Pipeline* pipeline_;
  absl::Mutex stats_mu_;
  HttpServerCounters stats_ ABSL_GUARDED_BY(stats_mu_);
  const std::string host_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int port_ = 0;
  std::atomic<int> open_{0};  // connections open on all loops
  std::vector<std::thread> loops_;
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
  auto server = std::make_unique<EpollServer>(options, pipeline, host);
  if (absl::Status s = server->Listen(port); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace recur
