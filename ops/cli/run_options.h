// The options of `recur run` (ops/cli/run.cc): the command line and the
// [run] section of the --config file both land in them.
//
//   recur::PipelineOptions o; std::string brokers; std::vector<std::string> x;
//   recur::cli::AddRunOptions(app.add_subcommand("run"), &o, &brokers, &x);
#ifndef RECUR_OPS_CLI_RUN_OPTIONS_H_
#define RECUR_OPS_CLI_RUN_OPTIONS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "streams/pipeline.h"

namespace recur::cli {

// Adds every option of `recur run` to `sub`, writing into the given variables
// (which must outlive the parse).
void AddRunOptions(CLI::App* sub, PipelineOptions* options, std::string* brokers,
                   std::vector<std::string>* kafka_props);

}  // namespace recur::cli

#endif  // RECUR_OPS_CLI_RUN_OPTIONS_H_
