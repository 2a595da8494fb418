// The checks of the subcommands' options, on the command line and in a --config
// file, without running a command.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "ops/cli/cli.h"
#include "ops/cli/run_options.h"
#include "tests/testing/fixtures.h"

namespace recur::cli {
namespace {

// Parses `args` (without the program name) with every option of `recur run`.
void ParseRun(std::vector<std::string> args, PipelineOptions* o) {
  CLI::App app{"recur"};
  app.set_config("--config", "", "config file");
  std::string brokers;
  std::vector<std::string> x;
  AddRunOptions(app.add_subcommand("run"), o, &brokers, &x);
  args.insert(args.begin(), "recur");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

// Found by tests/fuzz/config_fuzz: CLI::Range and CLI::NonNegativeNumber let NaN
// through (it compares false with both bounds), so `--score-epsilon nan` ran
// with an epsilon no probability change ever exceeds.
TEST(CliOptionsTest, NaNIsRefusedWhereARangeIsChecked) {
  PipelineOptions o;
  EXPECT_THROW(ParseRun({"run", "--brokers", "x", "--score-epsilon", "nan"}, &o),
               CLI::ValidationError);
  testing::TempDir dir;
  const std::string config = dir.Sub("recur.toml");
  std::ofstream(config) << "[run]\nbrokers=\"x\"\nscore-epsilon=nan\n";
  EXPECT_THROW(ParseRun({"--config", config, "run"}, &o), CLI::ValidationError);

  PipelineOptions fine;
  ParseRun({"run", "--brokers", "x", "--score-epsilon", "0.05"}, &fine);
  EXPECT_EQ(fine.scoring.epsilon, 0.05);

  // The same checks of the other commands' probabilities and tolerances.
  const std::vector<std::vector<std::string>> others = {
      {"replay", "--score-epsilon", "nan", "--brokers", "x", "--state-dir", "s"},
      {"replay", "--diff-tolerance", "nan", "--brokers", "x", "--state-dir", "s"},
      {"train", "--threshold", "nan", "--state-dir", "s"},
      {"train", "--tolerance", "nan", "--state-dir", "s"},
  };
  for (std::vector<std::string> args : others) {
    CLI::App app{"recur"};
    auto replay = RegisterReplay(app);
    auto train = RegisterTrain(app);
    const std::string what = args[0] + " " + args[1];
    args.insert(args.begin(), "recur");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    EXPECT_THROW(app.parse(static_cast<int>(argv.size()), argv.data()), CLI::ValidationError)
        << what;
  }
}

}  // namespace
}  // namespace recur::cli
