// recur: the one binary. main() builds the CLI11 app, lets each subcommand of
// ops/cli/ register its own options, parses, and runs the one that was given.
// Every subcommand's work lives in ops/cli/<command>.cc over the component
// libraries; exit codes and shared bits are in ops/cli/cli.h.
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "featurestore/catalog.h"
#include "ops/cli/cli.h"
#include "ops/log_format.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"
#include "streams/kafka.h"

int main(int argc, char** argv) {
  namespace cli = recur::cli;
  CLI::App app{
      "recur: live churn-risk and repurchase scores for every customer of every shop.\n"
      "See README.md; `recur <command> --help` for each command."};
  app.require_subcommand(1);
  app.set_config("--config", "",
                 "config file (TOML/INI): a [run] section with the long option names as keys, "
                 "e.g. [run] brokers=\"host:9092\" state-dir=\"state\"");
  std::string log_format = "text";
  app.add_option("--log-format", log_format,
                 "text (default) or json: one JSON object per log line (ts, level, component, "
                 "partition, msg) for log shippers")
      ->check(CLI::IsMember({"text", "json"}));
  app.fallthrough();  // `recur run --log-format json` as well as `recur --log-format json run`
  app.set_version_flag("--version",
                       "recur 0.1.0 (catalog " + std::string(recur::kCatalogVersion) + ")");

  // In the order of `recur --help`.
  constexpr cli::RegisterFn kCommands[] = {
      cli::RegisterSimulate, cli::RegisterProduce,  cli::RegisterRun,    cli::RegisterImport,
      cli::RegisterInspect,  cli::RegisterSnapshot, cli::RegisterReplay, cli::RegisterTrain,
      cli::RegisterDemo,     cli::RegisterRules,    cli::RegisterVerify,
  };
  std::vector<std::unique_ptr<cli::Command>> commands;
  for (cli::RegisterFn add : kCommands) commands.push_back(add(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Help, version or the error. The error quotes the arguments it could not
    // place: a typo such as `-x sasl.password=...` must not print the password.
    std::ostringstream out, err;
    const int rc = app.exit(e, out, err);
    std::cout << out.str();
    std::cerr << recur::RedactSecretArgs(err.str(),
                                         std::vector<std::string>(argv + 1, argv + argc));
    // Bad usage: exit code 2, whatever CLI11's own code.
    return rc == 0 ? cli::kExitOk : cli::kExitUsage;
  } catch (const std::exception& e) {
    // CLI11 lets some conversion errors through as they are: a flag given a
    // 40-digit value in a config file throws std::out_of_range from stoll
    // (found by tests/fuzz/config_fuzz). Bad usage all the same, not an abort.
    std::cerr << "recur: error: a value on the command line or in the config file is out of range ("
              << e.what() << ")\nRun with --help for more information.\n";
    return cli::kExitUsage;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("recur"));
  if (absl::Status s = recur::UseLogFormat(log_format); !s.ok()) {
    std::cerr << s.message() << "\n";
    return cli::kExitUsage;
  }

  for (const auto& command : commands) {
    if (command->parsed()) return command->Run();
  }
  return cli::kExitOk;  // not reached: require_subcommand(1)
}
