// Fuzzes the business labels CSV (trainer/business_labels.h), `recur train
// --labels FILE`: rows or an InvalidArgument naming the line, and every row it
// returns holds a 0/1 label and a line number.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "trainer/business_labels.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto rows = recur::ParseLabelsCsv(in, "fuzz.csv", /*default_as_of_ms=*/1'700'000'000'000);
  if (!rows.ok()) return 0;
  if (rows->empty()) std::abort();  // "no rows is an error"
  for (const recur::LabelRow& r : *rows) {
    if ((r.label != 0 && r.label != 1) || r.line < 1) std::abort();
  }
  return 0;
}
