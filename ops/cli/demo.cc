// `recur demo`: the whole loop in one process (ops/demo.h).
#include "ops/demo.h"

#include <stdlib.h>

#include <iostream>

#include "ops/cli/cli.h"

namespace recur::cli {
namespace {

class DemoCommand : public Command {
 public:
  explicit DemoCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "demo",
            "The whole loop on the embedded broker: simulate, ingest, snapshot, train both "
            "models, pick them up without a restart, score, show the customers most at risk")) {
    DemoOptions& o = options_;
    sub_->add_option("--shops", o.sim.shops, "shops")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    sub_->add_option("--customers", o.sim.customers_per_shop, "customers per shop")
        ->capture_default_str()
        ->check(CLI::Range(10, 10'000'000));
    sub_->add_option("--days", o.sim.days, "days of history (training needs 200 or more)")
        ->capture_default_str()
        ->check(CLI::Range(200, 3650));
    sub_->add_option("--seed", o.sim.seed, "simulator seed")->capture_default_str();
    sub_->add_option("--top", o.top, "customers shown per shop")->capture_default_str();
    sub_->add_option("--max-rounds", o.max_rounds, "boosting rounds per model at most")
        ->capture_default_str();
    sub_->add_option("--dir", o.dir,
                     "work directory for state, snapshot and models (default: a new temporary "
                     "directory)");
    sub_->add_option("--brokers", o.brokers,
                     "a real cluster instead of the embedded one (create the topics first: "
                     "ops/kafka/README.md)");
    sub_->add_option("--http", o.http,
                     "HOST:PORT of the HTTP API while the demo runs (port 0: a free one; \"\": "
                     "off)")
        ->capture_default_str();
  }

  int Run() override {
    if (options_.dir.empty()) {
      char tmpl[] = "/tmp/recur-demo-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) {
        return Fail(absl::UnavailableError("cannot create a temporary directory"));
      }
      options_.dir = tmpl;
    }
    std::cout << "recur demo in " << options_.dir << std::endl;
    absl::Status s = RunDemo(options_, std::cout);
    if (!s.ok()) return Fail(s);
    return kExitOk;
  }

 private:
  DemoOptions options_;
};

}  // namespace

std::unique_ptr<Command> RegisterDemo(CLI::App& app) { return std::make_unique<DemoCommand>(app); }

}  // namespace recur::cli
