// The JSON of one customer: its features (catalog names; NaN and an empty
// category as null) and a delivered score (the v1::CustomerScore's proto3 JSON
// with the proto's field names). One place for both, shared by `recur inspect
// --json` and the lookup API (http/server.h).
//
//   nlohmann::json j = recur::CustomerJson(key, lookup);   // a Pipeline::Lookup
#ifndef RECUR_HTTP_CUSTOMER_JSON_H_
#define RECUR_HTTP_CUSTOMER_JSON_H_

#include <string>

#include "featurestore/catalog.h"
#include "featurestore/types.h"
#include "nlohmann/json.hpp"
#include "proto/recur.pb.h"
#include "streams/partition_stores.h"

namespace recur {

nlohmann::json FeaturesJson(const Features& features);
// The proto3 JSON of `score` with the proto's field names, as protobuf's own
// printer writes it (read back by nlohmann), built without it. As published:
// without the store's inputs_key.
nlohmann::json ScoreJson(const v1::CustomerScore& score);
// {shop_id, customer_id, partition, as_of_ms, watermark_ms, max_event_time_ms,
// catalog_version, features, last_score (null if none)}. DataLoss when the
// stored last score does not parse.
absl::StatusOr<nlohmann::json> CustomerJson(const CustomerKey& key, const CustomerLookup& found);

}  // namespace recur

#endif  // RECUR_HTTP_CUSTOMER_JSON_H_
