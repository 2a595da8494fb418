// The progress line: format, rate and ETA by hand, throttling, \r on a terminal
// and whole lines otherwise.
#include "base/progress.h"

#include <gtest/gtest.h>

#include <sstream>

namespace recur {
namespace {

struct FakeClock {
  double now = 100.0;
};

ProgressLine::Options Opts(std::ostringstream* out, FakeClock* clock, bool tty) {
  ProgressLine::Options o;
  o.out = out;
  o.tty = tty ? 1 : 0;
  o.clock = [clock] { return clock->now; };
  return o;
}

TEST(ProgressTest, Formats) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1,000");
  EXPECT_EQ(FormatCount(1234567), "1,234,567");
  EXPECT_EQ(FormatCount(-45000), "-45,000");
  EXPECT_EQ(FormatDuration(6.6), "7 s");
  EXPECT_EQ(FormatDuration(125), "2 min 5 s");
  EXPECT_EQ(FormatDuration(3725), "1 h 2 min");
}

TEST(ProgressTest, RateAndEtaOnALogAreWholeLinesAtMostOncePerSecond) {
  std::ostringstream out;
  FakeClock clock;
  ProgressLine p("training set", "customers", " x 12 cutoffs", Opts(&out, &clock, false));
  clock.now += 0.5;
  p.Update(40'000, 1'000'000);  // under a second since the start: nothing
  EXPECT_EQ(out.str(), "");
  clock.now = 104.0;  // 4 s: 340,000 done = 85,000/s; 660,000 left = 7.76 s
  p.Update(340'000, 1'000'000);
  EXPECT_EQ(out.str(),
            "training set: 340,000/1,000,000 customers x 12 cutoffs, 85,000/s, ETA 8 s\n");
  clock.now = 104.9;  // 0.9 s after the last line: throttled
  p.Update(400'000, 1'000'000);
  clock.now = 105.0;  // 5 s: 425,000 = 85,000/s; 575,000 left = 6.8 s
  p.Update(425'000, 1'000'000, ", 3,000,000 rows");
  EXPECT_EQ(out.str(),
            "training set: 340,000/1,000,000 customers x 12 cutoffs, 85,000/s, ETA 8 s\n"
            "training set: 425,000/1,000,000 customers x 12 cutoffs, 85,000/s, ETA 7 s, 3,000,000 "
            "rows\n");
  out.str("");
  clock.now = 110.0;
  p.Finish(1'000'000);  // 10 s in all
  EXPECT_EQ(out.str(), "training set: 1,000,000 customers x 12 cutoffs in 10 s, 100,000/s\n");
}

TEST(ProgressTest, OnATerminalTheLineRewritesItself) {
  std::ostringstream out;
  FakeClock clock;
  ProgressLine::Options o = Opts(&out, &clock, true);
  o.eta_is_bound = true;
  ProgressLine p("training", "rounds", "", o);
  clock.now += 2;
  p.Update(5, 300, ", held-out log-loss 0.51234");  // 2.5 rounds/s, 295 left = 118 s
  clock.now += 2;
  p.Update(10, 300);  // shorter: padded over the previous line's tail
  const std::string first =
      "training: 5/300 rounds, 2.5/s, ETA <= 1 min 58 s, held-out log-loss 0.51234";
  const std::string second = "training: 10/300 rounds, 2.5/s, ETA <= 1 min 56 s";
  EXPECT_EQ(out.str(),
            "\r" + first + "\r" + second + std::string(first.size() - second.size(), ' '));
  out.str("");
  p.Finish(10);
  EXPECT_EQ(out.str(),
            "\rtraining: 10 rounds in 4 s, 2.5/s" + std::string(second.size() - 33, ' ') + "\n");
}

TEST(ProgressTest, UnknownOrLowTotals) {
  std::ostringstream out;
  FakeClock clock;
  ProgressLine p("scan", "customers", "", Opts(&out, &clock, false));
  clock.now += 2;
  p.Update(5'000, 0);  // unknown total: no ETA
  clock.now += 1;
  p.Update(9'000, 8'000);  // an estimate below what was done: raised to done
  EXPECT_EQ(out.str(),
            "scan: 5,000 customers, 2,500/s\nscan: 9,000/9,000 customers, 3,000/s, ETA 0 s\n");
}

}  // namespace
}  // namespace recur
