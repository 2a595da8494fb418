// `recur import`: a JSON-lines event file into a state dir, through the
// featurestore's resumable Importer, its lines sorted by event time (issue 16:
// a file written customer by customer lost most of its older events as "too
// late", the horizon following the newest event added so far). The first pass
// reads every line's event time and byte offset; the second adds the lines in
// (event time, line) order, so any order of the same lines gives the same store,
// the one a time-sorted file gives. The Importer's positions are indices in
// that order, which depends only on the file's content: an interrupted import
// resumes. 24 bytes of memory per line.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/time.h"
#include "featurestore/importer.h"
#include "featurestore/state_dir.h"
#include "ops/cli/cli.h"
#include "ops/jsonl.h"

namespace recur::cli {
namespace {

// A non-empty line of the file: where it starts, its 0-based line number and
// its event time (the smallest value when it does not decode: it is rejected
// anyway, first).
struct TimedLine {
  int64_t event_time_ms = 0;
  int64_t line = 0;
  std::streamoff offset = 0;
};

// The first pass: every non-empty line, sorted by (event time, line).
absl::Status ReadTimes(std::istream& in, std::vector<TimedLine>* out) {
  std::string line;
  for (int64_t n = 0;; ++n) {
    const std::streamoff offset = in.tellg();
    if (!std::getline(in, line)) break;
    if (line.empty()) continue;
    auto e = ParseEventJson(line);
    out->push_back({e.ok() ? e->event_time_ms() : std::numeric_limits<int64_t>::min(), n, offset});
  }
  if (in.bad()) return absl::UnavailableError("read error on the input file");
  std::sort(out->begin(), out->end(), [](const TimedLine& a, const TimedLine& b) {
    return std::tie(a.event_time_ms, a.line) < std::tie(b.event_time_ms, b.line);
  });
  return absl::OkStatus();
}

// How far an import of `path` by an earlier recur, which stored line-order
// positions under "file:PATH", got in this state dir: none, every line
// (lines_end: one past the last non-empty line), or part of them — which the
// time-ordered positions cannot resume without counting events twice (the
// store's dedupe forgets an id after kDedupeDays).
enum class LineOrderImport { kNone, kComplete, kPartial };
absl::StatusOr<LineOrderImport> LineOrderImportOf(StateDir& dir, const std::string& path,
                                                  int64_t lines_end) {
  int32_t complete = 0, seen = 0;
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    auto offsets = dir.store(p)->ReadOffsets();
    if (!offsets.ok()) return offsets.status();
    auto it = offsets->find(TopicPartition{"file:" + path, 0});
    if (it == offsets->end()) continue;
    ++seen;
    complete += it->second >= lines_end;
  }
  if (seen == 0) return LineOrderImport::kNone;
  return complete == dir.partitions() ? LineOrderImport::kComplete : LineOrderImport::kPartial;
}

class ImportCommand : public Command {
 public:
  explicit ImportCommand(CLI::App& app)
      : Command(app.add_subcommand("import",
                                   "Apply a JSON-lines event file to the feature store (resumable, "
                                   "exactly once)")) {
    sub_->add_option("input", input_, "JSON-lines file of events")
        ->required()
        ->check(CLI::ExistingFile);
    sub_->add_option("--state-dir", state_dir_, "state directory (one store per partition)")
        ->capture_default_str();
    sub_->add_option("--partitions", partitions_, "partition count of the state dir")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    sub_->add_option("--batch", batch_, "events per write batch")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    sub_->add_option("--max-events-per-day", max_events_per_day_,
                     "as for `recur run`: events applied per customer, kind and UTC day; the "
                     "rest are rejected as rate_limited (0: no cap)")
        ->capture_default_str();
    sub_->add_option("--retention-days", retention_days_,
                     "days of history the stores keep, recorded when they are created (default: "
                     "400 for a new state dir, the recorded value for an existing one; another "
                     "value than the recorded one is refused)")
        ->check(CLI::Range(kMinRetentionDays, 100'000));
  }

  int Run() override {
    StateDir::Options o;
    o.path = state_dir_;
    o.partitions = partitions_;
    o.store.max_events_per_day = max_events_per_day_;
    o.store.retention_days = retention_days_;  // 0: the stores' own
    auto dir = StateDir::Open(o);
    if (!dir.ok()) return Fail(dir.status());
    std::ifstream in(input_);

    Importer::Options io;
    // Positions are indices in event-time order: another name than the one
    // of the line-order imports before it, so no old position is misread.
    const std::string path = std::filesystem::absolute(input_).string();
    io.source = "file-by-time:" + path;
    io.batch_size = batch_;
    int64_t reported = 0;
    std::vector<int64_t> line_of;  // position (index in time order) -> 1-based line
    io.on_reject = [&](int64_t position, std::string_view reason, const absl::Status& why) {
      if (++reported <= 20) {
        std::cerr << "recur: line " << line_of[position] << ": " << reason << ": " << why.message()
                  << "\n";
      }
    };
    std::vector<TimedLine> order;
    if (absl::Status s = ReadTimes(in, &order); !s.ok()) return Fail(s);
    int64_t lines_end = 0;
    for (const TimedLine& l : order) lines_end = std::max(lines_end, l.line + 1);
    auto earlier = LineOrderImportOf(**dir, path, lines_end);
    if (!earlier.ok()) return Fail(earlier.status());
    if (*earlier == LineOrderImport::kComplete) {
      std::cerr << "imported: 0 applied, 0 duplicates, 0 rejected, " << order.size()
                << " skipped (already imported, by an earlier recur)\n";
      return kExitOk;
    }
    if (*earlier == LineOrderImport::kPartial) {
      return Fail(absl::FailedPreconditionError(absl::StrCat(
          state_dir_, " holds part of an import of ", path,
          " by an earlier recur, which counted lines in file order; this one adds them in "
          "event-time order and would count some events twice: finish it with that recur, or "
          "import into a new state dir")));
    }
    line_of.resize(order.size());
    for (size_t i = 0; i < order.size(); ++i) line_of[i] = order[i].line + 1;
    auto importer = Importer::Start(dir->get(), io);
    if (!importer.ok()) return Fail(importer.status());
    absl::Status s;
    std::string line;
    in.clear();
    for (size_t i = 0; s.ok() && i < order.size(); ++i) {
      in.seekg(order[i].offset);
      if (!std::getline(in, line)) {
        s = absl::DataLossError(absl::StrCat(input_, ": changed while importing (line ",
                                             order[i].line + 1, " is gone)"));
        break;
      }
      s = (*importer)->Add(static_cast<int64_t>(i), ParseEventJson(line));
    }
    if (s.ok()) s = (*importer)->Finish();
    if (!s.ok()) return Fail(s);

    const Importer::Summary& sum = (*importer)->summary();
    std::cerr << absl::StrFormat(
        "imported: %d applied, %d duplicates, %d rejected, %d skipped (already imported)\n",
        sum.applied, sum.duplicates, sum.rejected, sum.skipped);
    for (const auto& [reason, n] : sum.rejected_by_reason) {
      std::cerr << "  rejected " << reason << ": " << n << "\n";
    }
    return sum.rejected > 0 ? kExitBadInput : kExitOk;
  }

 private:
  std::string input_;
  std::string state_dir_ = "state";
  int32_t partitions_ = 1;
  size_t batch_ = 10'000;
  uint32_t max_events_per_day_ = kDefaultMaxEventsPerDay;
  int32_t retention_days_ = 0;
};

}  // namespace

std::unique_ptr<Command> RegisterImport(CLI::App& app) {
  return std::make_unique<ImportCommand>(app);
}

}  // namespace recur::cli
