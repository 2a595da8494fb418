#include "http/customer_json.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace recur {

nlohmann::json FeaturesJson(const Features& f) {
  nlohmann::json j = nlohmann::json::object();
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i == kTopCategory6m) {
      j[std::string(kFeatureNames[i])] =
          f.top_category_6m.empty() ? nlohmann::json() : nlohmann::json(f.top_category_6m);
    } else {
      j[std::string(kFeatureNames[i])] =
          std::isnan(f.values[i]) ? nlohmann::json() : nlohmann::json(f.values[i]);
    }
  }
  return j;
}

namespace {

// A double as protobuf's proto3 JSON printer writes it (its shortest "%.15g"
// or "%.17g" text; NaN and the infinities as strings), read back by nlohmann:
// a text without '.' or an exponent is an integer, so 3.0 is 3 and -0.0 is 0.
nlohmann::json ProtoDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", v);
  if (std::strtod(text, nullptr) != v) std::snprintf(text, sizeof text, "%.17g", v);
  if (std::strpbrk(text, ".eE") != nullptr) return v;
  if (text[0] == '-') return static_cast<int64_t>(std::strtoll(text, nullptr, 10));
  return static_cast<uint64_t>(std::strtoull(text, nullptr, 10));
}

// proto3 leaves out a scalar field at its default: an empty string, a double
// whose bits are all zero (-0.0 is written), an empty repeated field.
void Put(nlohmann::json& j, const char* name, const std::string& v) {
  if (!v.empty()) j[name] = v;
}
void Put(nlohmann::json& j, const char* name, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if (bits != 0) j[name] = ProtoDouble(v);
}
void Put(nlohmann::json& j, const char* name,
         const google::protobuf::RepeatedPtrField<std::string>& v) {
  if (!v.empty()) j[name] = nlohmann::json(std::vector<std::string>(v.begin(), v.end()));
}

}  // namespace

// Built field by field: protobuf's printer (MessageToJsonString) and parsing
// its text back cost ~11 us a lookup (tests/bench/http_bench.cc). The test
// compares this with that printer on random messages with every field set,
// so a field added to CustomerScore and not here fails it.
nlohmann::json ScoreJson(const v1::CustomerScore& score) {
  nlohmann::json j = nlohmann::json::object();
  Put(j, "shop_id", score.shop_id());
  Put(j, "customer_id", score.customer_id());
  if (score.as_of_ms() != 0) j["as_of_ms"] = std::to_string(score.as_of_ms());  // int64: a string
  Put(j, "risk_decline_90d", score.risk_decline_90d());
  Put(j, "repurchase_30d", score.repurchase_30d());
  Put(j, "risk_model_version", score.risk_model_version());
  Put(j, "repurchase_model_version", score.repurchase_model_version());
  Put(j, "schema_hash", score.schema_hash());
  Put(j, "segments", score.segments());
  if (!score.reasons().empty()) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const v1::Contribution& r : score.reasons()) {
      nlohmann::json one = nlohmann::json::object();
      Put(one, "feature", r.feature());
      Put(one, "value", r.value());
      Put(one, "contribution", r.contribution());
      reasons.push_back(std::move(one));
    }
    j["reasons"] = std::move(reasons);
  }
  Put(j, "reasons_method", score.reasons_method());
  Put(j, "actions", score.actions());
  // inputs_key: the store's bookkeeping, not part of the score as published.
  return j;
}

absl::StatusOr<nlohmann::json> CustomerJson(const CustomerKey& key, const CustomerLookup& found) {
  nlohmann::json j{{"shop_id", key.shop_id},
                   {"customer_id", key.customer_id},
                   {"partition", found.partition},
                   {"as_of_ms", found.as_of_ms},
                   {"watermark_ms", found.watermark_ms},
                   {"max_event_time_ms", found.max_event_time_ms},
                   {"catalog_version", std::string(kCatalogVersion)},
                   {"features", FeaturesJson(found.features)}};
  j["last_score"] = nullptr;
  if (found.last_score) {
    v1::CustomerScore score;
    if (!score.ParseFromString(*found.last_score)) {
      return absl::DataLossError("stored last score is not a CustomerScore");
    }
    j["last_score"] = ScoreJson(score);
  }
  return j;
}

}  // namespace recur
