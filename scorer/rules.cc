#include "scorer/rules.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "scorer/default_rules.h"  // generated from default_rules.txt
#include "scorer/targets.h"

namespace recur {
namespace {

constexpr std::string_view kOps[] = {"<", "<=", ">", ">=", "==", "!="};
// A target's probability as an operand: -1 - its row in kTargets (feature
// indexes are >= 0).
int TargetOperand(size_t row) { return -1 - static_cast<int>(row); }
const int kTopCategory = FeatureIndex("top_category_6m");

bool Compare(double a, int op, double b) {
  switch (op) {
    case 0:
      return a < b;
    case 1:
      return a <= b;
    case 2:
      return a > b;
    case 3:
      return a >= b;
    case 4:
      return a == b;
    default:
      return a != b;
  }
}

// Splits a rule line into words; a "quoted text" is one word (quotes kept).
absl::StatusOr<std::vector<std::string>> Words(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    if (std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    size_t j = i;
    if (line[i] == '"') {
      j = line.find('"', i + 1);
      if (j == std::string_view::npos) return absl::InvalidArgumentError("unterminated \"text\"");
      ++j;
    } else {
      while (j < line.size() && !std::isspace(static_cast<unsigned char>(line[j]))) ++j;
    }
    out.emplace_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

std::string_view DefaultRulesText() { return kDefaultRules; }

void QuantileTable::Add(const std::string& shop, const Features& f,
                        const std::vector<Key>& needed) {
  auto& s = samples_[shop];
  for (const Key& k : needed) {
    const double v = f.values[k.first];
    if (!std::isnan(v)) s[k].push_back(v);
  }
}

void QuantileTable::Finish() {
  for (auto& [shop, by_key] : samples_) {
    Shop& out = shops_[shop];
    for (auto& [key, v] : by_key) {
      if (v.empty()) continue;
      // The nearest-rank quantile: deterministic and an actual customer's value.
      const size_t rank =
          static_cast<size_t>(std::floor(key.second / 100.0 * static_cast<double>(v.size() - 1)));
      std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(rank), v.end());
      out.values[key] = v[rank];
    }
  }
  samples_.clear();
}

const QuantileTable::Shop* QuantileTable::ForShop(const std::string& shop) const {
  auto it = shops_.find(shop);
  return it == shops_.end() ? nullptr : &it->second;
}

std::string QuantileTable::Serialize() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [shop, s] : shops_) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& [k, v] : s.values)
      rows.push_back({std::string(kFeatureNames[k.first]), k.second, v});
    j[shop] = rows;
  }
  return j.dump();
}

absl::StatusOr<QuantileTable> QuantileTable::Parse(const std::string& json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return absl::DataLossError("quantile table: not a JSON object");
  QuantileTable t;
  for (const auto& [shop, rows] : j.items()) {
    if (!rows.is_array()) return absl::DataLossError("quantile table: bad shop entry");
    for (const auto& r : rows) {
      if (!r.is_array() || r.size() != 3 || !r[0].is_string() || !r[1].is_number_integer() ||
          !r[2].is_number()) {
        return absl::DataLossError("quantile table: bad row");
      }
      const int f = FeatureIndex(r[0].get<std::string>());
      if (f < 0) continue;  // a feature of another catalog: ignore
      t.shops_[shop].values[{f, r[1].get<int>()}] = r[2].get<double>();
    }
  }
  return t;
}

absl::StatusOr<Rules> Rules::Parse(std::string_view text, const std::string& source) {
  Rules rules;
  std::istringstream in{std::string(text)};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto bad = [&](const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", n, ": ", what));
    };
    const size_t hash = line.find('#');
    std::string body = line.substr(0, hash);
    std::string action;
    // The action is free text: everything after " then ".
    size_t then = body.find(" then");
    while (then != std::string::npos && then + 5 < body.size() &&
           !std::isspace(static_cast<unsigned char>(body[then + 5]))) {
      then = body.find(" then", then + 1);
    }
    if (then != std::string::npos) {
      action = body.substr(then + 5);
      action.erase(0, action.find_first_not_of(" \t"));
      action.erase(action.find_last_not_of(" \t\r") + 1);
      body = body.substr(0, then);
      if (action.empty()) return bad("'then' without an action");
    }
    auto words = Words(body);
    if (!words.ok()) return bad(std::string(words.status().message()));
    if (words->empty()) continue;
    const auto& w = *words;
    if (w[0] != "segment")
      return bad(absl::StrCat("expected 'segment <name> if ...', got '", w[0], "'"));
    if (w.size() < 3 || w[2] != "if") return bad("expected 'segment <name> if <condition> ...'");
    Rule rule;
    rule.segment = w[1];
    rule.action = action;
    for (const Rule& r : rules.rules_) {
      if (r.segment == rule.segment)
        return bad(absl::StrCat("segment '", rule.segment, "' is defined twice"));
    }
    size_t i = 3;
    while (true) {
      if (i + 3 > w.size()) return bad("expected a condition '<operand> <op> <value>'");
      Condition c;
      const auto target = std::find_if(kTargets.begin(), kTargets.end(),
                                       [&](const TargetInfo& t) { return t.operand == w[i]; });
      if (target != kTargets.end()) {
        c.operand = TargetOperand(static_cast<size_t>(target - kTargets.begin()));
      } else {
        c.operand = FeatureIndex(w[i]);
        if (c.operand < 0) {
          std::string operands;
          for (const TargetInfo& t : kTargets)
            absl::StrAppend(&operands, std::string(t.operand), ", ");
          return bad(absl::StrCat("unknown feature '", w[i], "' (",
                                  operands.substr(0, operands.size() - 2), " or a catalog name)"));
        }
      }
      auto op = std::find(std::begin(kOps), std::end(kOps), w[i + 1]);
      if (op == std::end(kOps))
        return bad(absl::StrCat("unknown operator '", w[i + 1], "' (< <= > >= == !=)"));
      c.op = static_cast<int>(op - std::begin(kOps));
      const std::string& v = w[i + 2];
      double number;
      if (v.size() >= 2 && v.front() == '"') {
        if (c.operand != kTopCategory)
          return bad("a \"text\" value compares only with top_category_6m");
        if (c.op < 4) return bad("text compares only with == or !=");
        c.kind = Condition::Kind::kText;
        c.text = v.substr(1, v.size() - 2);
      } else if (v.size() > 3 && v[0] == 'p' && v.back() == ')' &&
                 v.find('(') != std::string::npos) {
        const size_t open = v.find('(');
        int pct;
        if (!absl::SimpleAtoi(v.substr(1, open - 1), &pct) || pct < 0 || pct > 100) {
          return bad(absl::StrCat("bad quantile '", v, "' (p0 .. p100)"));
        }
        const std::string feature = v.substr(open + 1, v.size() - open - 2);
        const int f = FeatureIndex(feature);
        if (f < 0 || f == kTopCategory)
          return bad(absl::StrCat("unknown numeric feature '", feature, "' in ", v));
        c.kind = Condition::Kind::kQuantile;
        c.quantile = {f, pct};
        if (std::find(rules.needed_.begin(), rules.needed_.end(), c.quantile) ==
            rules.needed_.end()) {
          rules.needed_.push_back(c.quantile);
        }
      } else if (absl::SimpleAtod(v, &number) && std::isfinite(number)) {
        if (c.operand == kTopCategory) return bad("top_category_6m compares with a \"text\" value");
        c.number = number;
      } else {
        return bad(absl::StrCat("bad value '", v, "' (a number, pNN(feature) or \"text\")"));
      }
      rule.conditions.push_back(std::move(c));
      i += 3;
      if (i == w.size()) break;
      if (w[i] != "and") return bad(absl::StrCat("expected 'and' or 'then', got '", w[i], "'"));
      ++i;
    }
    rules.rules_.push_back(std::move(rule));
  }
  if (rules.rules_.empty()) return absl::InvalidArgumentError(absl::StrCat(source, ": no rules"));
  return rules;
}

absl::StatusOr<Rules> Rules::Load(const std::string& path) {
  if (path.empty()) return Parse(DefaultRulesText(), "default rules");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("rules file ", path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path);
}

bool Rules::Holds(const Condition& c, const double* probabilities, const Features& f,
                  const QuantileTable::Shop* q) const {
  if (c.kind == Condition::Kind::kText) return (f.top_category_6m == c.text) == (c.op == 4);
  const double a = c.operand < 0 ? probabilities[-1 - c.operand] : f.values[c.operand];
  double b = c.number;
  if (c.kind == Condition::Kind::kQuantile) {
    if (q == nullptr) return false;
    auto it = q->values.find(c.quantile);
    if (it == q->values.end()) return false;
    b = it->second;
  }
  if (std::isnan(a)) return false;
  return Compare(a, c.op, b);
}

Segmentation Rules::Evaluate(double risk, double repurchase, const Features& f,
                             const QuantileTable::Shop* q) const {
  Segmentation out;
  double probabilities[kTargets.size()];  // by row of kTargets, as TargetOperand
  for (size_t t = 0; t < kTargets.size(); ++t) {
    probabilities[t] = kTargets[t].target == Target::kActivityDecline90d ? risk : repurchase;
  }
  for (const Rule& r : rules_) {
    bool all = true;
    for (const Condition& c : r.conditions) {
      if (!Holds(c, probabilities, f, q)) {
        all = false;
        break;
      }
    }
    if (!all) continue;
    out.segments.push_back(r.segment);
    if (!r.action.empty()) out.actions.push_back(r.action);
  }
  return out;
}

}  // namespace recur
