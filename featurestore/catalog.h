// The feature catalog (docs/DESIGN.md, "Feature catalog"): names, order and
// version of every feature recur computes. The order here is the order of the
// model's feature vector; changing it changes kCatalogVersion and the schema hash.
//
//   for (int i = 0; i < recur::kNumFeatures; ++i)
//     std::cout << recur::kFeatureNames[i] << "=" << features.values[i];
#ifndef RECUR_FEATURESTORE_CATALOG_H_
#define RECUR_FEATURESTORE_CATALOG_H_

#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "featurestore/types.h"

namespace recur {

// 2: items per window, distinct purchase days, lifetime aggregates (issue 16);
// days since first/last purchase and mean days between orders are lifetime.
inline constexpr std::string_view kCatalogVersion = "recur-catalog-2";

enum Feature : int {
  kServiceTier = 0,  // categorical: 0 standard, 1 premium, NaN unknown
  kMarketingConsent,
  kTenureDays,
  kMarketingSent6mAvg,
  kMarketingSentMonth0,
  kMarketingOpenRate90d,
  kMarketingClicks30d,
  kPromoShare6m,
  kTopCategory6m,  // categorical: the numeric slot is NaN here, see Features
  kRevenueMonth0,
  kRevenueMonth1,
  kRevenueMonth2,
  kProfitAvgMonth3m,
  kDaysSinceLastPurchase,
  kDaysSinceFirstPurchase,
  kOrders30d,
  kOrders90d,
  kOrders365d,
  kRevenue30d,
  kRevenue90d,
  kRevenue365d,
  kAvgOrderValue365d,
  kMeanDaysBetweenOrders,
  kDistinctCategories90d,
  kMinutesMonth0,
  kMinutesMonth1,
  kPagesPerVisit90d,
  kCategoriesPerVisit30d,
  kUnpaidCartItems90d,
  kServiceErrors90d,
  kSessions7d,
  kSessions30d,
  kDaysSinceLastSession,
  kItems30d,  // purchased quantity in window
  kItems90d,
  kItems365d,
  kPurchaseDays90d,  // distinct UTC days with a purchase in window
  kPurchaseDays365d,
  kOrdersLifetime,  // every purchase on or before T, pruned days included
  kRevenueLifetime,
  kItemsLifetime,
  kNumFeatures
};

inline constexpr std::array<std::string_view, kNumFeatures> kFeatureNames = {
    "service_tier",
    "marketing_consent",
    "tenure_days",
    "marketing_sent_6m_avg",
    "marketing_sent_month0",
    "marketing_open_rate_90d",
    "marketing_clicks_30d",
    "promo_share_6m",
    "top_category_6m",
    "revenue_month0",
    "revenue_month1",
    "revenue_month2",
    "profit_avg_month_3m",
    "days_since_last_purchase",
    "days_since_first_purchase",
    "orders_30d",
    "orders_90d",
    "orders_365d",
    "revenue_30d",
    "revenue_90d",
    "revenue_365d",
    "avg_order_value_365d",
    "mean_days_between_orders",
    "distinct_categories_90d",
    "minutes_month0",
    "minutes_month1",
    "pages_per_visit_90d",
    "categories_per_visit_30d",
    "unpaid_cart_items_90d",
    "service_errors_90d",
    "sessions_7d",
    "sessions_30d",
    "days_since_last_session",
    "items_30d",
    "items_90d",
    "items_365d",
    "purchase_days_90d",
    "purchase_days_365d",
    "orders_lifetime",
    "revenue_lifetime",
    "items_lifetime",
};

// The catalog's values for one customer as of one time. Undefined values are NaN.
// top_category_6m is a category name; its numeric slot stays NaN because the
// encoding of names into codes belongs to a model's schema (scorer/trainer).
struct Features {
  std::array<double, kNumFeatures> values;
  std::string top_category_6m;  // "" when no purchase in 182 days

  Features() { values.fill(std::nan("")); }
  double operator[](Feature f) const { return values[f]; }
};

// The feature schema hash shared by trainer and scorer: FNV-1a over the catalog
// version and the feature names in order, as 16 hex digits. A model records it;
// the scorer refuses a model whose hash differs.
inline std::string SchemaHash() {
  std::string schema(kCatalogVersion);
  for (auto name : kFeatureNames) schema.append("\n").append(name);
  uint64_t h = Fnv1a64(schema);
  static const char* kHex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[i] = kHex[h & 15];
  return out;
}

// Returns the index of `name` in the catalog, or -1.
inline int FeatureIndex(std::string_view name) {
  for (int i = 0; i < kNumFeatures; ++i) {
    if (kFeatureNames[i] == name) return i;
  }
  return -1;
}

}  // namespace recur

#endif  // RECUR_FEATURESTORE_CATALOG_H_
