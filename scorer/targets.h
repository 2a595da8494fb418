// The two prediction targets, spelled once: the enum the trainer and the
// scorer use, the name that is the registry folder, the `--target` value and
// meta.json's "target", the CustomerScore fields a target's model fills, and
// the operand that names its probability in a rules file.
//
//   for (const recur::TargetInfo& t : recur::kTargets) {
//     models.Load(std::string(t.name), recur::ModelVersion(score, t.target));
//     double p = recur::Probability(score, t.target);
//   }
//   auto t = recur::ParseTarget("repurchase_30d");   // InvalidArgument if unknown
//
// Everything else (trainer, parity, rules, scoring, ops) reads this table, so a
// third target is one more row here. The CustomerScore field names are the
// proto's own (proto/recur.proto); the table only says which field is whose.
// Thread-safety: constants and pure functions.
#ifndef RECUR_SCORER_TARGETS_H_
#define RECUR_SCORER_TARGETS_H_

#include <array>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/recur.pb.h"

namespace recur {

enum class Target { kRepurchase30d, kActivityDecline90d };

struct TargetInfo {
  Target target;
  // Registry folder (models/<name>/), `recur train --target`, meta.json "target".
  std::string_view name;
  // The rules-file operand for the target's probability (scorer/rules.h).
  std::string_view operand;
  // The CustomerScore fields the target's model fills: probability and version.
  int probability_field;  // field number, for its name (ScoreFieldName)
  double (v1::CustomerScore::*probability)() const;
  void (v1::CustomerScore::*set_probability)(double);
  const std::string& (v1::CustomerScore::*version)() const;
  std::string* (v1::CustomerScore::*mutable_version)();
};

// Risk first: the order of "risk=<v> repurchase=<v>", of parity's checks and
// of the operands in rule error messages.
inline constexpr std::array<TargetInfo, 2> kTargets = {{
    {Target::kActivityDecline90d, "activity_decline_90d", "risk",
     v1::CustomerScore::kRiskDecline90DFieldNumber, &v1::CustomerScore::risk_decline_90d,
     &v1::CustomerScore::set_risk_decline_90d, &v1::CustomerScore::risk_model_version,
     &v1::CustomerScore::mutable_risk_model_version},
    {Target::kRepurchase30d, "repurchase_30d", "repurchase",
     v1::CustomerScore::kRepurchase30DFieldNumber, &v1::CustomerScore::repurchase_30d,
     &v1::CustomerScore::set_repurchase_30d, &v1::CustomerScore::repurchase_model_version,
     &v1::CustomerScore::mutable_repurchase_model_version},
}};

// The row of `t` in kTargets.
const TargetInfo& InfoOf(Target t);
// The registry name of `t` ("activity_decline_90d").
std::string TargetName(Target t);
// The target named `name`; InvalidArgument naming the known ones otherwise.
absl::StatusOr<Target> ParseTarget(std::string_view name);

// The proto field name of `t`'s probability in CustomerScore ("risk_decline_90d").
const std::string& ScoreFieldName(Target t);
// `t`'s probability and model version in a score.
double Probability(const v1::CustomerScore& s, Target t);
const std::string& ModelVersion(const v1::CustomerScore& s, Target t);
void SetPrediction(v1::CustomerScore* s, Target t, double probability, const std::string& version);

}  // namespace recur

#endif  // RECUR_SCORER_TARGETS_H_
