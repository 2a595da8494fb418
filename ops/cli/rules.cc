// `recur rules`: check a segments/actions rules file, or print the built-in set.
#include "scorer/rules.h"

#include <iostream>
#include <string>

#include "ops/cli/cli.h"

namespace recur::cli {
namespace {

class RulesCommand : public Command {
 public:
  explicit RulesCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "rules", "Check a segments/actions rules file, or print the built-in rule set")) {
    sub_->add_option("file", file_, "rules file to check (none: print the default rules)");
  }

  int Run() override {
    if (file_.empty()) {
      std::cout << DefaultRulesText();
      return kExitOk;
    }
    auto r = Rules::Load(file_);
    if (!r.ok()) {
      std::cerr << "recur: error: " << r.status().message() << "\n";
      return kExitBadInput;
    }
    std::cout << file_ << ": " << r->size() << " rules, valid\n";
    return kExitOk;
  }

 private:
  std::string file_;
};

}  // namespace

std::unique_ptr<Command> RegisterRules(CLI::App& app) {
  return std::make_unique<RulesCommand>(app);
}

}  // namespace recur::cli
