// The pieces every `recur` subcommand shares: exit codes, Fail(), the -X/--brokers
// to librdkafka properties conversion, the SIGINT/SIGTERM/SIGHUP stop flag, and the
// registration interface main.cc dispatches through.
//
// Each subcommand lives in ops/cli/<command>.cc: a Command subclass whose
// constructor adds the subcommand with its own options (its own variables, so a
// flag of one command can never change another) and whose Run() does the work.
//
//   CLI::App app{"recur"};
//   std::unique_ptr<recur::cli::Command> sim = recur::cli::RegisterSimulate(app);
//   app.parse(argc, argv);
//   if (sim->parsed()) return sim->Run();
#ifndef RECUR_OPS_CLI_CLI_H_
#define RECUR_OPS_CLI_CLI_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "streams/kafka.h"

namespace recur::cli {

// Exit codes: 0 ok, 1 runtime failure, 2 bad usage (CLI11), 3 bad input data,
// 4 `recur replay --diff` found customers whose scores differ, or `recur train
// --check-parity` found an online/offline difference.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBadInput = 3;
inline constexpr int kExitScoresDiffer = 4;

// Prints "recur: error: <message>" (and "recur: <hint>") on stderr; returns kExitFailure.
int Fail(const absl::Status& s, const std::string& hint = "");

// The librdkafka properties of the repeatable -X key=value options, with
// bootstrap.servers = `brokers` when given. InvalidArgument for a malformed -X.
absl::StatusOr<KafkaProperties> KafkaPropertiesOf(const std::vector<std::string>& x,
                                                  const std::string& brokers);

// Refuses NaN: CLI::Range and CLI::NonNegativeNumber let it through (it compares
// false with every bound). Check it before those on a floating-point option.
const CLI::Validator& NotNaN();

// Set by SIGINT/SIGTERM/SIGHUP once InstallStopHandlers() ran; long commands poll it.
std::atomic<bool>& StopFlag();
void InstallStopHandlers();

// One subcommand. The object owns the variables CLI11 writes into while parsing,
// so it must outlive CLI::App::parse(); Run() is called at most once, after it.
class Command {
 public:
  explicit Command(CLI::App* sub) : sub_(sub) {}
  virtual ~Command() = default;
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  bool parsed() const { return sub_->parsed(); }
  // Does the work; returns the process exit code (kExit*).
  virtual int Run() = 0;

 protected:
  CLI::App* sub_;  // the subcommand, owned by the parent CLI::App
};

// Each adds its subcommand to `app`; main.cc calls them in the order of `recur --help`.
using RegisterFn = std::unique_ptr<Command> (*)(CLI::App& app);
std::unique_ptr<Command> RegisterSimulate(CLI::App& app);
std::unique_ptr<Command> RegisterProduce(CLI::App& app);
std::unique_ptr<Command> RegisterRun(CLI::App& app);
std::unique_ptr<Command> RegisterImport(CLI::App& app);
std::unique_ptr<Command> RegisterInspect(CLI::App& app);
std::unique_ptr<Command> RegisterSnapshot(CLI::App& app);
std::unique_ptr<Command> RegisterReplay(CLI::App& app);
std::unique_ptr<Command> RegisterTrain(CLI::App& app);
std::unique_ptr<Command> RegisterDemo(CLI::App& app);
std::unique_ptr<Command> RegisterRules(CLI::App& app);
std::unique_ptr<Command> RegisterVerify(CLI::App& app);

}  // namespace recur::cli

#endif  // RECUR_OPS_CLI_CLI_H_
