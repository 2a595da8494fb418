// Segments and recommended actions: rules over the two scores and the feature
// catalog, read from a text file and validated at start-up.
//
//   auto rules = recur::Rules::Load("rules.txt");   // "" -> the default rule set
//   if (!rules.ok()) ...                             // "rules.txt:3: unknown feature 'revenu_90d'"
//   recur::QuantileTable q = ...;                    // per shop, see QuantileTable
//   auto seg = rules->Evaluate(risk, repurchase, features, q.ForShop(shop));
//
// File format (one rule per line, '#' starts a comment):
//   segment <name> if <condition> [and <condition>]... [then <action text>]
//   condition: <operand> <op> <value>
//     operand: risk | repurchase | <catalog feature name>
//     op:      <  <=  >  >=  ==  !=
//     value:   a number | p<0..100>(<feature>) — that quantile of the feature over
//              the shop's customers | "text" (top_category_6m only, == or !=)
// A condition on a missing value (NaN, unknown quantile) is false. A customer is in
// every segment whose conditions all hold, in file order; actions follow segments.
// Thread-safety: const methods may run concurrently.
#ifndef RECUR_SCORER_RULES_H_
#define RECUR_SCORER_RULES_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/catalog.h"

namespace recur {

// The shipped rule set (scorer/default_rules.txt), used when no file is given.
std::string_view DefaultRulesText();

// Quantiles of features per shop, as the rules need them.
class QuantileTable {
 public:
  using Key = std::pair<int, int>;  // (feature index, percent)
  struct Shop {
    std::map<Key, double> values;
  };
  // Adds one customer's features (call for every customer of the population).
  void Add(const std::string& shop, const Features& f, const std::vector<Key>& needed);
  // Sorts the collected values and keeps only the quantiles; call once after Add.
  void Finish();
  // nullptr for an unknown shop.
  const Shop* ForShop(const std::string& shop) const;

  std::string Serialize() const;  // JSON, deterministic
  static absl::StatusOr<QuantileTable> Parse(const std::string& json);

 private:
  std::map<std::string, std::map<Key, std::vector<double>>> samples_;
  std::map<std::string, Shop> shops_;
};

struct Segmentation {
  std::vector<std::string> segments;
  std::vector<std::string> actions;
};

class Rules {
 public:
  // `source` names the text in errors ("<file>:<line>: ...").
  static absl::StatusOr<Rules> Parse(std::string_view text, const std::string& source);
  // Reads and parses a file; an empty path gives the default rule set.
  static absl::StatusOr<Rules> Load(const std::string& path);

  Segmentation Evaluate(double risk, double repurchase, const Features& f,
                        const QuantileTable::Shop* q) const;
  // Quantiles that Evaluate reads, for QuantileTable::Add.
  const std::vector<QuantileTable::Key>& quantiles_needed() const { return needed_; }
  size_t size() const { return rules_.size(); }

 private:
  struct Condition {
    int operand = 0;  // a feature index, or < 0: a target's probability (rules.cc)
    int op = 0;       // index into kOps
    enum class Kind { kNumber, kQuantile, kText } kind = Kind::kNumber;
    double number = 0;
    QuantileTable::Key quantile{0, 0};
    std::string text;
  };
  struct Rule {
    std::string segment;
    std::vector<Condition> conditions;
    std::string action;
  };
  // `probabilities`: the targets', by row of kTargets (scorer/targets.h).
  bool Holds(const Condition& c, const double* probabilities, const Features& f,
             const QuantileTable::Shop* q) const;

  std::vector<Rule> rules_;
  std::vector<QuantileTable::Key> needed_;
};

}  // namespace recur

#endif  // RECUR_SCORER_RULES_H_
