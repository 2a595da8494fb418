// A progress line for long work (building training sets, boosting): done of
// total, the rate and the time left, at most about once a second. On a terminal
// the line rewrites itself (\r); otherwise (a log file, CI) every update is a
// line of its own, so logs stay readable.
//
//   recur::ProgressLine p("training set", "customers", " x 12 cutoffs");
//   for (...) p.Update(done, total);
//   p.Finish(done);
//   // training set: 412,000/1,000,000 customers x 12 cutoffs, 85,000/s, ETA 7 s
//
// Not thread-safe: one owner updates it.
#ifndef RECUR_BASE_PROGRESS_H_
#define RECUR_BASE_PROGRESS_H_

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace recur {

// 1234567 -> "1,234,567".
std::string FormatCount(int64_t n);
// Seconds as "7 s", "2 min 5 s", "1 h 2 min".
std::string FormatDuration(double seconds);

class ProgressLine {
 public:
  struct Options {
    std::ostream* out = nullptr;    // default std::cerr
    int tty = -1;                   // -1: ask isatty(stderr)
    double interval_s = 1.0;        // at most one line per interval
    bool eta_is_bound = false;      // "ETA <=": the work may stop early (early stopping)
    std::function<double()> clock;  // seconds; default a steady clock
  };

  // "<what>: <done>/<total> <unit><suffix>, <rate>/s, ETA <left><extra>".
  ProgressLine(std::string what, std::string unit, std::string suffix = "");
  ProgressLine(std::string what, std::string unit, std::string suffix, Options options);

  // Prints when an interval has passed since the start or the last line.
  // total <= 0: unknown (no ETA); a total below done is raised to done.
  void Update(int64_t done, int64_t total, const std::string& extra = "");
  // Always prints the closing line (time taken, mean rate) and ends it.
  void Finish(int64_t done, const std::string& extra = "");
  double elapsed() const;

 private:
  void Print(const std::string& line);

  std::string what_, unit_, suffix_;
  Options options_;
  bool tty_ = false;
  double start_ = 0, last_ = 0;
  size_t last_width_ = 0;
};

}  // namespace recur

#endif  // RECUR_BASE_PROGRESS_H_
