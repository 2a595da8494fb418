// Fuzzes the JSON-lines import (ops/jsonl.h): one line of `recur import` /
// `recur produce` input. A line either parses or is an InvalidArgument; a parsed
// event printed back by EventToJson parses again to the same event, once a
// -0.0 is taken as 0 (Protobuf prints -0.0 as -0, which reads back as +0.0: the
// same amount, other bytes; regress_negative_zero in the corpus).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/stubs/logging.h"
#include "ops/jsonl.h"

// Protobuf logs every invalid UTF-8 string it parses; quiet, it fuzzes faster.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

// Clears every singular floating-point field equal to 0 (so -0.0 too), in
// nested messages as well.
void ClearZeros(google::protobuf::Message* m) {
  using google::protobuf::FieldDescriptor;
  const google::protobuf::Reflection* r = m->GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(*m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (!f->is_repeated()) {
        ClearZeros(r->MutableMessage(m, f));
      } else {
        for (int i = 0; i < r->FieldSize(*m, f); ++i)
          ClearZeros(r->MutableRepeatedMessage(m, f, i));
      }
    } else if (!f->is_repeated() && !f->has_presence() &&
               ((f->cpp_type() == FieldDescriptor::CPPTYPE_DOUBLE && r->GetDouble(*m, f) == 0) ||
                (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT && r->GetFloat(*m, f) == 0))) {
      r->ClearField(m, f);
    }
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  auto event = recur::ParseEventJson(line);
  if (!event.ok()) return 0;
  const std::string printed = recur::EventToJson(*event);
  auto again = recur::ParseEventJson(printed);
  if (!again.ok()) std::abort();
  ClearZeros(&*event);
  ClearZeros(&*again);
  std::string a, b;
  event->SerializeToString(&a);
  again->SerializeToString(&b);
  if (a != b) std::abort();
  return 0;
}
