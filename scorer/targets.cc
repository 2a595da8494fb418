#include "scorer/targets.h"

namespace recur {

const TargetInfo& InfoOf(Target t) {
  for (const TargetInfo& info : kTargets) {
    if (info.target == t) return info;
  }
  return kTargets[0];  // unreachable: every enumerator has a row
}

std::string TargetName(Target t) { return std::string(InfoOf(t).name); }

absl::StatusOr<Target> ParseTarget(std::string_view name) {
  for (const TargetInfo& info : kTargets) {
    if (info.name == name) return info.target;
  }
  // Listed repurchase first, as `recur train --target` always said.
  return absl::InvalidArgumentError("target '" + std::string(name) + "': expected " +
                                    std::string(kTargets[1].name) + " or " +
                                    std::string(kTargets[0].name));
}

const std::string& ScoreFieldName(Target t) {
  // The proto's own name for the field, so it can not drift from recur.proto.
  return v1::CustomerScore::descriptor()->FindFieldByNumber(InfoOf(t).probability_field)->name();
}

double Probability(const v1::CustomerScore& s, Target t) { return (s.*InfoOf(t).probability)(); }

const std::string& ModelVersion(const v1::CustomerScore& s, Target t) {
  return (s.*InfoOf(t).version)();
}

void SetPrediction(v1::CustomerScore* s, Target t, double probability, const std::string& version) {
  const TargetInfo& info = InfoOf(t);
  (s->*info.set_probability)(probability);
  *(s->*info.mutable_version)() = version;
}

}  // namespace recur
