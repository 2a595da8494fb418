#include "base/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace recur {

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string FormatDuration(double seconds) {
  const int64_t s = std::llround(std::max(0.0, seconds));
  if (s < 60) return absl::StrCat(s, " s");
  if (s < 3600) return absl::StrCat(s / 60, " min ", s % 60, " s");
  return absl::StrCat(s / 3600, " h ", (s % 3600) / 60, " min");
}

namespace {
std::string FormatRate(double per_s) {
  return per_s < 10 ? absl::StrFormat("%.1f", per_s) : FormatCount(std::llround(per_s));
}
}  // namespace

ProgressLine::ProgressLine(std::string what, std::string unit, std::string suffix)
    : ProgressLine(std::move(what), std::move(unit), std::move(suffix), Options()) {}

ProgressLine::ProgressLine(std::string what, std::string unit, std::string suffix, Options options)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      suffix_(std::move(suffix)),
      options_(std::move(options)) {
  if (options_.out == nullptr) options_.out = &std::cerr;
  tty_ = options_.tty < 0 ? isatty(STDERR_FILENO) == 1 : options_.tty == 1;
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  start_ = last_ = options_.clock();
}

double ProgressLine::elapsed() const { return options_.clock() - start_; }

void ProgressLine::Update(int64_t done, int64_t total, const std::string& extra) {
  const double now = options_.clock();
  if (now - last_ < options_.interval_s) return;
  last_ = now;
  const double rate = done / std::max(1e-9, now - start_);
  std::string line = absl::StrCat(what_, ": ", FormatCount(done));
  if (total > 0) absl::StrAppend(&line, "/", FormatCount(std::max(total, done)));
  absl::StrAppend(&line, " ", unit_, suffix_, ", ", FormatRate(rate), "/s");
  if (total > 0 && rate > 0) {
    absl::StrAppend(&line, ", ETA ", options_.eta_is_bound ? "<= " : "",
                    FormatDuration(static_cast<double>(std::max<int64_t>(0, total - done)) / rate));
  }
  Print(line + extra);
}

void ProgressLine::Finish(int64_t done, const std::string& extra) {
  const double took = options_.clock() - start_;
  Print(absl::StrCat(what_, ": ", FormatCount(done), " ", unit_, suffix_, " in ",
                     FormatDuration(took), ", ", FormatRate(done / std::max(1e-9, took)), "/s",
                     extra));
  if (tty_) *options_.out << "\n" << std::flush;
  last_width_ = 0;
}

void ProgressLine::Print(const std::string& line) {
  if (tty_) {
    // Pad over the rest of a longer previous line.
    *options_.out << "\r" << line
                  << std::string(last_width_ > line.size() ? last_width_ - line.size() : 0, ' ')
                  << std::flush;
    last_width_ = line.size();
  } else {
    *options_.out << line << "\n" << std::flush;
  }
}

}  // namespace recur
