// Fuzzes the JSON-lines import (ops/jsonl.h): one line of `recur import` /
// `recur produce` input. A line either parses or is an InvalidArgument; a parsed
// event printed back by EventToJson parses again to the same event.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ops/jsonl.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto event = recur::ParseEventJson(line);
  if (!event.ok()) return 0;
  const std::string printed = recur::EventToJson(*event);
  auto again = recur::ParseEventJson(printed);
  if (!again.ok()) std::abort();
  std::string a, b;
  event->SerializeToString(&a);
  again->SerializeToString(&b);
  if (a != b) std::abort();
  return 0;
}
