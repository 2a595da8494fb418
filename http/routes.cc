// Answer(): the routing and the answers of http/server.h, without sockets.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/time.h"
#include "featurestore/validate.h"
#include "http/customer_json.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/status_page.h"
#include "nlohmann/json.hpp"

namespace recur {
namespace {

constexpr char kEndpoints[] =
    "GET / (status page), GET /v1/customers/{shop_id}/{customer_id}, "
    "GET /v1/customers/{shop_id}/{customer_id}/features?as_of=..., GET /metrics, GET /healthz, "
    "GET /readyz";

HttpAnswer Error(int status, absl::string_view message) {
  return ErrorAnswer(status, std::string_view(message.data(), message.size()));
}

HttpAnswer Json(int status, const nlohmann::json& j) {
  return {status, "application/json",
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"};
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding ('+' stays '+': this is a path segment or a query value).
std::optional<std::string> PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = HexDigit(s[i + 1]), lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool IsUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : -1;
    if (n < 0 || (n == 1 && c < 0xC2) || (n == 3 && c > 0xF4)) return false;
    if (i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    if (n == 2) {  // no overlong forms, no surrogates
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) return false;
    }
    if (n == 3) {
      const auto c1 = static_cast<unsigned char>(s[i + 1]);
      if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return false;
    }
    i += n + 1;
  }
  return true;
}

// "shop_id: ..." when an id is not one the decoder would accept (validate.h).
std::optional<std::string> BadId(const std::string& value, const char* field) {
  if (value.empty()) return absl::StrCat(field, ": missing");
  if (value.size() > kMaxIdBytes)
    return absl::StrCat(field, ": longer than ", kMaxIdBytes, " bytes");
  if (!IsUtf8(value)) return absl::StrCat(field, ": not valid UTF-8");
  return std::nullopt;
}

HttpAnswer Ready(const Pipeline& pipeline, const HttpOptions& o) {
  const PipelineCounters c = pipeline.counters();
  std::vector<std::string> why;
  if (c.stores_open == 0) why.push_back("no partition assigned");
  if (c.lag > o.ready_max_lag) {
    why.push_back(absl::StrCat(c.lag, " records behind (ready at <= ", o.ready_max_lag, ")"));
  }
  if (o.models_required && c.models == "none") why.push_back("models not loaded");
  nlohmann::json j{{"ready", why.empty()},
                   {"partitions", c.stores_open},
                   {"lag", c.lag},
                   {"models", c.models},
                   {"reasons", why}};
  return Json(why.empty() ? 200 : 503, j);
}

HttpAnswer Customer(const Pipeline& pipeline, const std::vector<std::string>& segs,
                    absl::string_view query) {
  CustomerKey key{segs[3], segs[4]};
  if (auto bad = BadId(key.shop_id, "shop_id")) return Error(400, *bad);
  if (auto bad = BadId(key.customer_id, "customer_id")) return Error(400, *bad);
  if (key.shop_id.find('/') != std::string::npos) {
    return Error(400, "shop_id: must not contain '/'");
  }
  const bool point_in_time = segs.size() == 6;
  std::optional<int64_t> as_of;
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first != "as_of") return Error(400, absl::StrCat("unknown query parameter ", p.first));
    if (!point_in_time) return Error(400, "as_of: only for .../features");
    auto text = PercentDecode(p.second);
    if (!text) return Error(400, "as_of: malformed percent-encoding");
    auto t = ParseTime(*text, DayBound::kStart);
    if (!t.ok()) return Error(400, absl::StrCat("as_of: ", t.status().message()));
    as_of = *t;
  }
  if (point_in_time && !as_of) return Error(400, "as_of: missing (ms, YYYY-MM-DD or RFC 3339)");
  auto found = pipeline.Lookup(key, as_of);
  if (absl::IsNotFound(found.status())) {
    return Error(404, absl::StrCat("no customer ", key.Encode(), " in the partitions served here"));
  }
  if (absl::IsInvalidArgument(found.status()))
    return Error(400, std::string(found.status().message()));
  if (!found.ok()) return Error(500, std::string(found.status().message()));
  auto j = CustomerJson(key, *found);
  if (!j.ok()) return Error(500, std::string(j.status().message()));
  if (point_in_time) j->erase("last_score");  // a score exists only as of its own time
  return Json(200, *j);
}

}  // namespace

HttpAnswer ErrorAnswer(int status, std::string_view message) {
  nlohmann::json j{{"error", std::string(message)}};
  // Messages quote what the client sent: replace what is not UTF-8 rather
  // than fail to answer.
  return {status, "application/json",
          j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

HttpAnswer Answer(const Pipeline& pipeline, const HttpOptions& options, std::string_view method,
                  std::string_view target_std) {
  if (method != "GET" && method != "HEAD") return Error(405, "only GET is served");
  // Debian's abseil has its own string_view.
  const absl::string_view target(target_std.data(), target_std.size());
  const size_t q = target.find('?');
  const absl::string_view path = target.substr(0, q);
  const absl::string_view query = q == absl::string_view::npos ? "" : target.substr(q + 1);
  std::vector<std::string> segs;
  for (absl::string_view raw : absl::StrSplit(path, '/')) {
    auto seg = PercentDecode(raw);
    if (!seg) return Error(400, "path: malformed percent-encoding");
    segs.push_back(*std::move(seg));
  }
  // segs[0] is the empty string before the leading '/'.
  if (segs.size() < 2 || !segs[0].empty()) return Error(400, "path: must start with '/'");
  if (segs.size() == 2 && segs[1].empty())
    return {200, "text/html; charset=utf-8", StatusPageHtml()};
  if (segs.size() == 2 && segs[1] == "healthz") return {200, "text/plain", "ok\n"};
  if (segs.size() == 2 && segs[1] == "readyz") return Ready(pipeline, options);
  if (segs.size() == 2 && segs[1] == "metrics") {
    std::string text = PrometheusText(pipeline.counters());
    if (options.more_metrics) options.more_metrics(&text);
    return {200, "text/plain; version=0.0.4; charset=utf-8", std::move(text)};
  }
  if ((segs.size() == 5 || (segs.size() == 6 && segs[5] == "features")) && segs[1] == "v1" &&
      segs[2] == "customers") {
    return Customer(pipeline, segs, query);
  }
  for (const std::string& seg : segs) {
    if (!IsUtf8(seg)) return Error(400, "path: not valid UTF-8");
  }
  return Error(404, absl::StrCat("unknown path ", path, "; served: ", kEndpoints));
}

}  // namespace recur
