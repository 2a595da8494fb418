#include "http/customer_json.h"

#include <cmath>

#include "google/protobuf/util/json_util.h"

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

nlohmann::json ScoreJson(const v1::CustomerScore& score) {
  std::string text;
  google::protobuf::util::JsonPrintOptions po;
  po.preserve_proto_field_names = true;
  v1::CustomerScore as_published = score;
  as_published.clear_inputs_key();  // the store's bookkeeping, not part of the score
  if (!google::protobuf::util::MessageToJsonString(as_published, &text, po).ok()) return nullptr;
  return nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
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
