// Fuzzes the rules file parser (scorer/rules.h): `--rules FILE` is operator
// input, read at start-up. Any text is a rule set or an error naming the line;
// a rule set evaluates on missing and on present features without crashing.
#include <cstdint>
#include <string>
#include <string_view>

#include "featurestore/catalog.h"
#include "scorer/rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto rules = recur::Rules::Parse(text, "fuzz.rules");
  if (!rules.ok()) return 0;
  recur::Features missing;  // every feature NaN
  rules->Evaluate(0.5, 0.5, missing, nullptr);
  recur::Features present;
  for (size_t i = 0; i < present.values.size(); ++i) present.values[i] = static_cast<double>(i);
  present.top_category_6m = "shoes";
  recur::QuantileTable q;
  q.Add("s", present, rules->quantiles_needed());
  q.Finish();
  rules->Evaluate(0.9, 0.1, present, q.ForShop("s"));
  return 0;
}
