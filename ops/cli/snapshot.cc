// `recur snapshot`: a consistent copy of a (running) state dir, through
// featurestore/snapshot.h.
#include "featurestore/snapshot.h"

#include <algorithm>
#include <csignal>
#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "base/time.h"
#include "ops/cli/cli.h"

namespace recur::cli {
namespace {

class SnapshotCommand : public Command {
 public:
  explicit SnapshotCommand(CLI::App& app)
      : Command(app.add_subcommand("snapshot",
                                   "Copy a consistent checkpoint of every partition store (offsets "
                                   "included) while `recur run` keeps running")) {
    sub_->add_option("--state-dir", state_dir_,
                     "state directory to copy: of a running `recur run`, or of nobody")
        ->capture_default_str();
    sub_->add_option("--out", out_, "new directory for the snapshot; must not exist")->required();
    sub_->footer(
        "Each partition store is opened as a RocksDB secondary instance (it needs no lock, so the "
        "pipeline\n"
        "keeps running), brought to a batch boundary, copied key by key and verified; every store "
        "keeps the\n"
        "offsets its state was built from. OUT is built as OUT.tmp-XXXXXX beside it and renamed at "
        "the end.\n"
        "The result is a state dir:  recur train --state-dir OUT   recur inspect --state-dir OUT "
        "--offsets\n"
        "A reader that goes away (| head) does not stop it: the snapshot completes.\n"
        "Exit codes: 0 done; 1 failed (no state dir, OUT exists, I/O...; nothing is left at OUT); "
        "2 "
        "bad usage.");
  }

  int Run() override {
    InstallStopHandlers();
    // `recur snapshot … | head`: once the reader is gone, a write to stdout or
    // stderr (a progress line, a RocksDB log line) would raise SIGPIPE and kill
    // the process between the copy and the rename, leaving OUT.tmp-* and no
    // OUT. Ignored, such a write just fails (EPIPE) and the snapshot completes;
    // only the listing is lost, which the reader did not want.
    std::signal(SIGPIPE, SIG_IGN);
    SnapshotOptions so;
    so.stop = &StopFlag();
    so.on_partition = [](const PartitionSnapshot& p) {
      std::cerr << absl::StrFormat(
          "partition-%d: %d customers, %d keys, %.1f MB, %d source offsets (%d catch-ups)\n",
          p.partition, p.customers, p.keys, p.bytes / 1e6, p.offsets.size(), p.catch_ups);
    };
    auto r = Snapshot(state_dir_, out_, so);
    if (!r.ok()) return FailWithHint(r.status());
    int64_t customers = 0, max_time = 0;
    for (const auto& p : r->partitions) {
      customers += p.customers;
      max_time = std::max(max_time, p.max_event_time_ms);
    }
    std::cout << "snapshot " << r->out << ": " << r->partitions.size() << " partition stores, "
              << customers << " customers, latest event "
              << (max_time > 0 ? FormatDayOfMs(max_time) : "none") << "\n";
    for (const auto& p : r->partitions) {
      for (const auto& [tp, off] : p.offsets) {
        std::cout << "partition-" << p.partition << " " << tp.topic << " " << tp.partition << " "
                  << off << "\n";
      }
    }
    return kExitOk;
  }

 private:
  static int FailWithHint(const absl::Status& s) {
    switch (s.code()) {
      case absl::StatusCode::kNotFound:
        return Fail(s, "pass the --state-dir of `recur run` or `recur import`");
      case absl::StatusCode::kAlreadyExists:
        return Fail(s, "pick a new --out, e.g. snapshots/$(date +%F-%H%M%S)");
      case absl::StatusCode::kCancelled:
        return Fail(s, "nothing was written");
      case absl::StatusCode::kInvalidArgument:
        return Fail(s);
      default:
        return Fail(s, "nothing was left at --out; the running pipeline was not affected");
    }
  }

  std::string state_dir_ = "state";
  std::string out_;
};

}  // namespace

std::unique_ptr<Command> RegisterSnapshot(CLI::App& app) {
  return std::make_unique<SnapshotCommand>(app);
}

}  // namespace recur::cli
