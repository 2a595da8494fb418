// Fuzzes the model registry's meta.json reader (scorer/registry.h): the file
// sits in a models directory anyone may edit by hand. Parse gives a ModelMeta or
// an InvalidArgument; what it gives is written and read back to the same text.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "scorer/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto meta = recur::ModelMeta::Parse(text, "fuzz/meta.json");
  if (!meta.ok()) return 0;
  const std::string json = meta->ToJson();
  auto again = recur::ModelMeta::Parse(json, "fuzz/meta.json (written)");
  if (!again.ok() || again->ToJson() != json) std::abort();
  return 0;
}
