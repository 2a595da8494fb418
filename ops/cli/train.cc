// `recur train`: train, register and maybe promote a model (trainer/trainer.h),
// or, with --check-parity, report online/offline differences (trainer/parity.h).
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/progress.h"
#include "base/time.h"
#include "nlohmann/json.hpp"
#include "ops/cli/cli.h"
#include "scorer/targets.h"
#include "trainer/business_labels.h"
#include "trainer/parity.h"
#include "trainer/trainer.h"

namespace recur::cli {
namespace {

class TrainCommand : public Command {
 public:
  explicit TrainCommand(CLI::App& app)
      : Command(app.add_subcommand("train",
                                   "Train a model from a state dir or snapshot; register it; "
                                   "promote it if no worse")) {
    AddTrainOptions();
    AddParityOptions();
    sub_->footer(
        "--check-parity compares, for each customer with a delivered last score and no pending "
        "mark, the scorer's\n"
        "feature row (the store's horizon, as `recur run` computes it) with the trainer's "
        "point-in-time row as of the\n"
        "score's as_of, each reason's value with the trainer's, and each published probability "
        "with the model\n"
        "version the score names applied to the trainer's row. Run it on a `recur snapshot` of a "
        "running pipeline.\n"
        "Exit codes: 0 done (parity: no difference); 1 failed; 2 bad usage; 3 bad labels file; 4 "
        "parity differences.");
  }

  int Run() override { return check_parity_ ? RunParity() : RunTrain(); }

 private:
  void AddTrainOptions();
  void AddParityOptions();
  int RunTrain();
  int RunParity();
  void PrintTrainResult(const TrainResult& r) const;
  void PrintParityText(const ParityReport& r) const;

  TrainOptions options_;
  std::string target_name_ = TargetName(Target::kRepurchase30d);
  std::vector<std::string> xgb_params_;
  std::vector<std::string> cutoff_dates_;
  bool check_parity_ = false;
  double parity_tolerance_ = 1e-6;
  int parity_show_ = 20;
  bool json_ = false;
};

void TrainCommand::AddTrainOptions() {
  TrainOptions& o = options_;
  sub_->add_option("--state-dir", o.state_dir, "state dir or snapshot to train from")->required();
  sub_->add_option("--models-dir", o.models_dir, "model registry")->capture_default_str();
  sub_->add_option("--target", target_name_,
                   absl::StrCat(TargetName(Target::kRepurchase30d), " or ",
                                TargetName(Target::kActivityDecline90d)))
      ->capture_default_str();
  sub_->add_option("--seed", o.seed, "seed (same data + seed = same model bytes)")
      ->capture_default_str();
  sub_->add_option("--max-rounds", o.max_rounds, "boosting rounds at most")->capture_default_str();
  sub_->add_option("--early-stopping", o.early_stopping_rounds,
                   "stop after N rounds without improvement")
      ->capture_default_str();
  sub_->add_option("--decline-ratio", o.labels.decline_ratio,
                   "decline label: next 90 days' revenue below ratio x last 90 days'")
      ->capture_default_str();
  sub_->add_option("-P", xgb_params_,
                   "XGBoost parameter key=value (repeatable), e.g. -P max_depth=4");
  sub_->add_flag("--force", o.force,
                 "promote even if worse than CURRENT, or if the validation set cannot judge it "
                 "(one class: no ROC-AUC)");
  sub_->add_option(
          "--labels-csv", o.labels_csv,
          "labels given by the business: CSV of shop_id,customer_id,label[,as_of] (a header "
          "names them in any order; ',' or ';'; label 0/1, 0.0/1.0 or true/false; as_of "
          "YYYY-MM-DD or ms, up to the end of the last event's month; default the "
          "snapshot's last day) instead of labels derived from events")
      ->check(CLI::ExistingFile);
  sub_->add_option("--folds", o.folds, "k of the stratified k-fold used with a single cutoff")
      ->capture_default_str()
      ->check(CLI::Range(2, 100));
  sub_->add_option("--test-cutoffs", o.test_cutoffs,
                   "time split: report on the last N cutoffs (never trained or early-stopped on; "
                   "fewer, down to 1, when there are too few cutoffs)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  sub_->add_option("--export", o.export_dir,
                   "write the training set as trained (features, label, split, test or "
                   "out-of-fold prediction) to DIR/training_set.csv");
  sub_->add_option("--cutoff", cutoff_dates_,
                   "a cutoff instead of month ends (repeatable; YYYY-MM-DD = the end of that UTC "
                   "day, or ms); each must have its whole label window inside the snapshot")
      ->delimiter(',');
  sub_->add_option("--cutoffs", o.max_cutoffs, "use only the latest N month-end cutoffs (0: all)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub_->add_option("--threshold", o.threshold,
                   "score at or above which a customer counts as predicted positive "
                   "(precision/recall)")
      ->capture_default_str()
      ->check(NotNaN())
      ->check(CLI::Range(0.0, 1.0));
  sub_->add_option("--retention-days", o.retention_days,
                   "the horizon of the training history (default: the retention the stores "
                   "were created with; shorter ignores older days, longer is refused)")
      ->check(CLI::Range(kMinRetentionDays, 100000));
}

void TrainCommand::AddParityOptions() {
  sub_->add_flag("--check-parity", check_parity_,
                 "train nothing: recompute, with the trainer's code, the features and "
                 "probabilities behind every customer's last score in --state-dir and report each "
                 "difference by customer and feature");
  sub_->add_option("--tolerance", parity_tolerance_,
                   "--check-parity: allowed difference of a probability")
      ->capture_default_str()
      ->check(NotNaN())
      ->check(CLI::NonNegativeNumber);
  sub_->add_option("--show", parity_show_, "--check-parity: differences printed (all with --json)")
      ->capture_default_str();
  sub_->add_flag("--json", json_, "--check-parity: the report as JSON");
}

int TrainCommand::RunTrain() {
  auto target = ParseTarget(target_name_);
  if (!target.ok()) return Fail(target.status());
  options_.labels.target = *target;
  for (const auto& c : cutoff_dates_) {
    auto ms = ParseAsOf(c);
    if (!ms.ok()) {
      std::cerr << "--cutoff: " << ms.status().message()
                << "\nRun with --help for more information.\n";
      return kExitUsage;
    }
    options_.cutoffs.push_back(*ms);
  }
  for (const auto& kv : xgb_params_) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return Fail(absl::InvalidArgumentError("-P expects key=value"));
    options_.params[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  auto r = Train(options_);
  if (!r.ok()) {
    Fail(r.status());
    // A bad labels file is bad input data.
    return r.status().code() == absl::StatusCode::kInvalidArgument ? kExitBadInput : kExitFailure;
  }
  PrintTrainResult(*r);
  return kExitOk;
}

// The first line keeps its shape ("<target> <version>: ROC-AUC x (baseline y),
// ..."): scripts parse it. Its figures are on the rows the model never saw.
void TrainCommand::PrintTrainResult(const TrainResult& r) const {
  const bool time = r.split == "time";
  std::cout << absl::StrFormat(
      "%s %s: ROC-AUC %.4f (baseline %.4f), PR-AUC %.4f (baseline %.4f), lift@10%% %.2f "
      "(baseline %.2f), log-loss %.4f, %d rounds, %d train / %d %s rows\n",
      target_name_, r.version, r.model.roc_auc, r.baseline.roc_auc, r.model.pr_auc,
      r.baseline.pr_auc, r.model.lift_top_decile, r.baseline.lift_top_decile, r.model.log_loss,
      r.rounds, r.train_rows, r.valid_rows, time ? "test" : r.split + " out-of-fold");
  if (time) {
    std::cout << absl::StrFormat("  early stopping on %s (%d rows); test ROC-AUC pooled %.4f",
                                 r.early_stop_cutoff, r.early_stop_rows, r.model.roc_auc);
  } else {
    std::cout << absl::StrFormat(
        "  per-fold ROC-AUC %.4f ± %.4f (mean ± sd), pooled out-of-fold %.4f", r.fold_roc_auc_mean,
        r.fold_roc_auc_sd, r.model.roc_auc);
  }
  for (const PartMetrics& p : r.parts) {
    std::cout << absl::StrFormat("; %s %.4f (baseline %.4f)", p.part, p.model.roc_auc,
                                 p.baseline.roc_auc);
  }
  if (!time) {
    std::cout << "; rounds per fold";
    for (int n : r.fold_rounds) std::cout << " " << n;
  }
  std::cout << "\n" << r.promotion_note << "\nreport: " << r.model_dir << "/report.html\n";
  if (!r.export_path.empty()) std::cout << "export: " << r.export_path << "\n";
}

int TrainCommand::RunParity() {
  ParityOptions po;
  po.state_dir = options_.state_dir;
  po.models_dir = options_.models_dir;
  po.retention_days = options_.retention_days;
  po.tolerance = parity_tolerance_;
  ProgressLine progress("offline rows", "customers");
  po.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
  auto r = CheckParity(po);
  if (!r.ok()) {
    return Fail(r.status(),
                "pass a `recur snapshot` (or the state dir of a stopped `recur run`) and its "
                "--models-dir");
  }
  progress.Finish(r->customers);
  if (json_) {
    nlohmann::json j = {{"customers", r->customers},
                        {"checked", r->checked},
                        {"pending_skipped", r->pending_skipped},
                        {"no_model", r->no_model},
                        {"customers_differing", r->customers_differing},
                        {"models", r->model_versions},
                        {"differences", nlohmann::json::array()}};
    for (const auto& d : r->differences) {
      j["differences"].push_back({{"customer", d.key.Encode()},
                                  {"as_of_ms", d.as_of_ms},
                                  {"kind", d.kind},
                                  {"field", d.field},
                                  {"online", d.online},
                                  {"offline", d.offline}});
    }
    std::cout << j.dump(1) << "\n";
  } else {
    PrintParityText(*r);
  }
  return r->differences.empty() ? kExitOk : kExitScoresDiffer;
}

void TrainCommand::PrintParityText(const ParityReport& r) const {
  std::cout << absl::StrFormat(
      "parity: %d customers, %d with a delivered score checked, %d skipped (score pending); "
      "models %s\n",
      r.customers, r.checked, r.pending_skipped,
      r.model_versions.empty() ? "none found" : absl::StrJoin(r.model_versions, ", "));
  if (r.no_model > 0) {
    std::cout << absl::StrFormat(
        "  %d probabilities not checked: their model version is not in %s\n", r.no_model,
        options_.models_dir);
  }
  if (r.checked == 0) {
    std::cout << "  nothing to compare: no customer in " << options_.state_dir
              << " has a delivered score (has `recur run` scored with models yet?)\n";
  }
  int shown = 0;
  for (const auto& d : r.differences) {
    if (shown++ == parity_show_) {
      std::cout << absl::StrFormat("  ... %d more (--show N, or --json for all)\n",
                                   r.differences.size() - static_cast<size_t>(parity_show_));
      break;
    }
    std::cout << absl::StrFormat("  %s as of %s: %s %s: online %s, offline %s\n", d.key.Encode(),
                                 FormatTimeMs(d.as_of_ms), d.kind, d.field, d.online, d.offline);
  }
  std::cout << absl::StrFormat("%d differences in %d customers\n", r.differences.size(),
                               r.customers_differing);
}

}  // namespace

std::unique_ptr<Command> RegisterTrain(CLI::App& app) {
  return std::make_unique<TrainCommand>(app);
}

}  // namespace recur::cli
