// `recur verify`: an offline integrity check of every partition store of a state
// dir (featurestore/verify.h): block checksums, store meta, every record.
#include "featurestore/verify.h"

#include <iostream>
#include <string>

#include "absl/strings/str_format.h"
#include "featurestore/state_dir.h"
#include "ops/cli/cli.h"

namespace recur::cli {
namespace {

class VerifyCommand : public Command {
 public:
  explicit VerifyCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "verify",
            "Check every partition store of a state dir for corruption: every block checksum of "
            "every table file, the store meta, every customer record")) {
    sub_->add_option("--state-dir", state_dir_, "state directory to check")->capture_default_str();
    sub_->footer(
        "Read-only: safe beside a running `recur run` (it checks the last flush). `recur run` "
        "notices a\n"
        "corrupt block only when it reads it; run this after a crash, a disk error or a restore.\n"
        "Exit codes: 0 every store intact; 1 a store is corrupt or unreadable (the message names "
        "the\n"
        "store and, where RocksDB says, the file); 2 bad usage.");
  }

  int Run() override {
    auto parts = StateDir::CountPartitions(state_dir_);
    if (!parts.ok()) return Fail(parts.status(), "pass the --state-dir of `recur run`");
    int bad = 0;
    absl::Status first;
    for (int32_t p = 0; p < *parts; ++p) {
      const std::string path = StateDir::PartitionPath(state_dir_, p);
      auto v = VerifyStore(path);
      if (!v.ok()) {
        std::cout << "partition-" << p << ": FAILED: " << v.status().message() << "\n";
        if (bad++ == 0) first = v.status();
        continue;
      }
      std::cout << absl::StrFormat(
          "partition-%d: ok (%d table files, %.1f MB, %d customers, %d source offsets)\n", p,
          v->table_files, v->table_bytes / 1e6, v->customers, v->offsets);
    }
    if (bad > 0) {
      return Fail(first, absl::StrFormat("%d of %d partition stores failed verification; restore "
                                         "a snapshot or rebuild with `recur replay`",
                                         bad, *parts));
    }
    std::cout << "verified " << *parts << " partition stores: ok\n";
    return kExitOk;
  }

 private:
  std::string state_dir_ = "state";
};

}  // namespace

std::unique_ptr<Command> RegisterVerify(CLI::App& app) {
  return std::make_unique<VerifyCommand>(app);
}

}  // namespace recur::cli
