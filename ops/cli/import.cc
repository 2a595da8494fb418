// `recur import`: a JSON-lines event file into a state dir, through the
// featurestore's resumable Importer.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "featurestore/importer.h"
#include "featurestore/state_dir.h"
#include "ops/cli/cli.h"
#include "ops/jsonl.h"

namespace recur::cli {
namespace {

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
  }

  int Run() override {
    StateDir::Options o;
    o.path = state_dir_;
    o.partitions = partitions_;
    o.store.max_events_per_day = max_events_per_day_;
    auto dir = StateDir::Open(o);
    if (!dir.ok()) return Fail(dir.status());
    std::ifstream in(input_);

    Importer::Options io;
    io.source = "file:" + std::filesystem::absolute(input_).string();
    io.batch_size = batch_;
    int64_t reported = 0;
    io.on_reject = [&](int64_t position, std::string_view reason, const absl::Status& why) {
      if (++reported <= 20) {
        std::cerr << "recur: line " << position + 1 << ": " << reason << ": " << why.message()
                  << "\n";
      }
    };
    auto importer = Importer::Start(dir->get(), io);
    if (!importer.ok()) return Fail(importer.status());
    absl::Status s;
    std::string line;
    for (int64_t n = 0; s.ok() && std::getline(in, line); ++n) {
      if (line.empty()) continue;
      s = (*importer)->Add(n, ParseEventJson(line));
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
};

}  // namespace

std::unique_ptr<Command> RegisterImport(CLI::App& app) {
  return std::make_unique<ImportCommand>(app);
}

}  // namespace recur::cli
