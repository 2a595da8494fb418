#include "base/time.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace recur {

std::string FormatDay(int32_t day) { return FormatDayOfMs(int64_t{day} * kMillisPerDay); }

std::string FormatDayOfMs(int64_t time_ms) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(time_ms), absl::UTCTimeZone());
}

std::string FormatTimeMs(int64_t time_ms) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(time_ms), absl::UTCTimeZone());
}

absl::StatusOr<int64_t> ParseTime(std::string_view text_view, DayBound bound) {
  // Debian's abseil has its own string_view type: work on a std::string.
  const std::string text(text_view);
  const std::string_view digits =
      std::string_view(text).substr(!text.empty() && text[0] == '-' ? 1 : 0);
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
    int64_t ms = 0;
    if (absl::SimpleAtoi(text, &ms)) return ms;
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is out of range for milliseconds since the epoch"));
  }
  absl::Time t;
  std::string err;
  const std::string& s = text;
  if (s.size() == 10 && absl::ParseTime("%Y-%m-%d", s, absl::UTCTimeZone(), &t, &err)) {
    const int64_t start = absl::ToUnixMillis(t);
    return bound == DayBound::kStart ? start : start + kMillisPerDay - 1;
  }
  if (absl::ParseTime(absl::RFC3339_full, s, absl::UTCTimeZone(), &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("'", text, "' is not a time (ms, YYYY-MM-DD or RFC 3339)"));
}

}  // namespace recur
