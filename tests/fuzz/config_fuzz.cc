// Fuzzes the config file (`recur --config FILE`): CLI11's TOML/INI reader fills
// the options of `recur run` (ops/cli/run_options.h, the very options the
// command registers), then the -X properties are converted as `recur run` does.
// A bad file must be a CLI::ParseError (main.cc prints it, exit code 2) or an
// InvalidArgument; any other exception would escape main() and abort recur. A
// parsed config holds only values inside the ranges the options check.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "ops/cli/cli.h"
#include "ops/cli/run_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The file recur reads, in memory: `recur --config /proc/self/fd/N run`.
  static const int fd = memfd_create("recur-config", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (fd < 0 || ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    std::abort();

  CLI::App app{"recur"};
  app.require_subcommand(1);
  app.set_config("--config", "", "config file");  // as main.cc
  recur::PipelineOptions options;
  std::string brokers;
  std::vector<std::string> kafka_props;
  recur::cli::AddRunOptions(app.add_subcommand("run"), &options, &brokers, &kafka_props);

  std::vector<std::string> args = {"recur", "--config", path, "run"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 0;  // a usage error: what main.cc reports
  } catch (const std::out_of_range&) {
    return 0;  // CLI11's stoll on a huge flag value: main.cc reports it as a usage error too
  }
  // What the options' checks promise `recur run` (a NaN compares false with
  // both bounds of a range, so it is tested as "not inside").
  const bool in_bounds = options.batch_max_events >= 1 && options.batch_max_events <= 10'000'000 &&
                         options.batch_linger_ms >= 1 && options.batch_linger_ms <= 600'000 &&
                         options.commit_interval_ms >= 0 &&
                         options.commit_interval_ms <= 3'600'000 && options.cache_mb >= 64 &&
                         options.cache_mb <= (1 << 20) && options.scoring.epsilon >= 0.0 &&
                         options.scoring.epsilon <= 1.0;
  if (!in_bounds) std::abort();
  (void)recur::cli::KafkaPropertiesOf(kafka_props, brokers);
  return 0;
}
