#include "trainer/business_labels.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "featurestore/calendar.h"

namespace recur {
namespace {

// Splits one CSV line (RFC 4180 quoting, no embedded newlines) at `sep`;
// fields trimmed.
absl::StatusOr<std::vector<std::string>> SplitCsv(const std::string& line, char sep) {
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
    } else if (c == sep) {
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

// ';' when the first line has semicolons and no comma outside quotes (a
// spreadsheet saved in a locale whose decimal separator is the comma), else ','.
char DetectSeparator(const std::string& line) {
  bool quoted = false, comma = false, semicolon = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;  // "" toggles twice: still inside
    if (quoted) continue;
    comma |= c == ',';
    semicolon |= c == ';';
  }
  return semicolon && !comma ? ';' : ',';
}

enum Column { kShop, kCustomer, kLabel, kAsOf, kColumns };
constexpr const char* kColumnNames[kColumns] = {"shop_id", "customer_id", "label", "as_of"};

// The column a header field names (case-insensitive; "shop" and "customer" too).
std::optional<Column> ColumnNamed(const std::string& field) {
  const std::string f = absl::AsciiStrToLower(field);
  if (f == "shop_id" || f == "shop") return kShop;
  if (f == "customer_id" || f == "customer") return kCustomer;
  if (f == "label") return kLabel;
  if (f == "as_of") return kAsOf;
  return std::nullopt;
}

// Where each column is in a row: the header's order, or shop_id,customer_id,
// label[,as_of] without a header.
struct Layout {
  int index[kColumns] = {0, 1, 2, 3};  // -1: absent
  size_t fields = 0;                   // 0: no header (3 or 4 fields)
};

// A first line naming any column is the header; it must name the three
// required ones, each once, and nothing else.
absl::StatusOr<std::optional<Layout>> ReadHeader(const std::vector<std::string>& f) {
  bool any = false;
  for (const auto& field : f) any |= ColumnNamed(field).has_value();
  if (!any) return std::nullopt;
  Layout l;
  std::fill(std::begin(l.index), std::end(l.index), -1);
  l.fields = f.size();
  for (size_t i = 0; i < f.size(); ++i) {
    const auto c = ColumnNamed(f[i]);
    if (!c) {
      return absl::InvalidArgumentError(
          absl::StrCat("column ", i + 1, ": unknown column '", f[i],
                       "' (expected shop_id, customer_id, label and optionally as_of, in any "
                       "order)"));
    }
    if (l.index[*c] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat("column ", i + 1, ": ", kColumnNames[*c],
                                                     " is also column ", l.index[*c] + 1));
    }
    l.index[*c] = static_cast<int>(i);
  }
  for (Column c : {kShop, kCustomer, kLabel}) {
    if (l.index[c] < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("the header has no ", kColumnNames[c], " column"));
  }
  return l;
}

// 0 or 1, also written 0.0/1.0 (any number equal to them) or true/false.
std::optional<float> ParseLabel(const std::string& text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "true") return 1.0f;
  if (t == "false") return 0.0f;
  double v = 0;
  if (!t.empty() && (absl::ascii_isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.') &&
      absl::SimpleAtod(t, &v) && (v == 0 || v == 1)) {
    return static_cast<float>(v);
  }
  return std::nullopt;
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
  char sep = ',';
  Layout layout;
  for (int n = 1; std::getline(in, line); ++n) {
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(name, ":", n, ": ", what));
    };
    if (n == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0)
      line.erase(0, 3);  // a spreadsheet's UTF-8 BOM
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    if (first) sep = DetectSeparator(line);
    auto fields = SplitCsv(line, sep);
    if (!fields.ok()) return error(std::string(fields.status().message()));
    const std::vector<std::string>& f = *fields;
    if (first) {
      first = false;
      auto header = ReadHeader(f);
      if (!header.ok()) return error(std::string(header.status().message()));
      if (header->has_value()) {
        layout = **header;
        continue;
      }
    }
    if (layout.fields == 0 && f.size() != 3 && f.size() != 4) {
      return error(absl::StrCat("expected 3 or 4 fields (shop_id,customer_id,label[,as_of]), got ",
                                f.size()));
    }
    // A last as_of column may be left off a row, as without a header.
    const bool as_of_left_off =
        layout.index[kAsOf] + 1 == static_cast<int>(layout.fields) && f.size() + 1 == layout.fields;
    if (layout.fields != 0 && f.size() != layout.fields && !as_of_left_off) {
      return error(
          absl::StrCat("expected ", layout.fields, " fields as in the header, got ", f.size()));
    }
    auto field = [&](Column c) -> const std::string& {
      static const std::string kEmpty;
      const int i = layout.index[c];
      return i >= 0 && static_cast<size_t>(i) < f.size() ? f[i] : kEmpty;
    };
    auto column_error = [&](Column c, const std::string& what) {
      return error(
          absl::StrCat("column ", layout.index[c] + 1, " (", kColumnNames[c], "): ", what));
    };
    LabelRow r;
    r.line = n;
    r.key = {field(kShop), field(kCustomer)};
    if (r.key.shop_id.empty()) return column_error(kShop, "empty");
    if (r.key.customer_id.empty()) return column_error(kCustomer, "empty");
    if (r.key.shop_id.find('/') != std::string::npos)
      return column_error(kShop, absl::StrCat("'", r.key.shop_id, "' contains '/'"));
    const auto label = ParseLabel(field(kLabel));
    if (!label) {
      return column_error(
          kLabel, absl::StrCat("must be 0 or 1 (0.0/1.0 and true/false are accepted), got '",
                               field(kLabel), "'"));
    }
    r.label = *label;
    r.as_of_ms = default_as_of_ms;
    if (!field(kAsOf).empty()) {
      auto t = ParseAsOf(field(kAsOf));
      if (!t.ok()) return column_error(kAsOf, std::string(t.status().message()));
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
  // Up to the end of the last event's month: a month-end label is refused
  // neither because the month's last days had no event nor because the export
  // stopped a few days early (features as of it see every event the store has).
  const int32_t last_as_of_day = MonthStart(last_day, -1) - 1;
  for (const auto& r : rows) {
    const int32_t d = DayOf(r.as_of_ms);
    if (d < first_day || d > last_as_of_day) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ":", r.line, ": as_of ", FormatDayOfMs(r.as_of_ms),
                       " is outside the snapshot's history (", FormatDay(first_day), " .. ",
                       FormatDay(last_as_of_day), ": its last event is on ", FormatDay(last_day),
                       ", and an as_of may reach the end of that month)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace recur
