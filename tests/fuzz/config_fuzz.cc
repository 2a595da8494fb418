// Fuzzes the config file (`recur --config FILE`): CLI11's TOML/INI reader fills
// the options of `recur run` (ops/cli/run_options.h, the very options the
// command registers), then the -X properties are converted as `recur run` does.
// A bad file must be a CLI::ParseError (main.cc prints it, exit code 2) or an
// InvalidArgument; any other exception would escape main() and abort recur.
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "ops/cli/cli.h"
#include "ops/cli/run_options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CLI::App app{"recur"};
  app.require_subcommand(1);
  app.set_config("--config", "", "config file");  // as main.cc
  recur::PipelineOptions options;
  std::string brokers;
  std::vector<std::string> kafka_props;
  recur::cli::AddRunOptions(app.add_subcommand("run"), &options, &brokers, &kafka_props);

  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    app.parse_from_stream(in);
  } catch (const CLI::ParseError&) {
    return 0;  // a usage error: what main.cc reports
  }
  (void)recur::cli::KafkaPropertiesOf(kafka_props, brokers);
  return 0;
}
