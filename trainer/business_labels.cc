#include "trainer/business_labels.h"

#include <fstream>
#include <map>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/time.h"

namespace recur {
namespace {

// Splits one CSV line (RFC 4180 quoting, no embedded newlines); fields trimmed.
absl::StatusOr<std::vector<std::string>> SplitCsv(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && absl::StripAsciiWhitespace(fields.back()).empty() && !was_quoted) {
      fields.back().clear();
      quoted = was_quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
      was_quoted = false;
    } else if (was_quoted && !absl::ascii_isspace(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError("text after a closing quote");
    } else {
      fields.back() += c;
    }
  }
  if (quoted) return absl::InvalidArgumentError("unterminated quote");
  for (auto& f : fields) f = std::string(absl::StripAsciiWhitespace(f));
  return fields;
}

bool IsHeader(const std::vector<std::string>& f) {
  auto is = [&](size_t i, const char* name) {
    return i < f.size() && absl::AsciiStrToLower(f[i]) == name;
  };
  return (f.size() == 3 || f.size() == 4) && is(0, "shop_id") && is(1, "customer_id") &&
         is(2, "label") && (f.size() == 3 || is(3, "as_of"));
}

}  // namespace

absl::StatusOr<int64_t> ParseAsOf(const std::string& text) {
  auto t = ParseTime(text, DayBound::kEnd);  // a date means the end of that UTC day
  if (t.ok()) return t;
  return absl::InvalidArgumentError(
      absl::StrCat("as_of must be YYYY-MM-DD or milliseconds since the epoch, got '", text, "'"));
}

absl::StatusOr<std::vector<LabelRow>> ParseLabelsCsv(std::istream& in, const std::string& name,
                                                     int64_t default_as_of_ms) {
  std::vector<LabelRow> rows;
  std::map<std::tuple<std::string, std::string, int64_t>, int> seen;  // -> line
  std::string line;
  bool first = true;
  for (int n = 1; std::getline(in, line); ++n) {
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", n, ": ", what));
    };
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0)
      line.erase(0, 3);  // a spreadsheet's UTF-8 BOM
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    auto fields = SplitCsv(line);
    if (!fields.ok()) return error(std::string(fields.status().message()));
    const std::vector<std::string>& f = *fields;
    if (first && IsHeader(f)) {
      first = false;
      continue;
    }
    first = false;
    if (f.size() != 3 && f.size() != 4) {
      return error(absl::StrCat("expected 3 or 4 fields (shop_id,customer_id,label[,as_of]), got ",
                                f.size()));
    }
    LabelRow r;
    r.line = n;
    r.key = {f[0], f[1]};
    if (r.key.shop_id.empty()) return error("empty shop_id");
    if (r.key.customer_id.empty()) return error("empty customer_id");
    if (r.key.shop_id.find('/') != std::string::npos)
      return error(absl::StrCat("shop_id '", f[0], "' contains '/'"));
    if (f[2] == "0" || f[2] == "1") {
      r.label = f[2] == "1" ? 1.0f : 0.0f;
    } else {
      return error(absl::StrCat("label must be 0 or 1, got '", f[2], "'"));
    }
    r.as_of_ms = default_as_of_ms;
    if (f.size() == 4 && !f[3].empty()) {
      auto t = ParseAsOf(f[3]);
      if (!t.ok()) return error(std::string(t.status().message()));
      r.as_of_ms = *t;
    }
    auto [it, fresh] =
        seen.emplace(std::make_tuple(r.key.shop_id, r.key.customer_id, DayOf(r.as_of_ms)), n);
    if (!fresh) {
      return error(absl::StrCat(r.key.Encode(), " as of ", FormatDayOfMs(r.as_of_ms),
                                " is already labelled on line ", it->second));
    }
    rows.push_back(std::move(r));
  }
  if (in.bad()) return absl::UnavailableError(absl::StrCat(name, ": read error"));
  if (rows.empty()) return absl::InvalidArgumentError(absl::StrCat(name, ": no label rows"));
  return rows;
}

absl::StatusOr<std::vector<LabelRow>> ReadLabelsCsv(const std::string& path,
                                                    int64_t default_as_of_ms) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("labels file ", path, ": cannot open"));
  return ParseLabelsCsv(in, path, default_as_of_ms);
}

absl::Status CheckAsOfRange(const std::vector<LabelRow>& rows, const std::string& name,
                            int32_t first_day, int32_t last_day) {
  for (const auto& r : rows) {
    const int32_t d = DayOf(r.as_of_ms);
    if (d < first_day || d > last_day) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", r.line, ": as_of ", FormatDayOfMs(r.as_of_ms),
                       " is outside the snapshot's history (", FormatDay(first_day), " .. ",
                       FormatDay(last_day), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace recur
