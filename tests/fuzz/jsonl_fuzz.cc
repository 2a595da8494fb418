// Fuzzes the JSON-lines import (ops/jsonl.h): one line of `recur import` /
// `recur produce` input. A line either parses or is an InvalidArgument; a parsed
// event printed back by EventToJson parses again to the same event.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "google/protobuf/stubs/logging.h"
#include "ops/jsonl.h"

// Protobuf logs every invalid UTF-8 string it parses; quiet, it fuzzes faster.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

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
