#include "featurestore/validate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/time.h"

namespace recur {
namespace {

absl::Status Fail(std::string* reason, const char* why, std::string message) {
  if (reason != nullptr) *reason = why;
  return absl::InvalidArgumentError(std::move(message));
}

absl::Status CheckId(const std::string& value, const char* field, std::string* reason) {
  if (value.empty()) return Fail(reason, "missing_id", absl::StrCat(field, ": missing"));
  if (value.size() > kMaxIdBytes) {
    return Fail(reason, "invalid_id", absl::StrCat(field, ": longer than ", kMaxIdBytes, " bytes"));
  }
  return absl::OkStatus();
}

absl::Status CheckAmount(double v, const std::string& field, bool allow_negative,
                         std::string* reason) {
  if (!std::isfinite(v))
    return Fail(reason, "invalid_amount", absl::StrCat(field, ": not a finite number"));
  if (!allow_negative && v < 0)
    return Fail(reason, "invalid_amount", absl::StrCat(field, ": negative (", v, ")"));
  if (std::fabs(v) > kMaxAmount) {
    return Fail(reason, "invalid_amount", absl::StrCat(field, ": ", v, " exceeds ", kMaxAmount));
  }
  return absl::OkStatus();
}

absl::Status CheckCount(uint64_t v, uint64_t max, const std::string& field, const char* why,
                        std::string* reason) {
  if (v > max) return Fail(reason, why, absl::StrCat(field, ": ", v, " exceeds ", max));
  return absl::OkStatus();
}

#define RECUR_RETURN_IF_ERROR(expr) \
  do {                              \
    absl::Status _st = (expr);      \
    if (!_st.ok()) return _st;      \
  } while (0)

}  // namespace

absl::Status ValidateEvent(const v1::Event& e, std::string* reason) {
  RECUR_RETURN_IF_ERROR(CheckId(e.event_id(), "event_id", reason));
  RECUR_RETURN_IF_ERROR(CheckId(e.shop_id(), "shop_id", reason));
  RECUR_RETURN_IF_ERROR(CheckId(e.customer_id(), "customer_id", reason));
  // A NUL separates a customer's key from its day parts in the store.
  for (const auto& [value, field] :
       {std::pair{&e.shop_id(), "shop_id"}, {&e.customer_id(), "customer_id"}}) {
    if (value->find('\0') != std::string::npos)
      return Fail(reason, "invalid_id", absl::StrCat(field, ": contains a NUL byte"));
  }
  if (e.shop_id().find('/') != std::string::npos) {
    return Fail(reason, "invalid_id",
                "shop_id: must not contain '/' (it separates shop and customer in keys)");
  }
  if (e.event_time_ms() < kMinEventTimeMs || e.event_time_ms() >= kMaxEventTimeMs) {
    return Fail(reason, "invalid_time",
                absl::StrCat("event_time_ms: ", e.event_time_ms(),
                             " is outside 2000-01-01..2100-01-01 UTC"));
  }
  switch (e.kind_case()) {
    case v1::Event::kPurchase: {
      const auto& p = e.purchase();
      if (p.lines_size() == 0) return Fail(reason, "invalid_field", "purchase.lines: empty");
      RECUR_RETURN_IF_ERROR(
          CheckCount(p.lines_size(), 1000, "purchase.lines", "invalid_quantity", reason));
      for (int i = 0; i < p.lines_size(); ++i) {
        const auto& l = p.lines(i);
        const std::string at = absl::StrCat("purchase.lines[", i, "].");
        if (l.category().empty()) return Fail(reason, "invalid_field", at + "category: missing");
        if (l.category().size() > kMaxIdBytes)
          return Fail(reason, "invalid_field", at + "category: too long");
        if (l.quantity() < 1 || l.quantity() > kMaxQuantity) {
          return Fail(
              reason, "invalid_quantity",
              absl::StrCat(at, "quantity: ", l.quantity(), " is not in [1, ", kMaxQuantity, "]"));
        }
        RECUR_RETURN_IF_ERROR(CheckAmount(l.unit_price(), at + "unit_price", false, reason));
        RECUR_RETURN_IF_ERROR(CheckAmount(l.profit(), at + "profit", true, reason));
      }
      return absl::OkStatus();
    }
    case v1::Event::kSession: {
      const auto& s = e.session();
      if (!std::isfinite(s.minutes()) || s.minutes() < 0 || s.minutes() > 1440) {
        return Fail(reason, "invalid_amount",
                    absl::StrCat("session.minutes: ", s.minutes(), " is not in [0, 1440]"));
      }
      RECUR_RETURN_IF_ERROR(
          CheckCount(s.pages(), 100'000, "session.pages", "invalid_quantity", reason));
      RECUR_RETURN_IF_ERROR(CheckCount(s.categories_viewed_size(), 1000,
                                       "session.categories_viewed", "invalid_quantity", reason));
      RECUR_RETURN_IF_ERROR(CheckCount(s.service_errors(), 10'000, "session.service_errors",
                                       "invalid_quantity", reason));
      return absl::OkStatus();
    }
    case v1::Event::kCart:
      RECUR_RETURN_IF_ERROR(CheckCount(e.cart().unpaid_items(), kMaxQuantity, "cart.unpaid_items",
                                       "invalid_quantity", reason));
      return CheckAmount(e.cart().cart_value(), "cart.cart_value", false, reason);
    case v1::Event::kMarketing:
      if (e.marketing().action() < v1::MARKETING_ACTION_SENT ||
          e.marketing().action() > v1::MARKETING_ACTION_CLICKED) {
        return Fail(reason, "invalid_field", "marketing.action: unspecified or unknown");
      }
      return absl::OkStatus();
    case v1::Event::kProfile: {
      const auto& p = e.profile();
      if (p.tier() != v1::SERVICE_TIER_STANDARD && p.tier() != v1::SERVICE_TIER_PREMIUM) {
        return Fail(reason, "invalid_field", "profile.tier: unspecified or unknown");
      }
      if (p.registration_time_ms() < kMinEventTimeMs ||
          p.registration_time_ms() > e.event_time_ms()) {
        return Fail(
            reason, "invalid_time",
            "profile.registration_time_ms: missing, before 2000 or after the event's own time");
      }
      return absl::OkStatus();
    }
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return Fail(reason, "missing_kind",
              "kind: none of purchase, session, cart, marketing, profile is set");
}

absl::Status ValidateBatch(std::span<const v1::Event> events, int64_t max_event_time_ms,
                           int32_t retention_days) {
  int64_t running_max = max_event_time_ms;
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Event& e = events[i];
    absl::Status s = ValidateEvent(e);
    if (s.ok() && retention_days > 0 &&
        !WithinHorizon(e.event_time_ms(), running_max, retention_days)) {
      s = absl::InvalidArgumentError(absl::StrCat(
          "event_time_ms: ", e.event_time_ms(), " is older than the retention horizon (",
          retention_days, " days before ", running_max, ")"));
    }
    if (!s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("event[", i, "] (", e.event_id(), "): ", s.message()));
    }
    running_max = std::max(running_max, e.event_time_ms());
  }
  return absl::OkStatus();
}

}  // namespace recur
