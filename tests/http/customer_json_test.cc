// ScoreJson (http/customer_json.h) builds a score's proto3 JSON field by
// field; protobuf's own printer is the independent computation it must match,
// on random messages with every field of CustomerScore set through reflection
// (so a field added to the proto and not to ScoreJson fails here), and on the
// edges of the mapping (defaults left out, -0.0, NaN, infinities, integral
// doubles, int64 as a string).
#include "http/customer_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "proto/recur.pb.h"

namespace recur {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// What the lookup API printed before ScoreJson was built by hand: protobuf's
// printer, its text parsed by nlohmann, dumped.
std::string ByProtobuf(v1::CustomerScore score) {
  score.clear_inputs_key();
  std::string text;
  google::protobuf::util::JsonPrintOptions po;
  po.preserve_proto_field_names = true;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(score, &text, po).ok());
  return nlohmann::json::parse(text).dump();
}

double RandomDouble(std::mt19937_64& rng) {
  static const double kEdges[] = {0.0,
                                  -0.0,
                                  1.0,
                                  3.0,
                                  -7.0,
                                  0.1,
                                  1e15,
                                  123456789012345678.0,
                                  1e20,
                                  -2.5e-300,
                                  std::numeric_limits<double>::quiet_NaN(),
                                  std::numeric_limits<double>::infinity(),
                                  -std::numeric_limits<double>::infinity(),
                                  std::numeric_limits<double>::denorm_min(),
                                  std::numeric_limits<double>::max()};
  switch (rng() % 4) {
    case 0:
      return kEdges[rng() % std::size(kEdges)];
    case 1:
      return static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000);  // integral
    case 2:
      return std::uniform_real_distribution<double>(0, 1)(rng);  // a probability
    default:
      return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng),
                        static_cast<int>(rng() % 200) - 100);
  }
}

std::string RandomString(std::mt19937_64& rng) {
  static const char* kTexts[] = {"", "shop-1", "c-\"quoted\"\\", "caf\u00e9 \u2603", "a\nb\tc"};
  return kTexts[rng() % std::size(kTexts)];
}

// Every field of `m` set at random (repeated ones 0-3 times), reflection-driven.
void Fill(Message* m, std::mt19937_64& rng) {
  const auto* d = m->GetDescriptor();
  const auto* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    const int n = f->is_repeated() ? static_cast<int>(rng() % 4) : 1;
    for (int k = 0; k < n; ++k) {
      switch (f->cpp_type()) {
        case FieldDescriptor::CPPTYPE_STRING:
          f->is_repeated() ? r->AddString(m, f, RandomString(rng))
                           : r->SetString(m, f, RandomString(rng));
          break;
        case FieldDescriptor::CPPTYPE_DOUBLE:
          f->is_repeated() ? r->AddDouble(m, f, RandomDouble(rng))
                           : r->SetDouble(m, f, RandomDouble(rng));
          break;
        case FieldDescriptor::CPPTYPE_INT64: {
          static const int64_t kInts[] = {0, 1, -1, 1'717'000'000'000,
                                          std::numeric_limits<int64_t>::min()};
          const int64_t v = kInts[rng() % std::size(kInts)];
          f->is_repeated() ? r->AddInt64(m, f, v) : r->SetInt64(m, f, v);
          break;
        }
        case FieldDescriptor::CPPTYPE_UINT64:  // inputs_key
          r->SetUInt64(m, f, rng());
          break;
        case FieldDescriptor::CPPTYPE_MESSAGE:
          Fill(f->is_repeated() ? r->AddMessage(m, f) : r->MutableMessage(m, f), rng);
          break;
        default:
          FAIL() << "a field of a type this test does not fill: " << f->full_name()
                 << "; teach Fill and ScoreJson about it";
      }
    }
  }
}

TEST(ScoreJsonTest, MatchesProtobufsOwnPrinterOnRandomScoresWithEveryField) {
  std::mt19937_64 rng(17);
  for (int i = 0; i < 5'000; ++i) {
    v1::CustomerScore score;
    Fill(&score, rng);
    ASSERT_EQ(ScoreJson(score).dump(), ByProtobuf(score)) << score.ShortDebugString();
  }
}

TEST(ScoreJsonTest, LeavesOutDefaultsAndWritesTheEdgesOfTheMappingAsProtobufDoes) {
  v1::CustomerScore score;
  EXPECT_EQ(ScoreJson(score).dump(), "{}");
  EXPECT_EQ(ByProtobuf(score), "{}");
  score.set_as_of_ms(1'717'000'000'000);
  score.set_risk_decline_90d(3.0);                                          // integral
  score.set_repurchase_30d(std::numeric_limits<double>::quiet_NaN());       // a string
  score.add_reasons()->set_contribution(-0.0);                              // written
  score.add_reasons()->set_value(std::numeric_limits<double>::infinity());  // a string
  score.set_inputs_key(42);                                                 // never
  const std::string want =
      R"({"as_of_ms":"1717000000000","reasons":[{"contribution":0},{"value":"Infinity"}],)"
      R"("repurchase_30d":"NaN","risk_decline_90d":3})";
  EXPECT_EQ(ScoreJson(score).dump(), want);
  EXPECT_EQ(ByProtobuf(score), want);
}

}  // namespace
}  // namespace recur
