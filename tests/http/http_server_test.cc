// `recur run --http` (http/server.h) over a real pipeline and real sockets:
// a FakeRecordSource feeds the pipeline, an httplib client (an independent
// implementation of HTTP) and raw sockets ask. Lookups,
// point-in-time features, health and readiness, /metrics checked by promtool,
// and bad requests (malformed ids, non-UTF-8, huge paths, wrong methods, slow
// clients) answered with 4xx while the pipeline keeps going.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "featurestore/catalog.h"
#include "http/metrics.h"
#include "http/server.h"
#include "nlohmann/json.hpp"
#include "streams/fake_source.h"
#include "streams/pipeline.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::kPurchases0;
using testing::Ms;

using testing::NoDeadLetters;

// Waits for `cond` (the suite runs on busy machines: no fixed windows).
template <typename F>
bool WaitFor(F cond, std::chrono::seconds limit = std::chrono::seconds(120)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.kafka["bootstrap.servers"] = "127.0.0.1:1";  // the score producer never sends
    options_.state_dir = (tmp_.path() / "state").string();
    options_.scoring.enabled = false;
    options_.batch_linger_ms = 0;
    options_.progress_interval_ms = 0;
    auto fake = std::make_unique<FakeRecordSource>();
    fake->Assigned({kPurchases0});
    // c-1: two orders (3 x 10 and 1 x 5) on 2024-03-01 and 2024-03-10; c-2: one.
    EventFactory c1("shop-1", "c-1"), c2("shop-1", "c-2");
    int64_t off = 0;
    for (const v1::Event& e : {c1.Purchase(Ms(2024, 3, 1), {{"shoes", 3, 10.0}}),
                               c2.Purchase(Ms(2024, 3, 5), {{"bags", 1, 7.0}}),
                               c1.Purchase(Ms(2024, 3, 10), {{"hats", 1, 5.0}})}) {
      fake->AddRecord(kPurchases0, off++, e.shop_id() + "/" + e.customer_id(),
                      e.SerializeAsString(), e.event_time_ms());
    }
    fake->AddRecord(kPurchases0, off++, "shop-1/c-9", "\xff not an event", Ms(2024, 3, 10));
    fake->AddEnd(kPurchases0, off);
    auto p = Pipeline::CreateWithSource(options_, std::move(fake), &dlq_);
    ASSERT_TRUE(p.ok()) << p.status();
    pipeline_ = std::move(*p);
    http_options_.listen = "127.0.0.1:0";
    auto server = HttpServer::Start(http_options_, pipeline_.get());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }

  void RunPipeline() {
    runner_ = std::thread([this] { run_status_ = pipeline_->Run(stop_); });
    ASSERT_TRUE(WaitFor([&] {
      PipelineCounters c = pipeline_->counters();
      return c.applied == 3 && c.caught_up;
    })) << pipeline_->StatsJson();
  }

  void TearDown() override {
    stop_ = true;
    if (runner_.joinable()) runner_.join();
    EXPECT_TRUE(run_status_.ok()) << run_status_;
    server_.reset();
    pipeline_.reset();
  }

  httplib::Result Get(const std::string& path) {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(std::chrono::seconds(60));
    return client.Get(path);
  }

  nlohmann::json GetJson(const std::string& path, int want_status) {
    auto r = Get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << path << ": " << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    auto j = nlohmann::json::parse(r->body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(j.is_discarded()) << path << ": " << r->body;
    return j;
  }

  testing::TempDir tmp_{"recur-http"};
  PipelineOptions options_;
  HttpOptions http_options_;
  NoDeadLetters dlq_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<HttpServer> server_;
  std::atomic<bool> stop_{false};
  std::thread runner_;
  absl::Status run_status_;
};

// Prometheus' own checker (format, names, units, _total on counters): its
// complaints, or "" when it has none; "exit N" is appended when it fails.
std::string PromtoolCheck(const std::string& text, const std::filesystem::path& dir) {
  const std::string file = (dir / "metrics.txt").string();
  std::ofstream(file) << text;
  const std::string cmd = absl::StrCat(PROMTOOL, " check metrics < ", file, " 2>&1");
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe) != nullptr) out += buf;
  const int rc = pclose(pipe);
  if (rc != 0) absl::StrAppend(&out, "exit ", rc);
  return out;
}

TEST_F(HttpServerTest, HealthIsUpAtOnceAndReadinessWaitsForAssignedCaughtUpPartitions) {
  auto page = Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->body.find("<svg id=\"throughput\""), std::string::npos);
  auto health = Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "ok\n");
  nlohmann::json before = GetJson("/readyz", 503);
  EXPECT_EQ(before["ready"], false);
  EXPECT_EQ(before["reasons"][0], "no partition assigned");
  RunPipeline();
  nlohmann::json after = GetJson("/readyz", 200);
  EXPECT_EQ(after["ready"], true);
  EXPECT_EQ(after["partitions"], 1);
  EXPECT_EQ(after["lag"], 0);
}

TEST_F(HttpServerTest, ALookupAnswersTheCustomersFeaturesAsOfItsPartitionsLatestEvent) {
  RunPipeline();
  nlohmann::json j = GetJson("/v1/customers/shop-1/c-1", 200);
  EXPECT_EQ(j["shop_id"], "shop-1");
  EXPECT_EQ(j["customer_id"], "c-1");
  EXPECT_EQ(j["partition"], 0);
  EXPECT_EQ(j["as_of_ms"], Ms(2024, 3, 10));  // the store's latest event
  // Two orders: 3 x 10 + 1 x 5 = 35 of revenue, 4 items, last one 0 days ago.
  EXPECT_EQ(j["features"]["orders_lifetime"], 2);
  EXPECT_EQ(j["features"]["revenue_lifetime"], 35);
  EXPECT_EQ(j["features"]["items_lifetime"], 4);
  EXPECT_EQ(j["features"]["days_since_last_purchase"], 0);
  EXPECT_TRUE(j["last_score"].is_null());  // scoring is off here
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-2", 200)["features"]["orders_lifetime"], 1);
  nlohmann::json missing = GetJson("/v1/customers/shop-1/c-404", 404);
  EXPECT_NE(missing["error"].get<std::string>().find("shop-1/c-404"), std::string::npos);
}

TEST_F(HttpServerTest, PointInTimeFeaturesCountOnlyWhatHappenedBeforeTheAsOf) {
  RunPipeline();
  // As of 2024-03-05 (noon, as Ms() gives) only the first order exists, 4 days before.
  nlohmann::json j =
      GetJson(absl::StrCat("/v1/customers/shop-1/c-1/features?as_of=", Ms(2024, 3, 5)), 200);
  EXPECT_EQ(j["as_of_ms"], Ms(2024, 3, 5));
  EXPECT_EQ(j["features"]["orders_lifetime"], 1);
  EXPECT_EQ(j["features"]["revenue_lifetime"], 30);
  EXPECT_EQ(j["features"]["days_since_last_purchase"], 4);
  EXPECT_FALSE(j.contains("last_score"));
  // A date is its first millisecond; RFC 3339 (':' percent-encoded or not) as given.
  const int64_t midnight = Ms(2024, 3, 5) - 12 * 3'600'000;
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-1/features?as_of=2024-03-05", 200)["as_of_ms"],
            midnight);
  EXPECT_EQ(
      GetJson("/v1/customers/shop-1/c-1/features?as_of=2024-03-05T00%3A00%3A00Z", 200)["as_of_ms"],
      midnight);
  // Before the retention horizon (400 days before 2024-03-10): refused with the reason.
  nlohmann::json old = GetJson("/v1/customers/shop-1/c-1/features?as_of=2020-01-01", 400);
  EXPECT_NE(old["error"].get<std::string>().find("horizon"), std::string::npos) << old;
  GetJson("/v1/customers/shop-1/c-1/features", 400);                  // as_of missing
  GetJson("/v1/customers/shop-1/c-1/features?as_of=yesterday", 400);  // not a time
  GetJson("/v1/customers/shop-1/c-1/features?as_off=2024-03-05", 400);
}

TEST_F(HttpServerTest, BadRequestsGetClearFourHundredsAndIngestGoesOn) {
  RunPipeline();
  struct Case {
    std::string path;
    int status;
    std::string says;
  } cases[] = {
      {"/v1/customers//c-1", 400, "shop_id: missing"},
      {"/v1/customers/shop-1/", 400, "customer_id: missing"},
      {"/v1/customers/shop-1/" + std::string(129, 'x'), 400, "longer than 128"},
      {"/v1/customers/shop-1/%ZZ", 400, "percent-encoding"},
      {"/v1/customers/shop-1/c-%FF%FE", 400, "UTF-8"},
      {"/v1/customers/shop%2F1/c-1", 400, "'/'"},
      {"/nope", 404, "unknown path"},
      {"/v1/customers", 404, "unknown path"},
      {"/v1/customers/a/b/c/d", 404, "unknown path"},
      {"/%C3%28", 400, "UTF-8"},
      {"/v1/customers/shop-1/c-1?as_of=2024-03-05", 400, "only for .../features"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = GetJson(c.path, c.status);
    EXPECT_NE(j.value("error", "").find(c.says), std::string::npos) << c.path << ": " << j;
  }
  // A customer id with a '/' is one segment when encoded.
  GetJson("/v1/customers/shop-1/c%2F1", 404);
  // A request line beyond httplib's 8 KiB: 414, with a reason.
  auto huge = Get("/v1/customers/shop-1/" + std::string(20'000, 'x'));
  ASSERT_TRUE(huge);
  EXPECT_EQ(huge->status, 414);
  httplib::Client client("127.0.0.1", server_->port());
  auto post = client.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(post->get_header_value("Allow"), "GET, HEAD");
  // The pipeline saw none of it.
  EXPECT_EQ(pipeline_->counters().applied, 3);
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-1", 200)["features"]["orders_lifetime"], 2);
}

// A raw client, for what httplib's client does not send: pipelined and
// split requests, HEAD, HTTP/1.0, malformed request lines.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{.tv_sec = 60, .tv_usec = 0};  // a hung server fails the test, not the suite
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

struct RawAnswer {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;
};

// Reads one answer from `fd` (bytes beyond it stay in `*buf`); status 0 when
// the connection ended first. `head_only`: the answer to a HEAD (no body).
RawAnswer ReadAnswer(int fd, std::string* buf, bool head_only = false) {
  RawAnswer a;
  auto more = [&] {
    char chunk[4096];
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf->append(chunk, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = buf->find("\r\n\r\n")) == std::string::npos) {
    if (!more()) return a;
  }
  a.head = buf->substr(0, end + 4);
  buf->erase(0, end + 4);
  a.status = std::atoi(a.head.c_str() + 9);  // "HTTP/1.1 200 OK"
  const size_t cl = a.head.find("Content-Length: ");
  const size_t length = cl == std::string::npos ? 0 : std::stoul(a.head.substr(cl + 16));
  if (!head_only) {
    while (buf->size() < length) {
      if (!more()) return RawAnswer{};
    }
    a.body = buf->substr(0, length);
    buf->erase(0, length);
  }
  return a;
}

// Whether the server closed `fd` (recv sees the end), reading what is left.
bool ClosedByServer(int fd) {
  char chunk[4096];
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n == 0) return true;
    if (n < 0) return false;  // the 60-s receive timeout
  }
}

TEST_F(HttpServerTest, PipelinedSplitAndHeadRequestsAreAnsweredInOrderOnOneConnection) {
  RunPipeline();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  // Three requests in one write: answered in order on the same connection.
  ASSERT_TRUE(SendAll(fd,
                      "GET /v1/customers/shop-1/c-1 HTTP/1.1\r\nHost: x\r\n\r\n"
                      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /v1/customers/shop-1/c-404 HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string buf;
  RawAnswer first = ReadAnswer(fd, &buf);
  ASSERT_EQ(first.status, 200) << first.head;
  EXPECT_EQ(nlohmann::json::parse(first.body)["customer_id"], "c-1");
  RawAnswer head = ReadAnswer(fd, &buf, /*head_only=*/true);
  ASSERT_EQ(head.status, 200) << head.head;
  EXPECT_NE(head.head.find("Content-Length: 3\r\n"), std::string::npos) << head.head;  // "ok\n"
  RawAnswer third = ReadAnswer(fd, &buf);
  EXPECT_EQ(third.status, 404) << third.head;
  EXPECT_TRUE(buf.empty()) << buf;  // HEAD's answer had no body
  // A request sent a few bytes at a time, with a body the server reads and drops.
  const std::string split =
      "GET /v1/customers/shop-1/c-2 HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd";
  for (size_t i = 0; i < split.size(); i += 5) {
    ASSERT_TRUE(SendAll(fd, std::string_view(split).substr(i, 5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  RawAnswer second = ReadAnswer(fd, &buf);
  ASSERT_EQ(second.status, 200) << second.head;
  EXPECT_EQ(nlohmann::json::parse(second.body)["features"]["orders_lifetime"], 1);
  // "Connection: close" is honoured: answered, then closed.
  ASSERT_TRUE(SendAll(fd, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n"));
  RawAnswer last = ReadAnswer(fd, &buf);
  EXPECT_EQ(last.status, 200);
  EXPECT_NE(last.head.find("Connection: close"), std::string::npos) << last.head;
  EXPECT_TRUE(ClosedByServer(fd));
  close(fd);
  // HTTP/1.0 without keep-alive: one answer, then closed.
  const int old = Connect(server_->port());
  ASSERT_GE(old, 0);
  ASSERT_TRUE(SendAll(old, "GET /healthz HTTP/1.0\r\n\r\n"));
  buf.clear();
  EXPECT_EQ(ReadAnswer(old, &buf).body, "ok\n");
  EXPECT_TRUE(ClosedByServer(old));
  close(old);
}

TEST_F(HttpServerTest, MalformedRequestsGetAReasonAndTheirConnectionClosed) {
  RunPipeline();
  struct Case {
    std::string request;
    int status;
    std::string says;
  } cases[] = {
      {"GARBAGE\r\n\r\n", 400, "malformed request line"},
      {"GET /healthz HTTP/2.0\r\n\r\n", 505, "HTTP/1.0 and HTTP/1.1"},
      {"GET /healthz HTTP/1.1\r\nno colon here\r\n\r\n", 400, "malformed header"},
      {"GET /healthz HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400, "Content-Length"},
      {"GET /healthz HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413, "body over"},
      {"POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501, "Transfer-Encoding"},
      {"GET /healthz HTTP/1.1\r\nX-Big: " + std::string(10'000, 'y') + "\r\n\r\n", 431,
       "headers longer than"},
      {"GET /" + std::string(10'000, 'z') + " HTTP/1.1\r\n\r\n", 414, "request line longer"},
  };
  for (const Case& c : cases) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    // What does not fit the server's buffers may be refused before it is all
    // sent: a failed send is not a failure of the test.
    SendAll(fd, c.request);
    std::string buf;
    RawAnswer a = ReadAnswer(fd, &buf);
    EXPECT_EQ(a.status, c.status) << c.request.substr(0, 60) << ": " << a.head;
    auto j = nlohmann::json::parse(a.body, nullptr, /*allow_exceptions=*/false);
    EXPECT_NE(j.value("error", "").find(c.says), std::string::npos) << a.body;
    EXPECT_TRUE(ClosedByServer(fd)) << c.request.substr(0, 60);
    close(fd);
  }
  // A refused request whose body is still arriving: the refusal is read whole
  // (the server drains what follows before it closes, so no reset destroys
  // the answer), then the connection ends.
  for (const std::string head :
       {std::string("POST /metrics HTTP/1.1\r\nContent-Length: 400000\r\n\r\n"),
        "GET /" + std::string(10'000, 'z') + " HTTP/1.1\r\n\r\n"}) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, head));
    const std::string body(400'000, 'b');
    SendAll(fd, body);  // the server may close its side first
    shutdown(fd, SHUT_WR);
    std::string buf;
    RawAnswer a = ReadAnswer(fd, &buf);
    EXPECT_TRUE(a.status == 413 || a.status == 414) << head.substr(0, 40) << ": " << a.head;
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-1", 200)["features"]["orders_lifetime"], 2);
  EXPECT_EQ(pipeline_->counters().applied, 3);
}

TEST_F(HttpServerTest, SlowClientsAreAnsweredRequestTimeoutWhileLookupsGoOn) {
  http_options_.listen = "127.0.0.1:0";
  http_options_.threads = 2;
  http_options_.read_timeout_ms = 200;
  auto server = HttpServer::Start(http_options_, pipeline_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  RunPipeline();
  // Three hundred clients, far more than the server's two threads, that send
  // half a request line and stall.
  std::vector<int> slow;
  for (int i = 0; i < 300; ++i) {
    const int fd = Connect(server_->port());
    ASSERT_GE(fd, 0);
    ASSERT_TRUE(SendAll(fd, "GET /v1/custo"));
    slow.push_back(fd);
  }
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-1", 200)["features"]["orders_lifetime"], 2);
  // Each gets a 408 once its request is overdue, and is closed.
  for (int fd : slow) {
    std::string buf;
    EXPECT_EQ(ReadAnswer(fd, &buf).status, 408);
    EXPECT_TRUE(ClosedByServer(fd));
    close(fd);
  }
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-2", 200)["features"]["orders_lifetime"], 1);
  EXPECT_EQ(pipeline_->counters().applied, 3);
}

// The niceness of every thread of this process (/proc/self/task/*/stat).
std::vector<int> ThreadNiceness() {
  std::vector<int> out;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
    std::string field;
    for (int i = 3; i <= 19 && rest >> field; ++i) {
      if (i == 19) out.push_back(std::stoi(field));  // field 19: nice
    }
  }
  return out;
}

TEST_F(HttpServerTest, RequestThreadsYieldTheCpuToThePipeline) {
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, 0);
  ASSERT_EQ(errno, 0);
  const int lowered = std::min(19, base + 7);
  ASSERT_NE(lowered, base) << "the test runs at niceness 19 already";
  server_.reset();
  const std::vector<int> before = ThreadNiceness();
  EXPECT_EQ(std::count(before.begin(), before.end(), lowered), 0);
  http_options_.nice = 7;
  http_options_.threads = 3;
  auto server = HttpServer::Start(http_options_, pipeline_.get());
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = std::move(*server);
  RunPipeline();
  EXPECT_EQ(GetJson("/v1/customers/shop-1/c-1", 200)["features"]["orders_lifetime"], 2);
  // Every event loop lowers itself as it starts; one answered, so the others
  // are running too unless they are slow to start (waited for, not timed).
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<int> after = ThreadNiceness();
    return std::count(after.begin(), after.end(), lowered) == 3;
  }));
  const std::vector<int> after = ThreadNiceness();
  EXPECT_GE(std::count(after.begin(), after.end(), base), 2);  // this one and the pipeline's
}

TEST_F(HttpServerTest, MetricsAreValidPrometheusTextWithTheCountsOfTheRun) {
  RunPipeline();
  // The server's own families count these four (not the /metrics request
  // itself: it is counted once answered).
  GetJson("/v1/customers/shop-1/c-1", 200);
  GetJson("/v1/customers/shop-1/c-2", 200);
  GetJson("/v1/customers/shop-1/c-404", 404);
  GetJson("/v1/customers/shop-1/%ZZ", 400);
  auto r = Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = r->body;
  // 3 events applied: the purchases (the test's stream is purchases only).
  EXPECT_NE(text.find("recur_events_applied_total{topic=\"shop.purchases\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("recur_events_consumed_total{topic=\"shop.purchases\"} 4\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("recur_dlq_records_total{reason=\"undecodable\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("recur_consumer_lag_records{topic=\"shop.purchases\",partition=\"0\"} 0\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("recur_batch_commit_seconds_count "), std::string::npos) << text;
  EXPECT_NE(text.find("recur_partitions_assigned 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("recur_score_probability_bucket{target=\"repurchase_30d\",le=\"+Inf\"} 0\n"),
            std::string::npos)
      << text;
  for (const char* line :
       {"recur_http_requests_total{code=\"200\"} 2\n",
        "recur_http_requests_total{code=\"400\"} 1\n",
        "recur_http_requests_total{code=\"404\"} 1\n",
        "recur_http_answer_duration_seconds_count 4\n",
        "recur_http_answer_duration_seconds_bucket{le=\"+Inf\"} 4\n", "recur_http_connections "}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
  }
  EXPECT_EQ(PromtoolCheck(text, tmp_.path()), "");
}

TEST(HttpMetricsTest, DriftIsAGaugePerTargetAndFeatureWithoutTheFiguresNotYetKnown) {
  PipelineCounters c;
  DriftReport r;
  r.target = "repurchase_30d";
  r.version = "p1";
  r.rows = 3000;
  r.feature_psi.assign(kNumFeatures, 0.015625);
  r.feature_psi[FeatureIndex("minutes_month0")] = 0.875;
  r.feature_psi[FeatureIndex("tenure_days")] = NAN;  // no rows in its population: not written
  r.score_psi = 0.5;
  c.scoring.drift.push_back(r);
  const std::string text = PrometheusText(c);
  EXPECT_NE(
      text.find("recur_feature_psi{target=\"repurchase_30d\",feature=\"minutes_month0\"} 0.875\n"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("feature=\"orders_30d\"} 0.015625\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("tenure_days"), std::string::npos) << text;
  EXPECT_NE(text.find("recur_score_psi{target=\"repurchase_30d\"} 0.5\n"), std::string::npos);
  EXPECT_NE(text.find("recur_drift_customers{target=\"repurchase_30d\"} 3000\n"),
            std::string::npos);
  testing::TempDir tmp("recur-http-drift");
  EXPECT_EQ(PromtoolCheck(text, tmp.path()), "");
}

TEST(HttpMetricsTest, LabelValuesAreEscapedAndLargeCountsStayExact) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  PipelineCounters c;
  c.applied_by_topic["shop.purchases"] = 123'456'789'012;
  c.dlq["odd \"reason\""] = 2;
  const std::string text = PrometheusText(c);
  EXPECT_NE(text.find("recur_events_applied_total{topic=\"shop.purchases\"} 123456789012\n"),
            std::string::npos);
  EXPECT_NE(text.find("recur_dlq_records_total{reason=\"odd \\\"reason\\\"\"} 2\n"),
            std::string::npos);
}

TEST(HttpServerStartTest, AMalformedOrTakenAddressIsAClearError) {
  PipelineOptions o;
  o.kafka["bootstrap.servers"] = "127.0.0.1:1";
  o.scoring.enabled = false;
  testing::TempDir tmp("recur-http-start");
  o.state_dir = (tmp.path() / "state").string();
  auto p = Pipeline::CreateWithSource(o, std::make_unique<FakeRecordSource>(), nullptr);
  ASSERT_TRUE(p.ok()) << p.status();
  for (const char* bad : {"8080", "127.0.0.1:", "127.0.0.1:99999", ":80", "host:port"}) {
    auto s = HttpServer::Start({.listen = bad}, p->get());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto first = HttpServer::Start({.listen = "127.0.0.1:0"}, p->get());
  ASSERT_TRUE(first.ok()) << first.status();
  auto taken =
      HttpServer::Start({.listen = absl::StrCat("127.0.0.1:", (*first)->port())}, p->get());
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(taken.status().message()).find("can not listen"), std::string::npos);
}

}  // namespace
}  // namespace recur
