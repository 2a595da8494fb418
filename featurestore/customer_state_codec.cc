// The compact binary encoding of CustomerState (the RocksDB value of a
// customer): varints, zig-zag for signed values, a presence mask per day bucket.
#include <algorithm>
#include <limits>
#include <tuple>

#include "featurestore/customer_state.h"

namespace recur {
namespace {

// ---- encoding helpers -------------------------------------------------------

// Appends to a string through a pointer: each section first makes room for
// its largest encoding (Room), so a byte costs one store, not a push_back's
// capacity check. Finish trims the string to what was written.
class Writer {
 public:
  static constexpr size_t kVarint = 10;  // the longest varint of 64 bits

  explicit Writer(std::string* out) : out_(out) {
    out_->resize(std::max<size_t>(out_->capacity(), 64));
    p_ = out_->data();
  }
  void Room(size_t n) {
    const size_t at = static_cast<size_t>(p_ - out_->data());
    if (out_->size() - at >= n) return;
    out_->resize(std::max(out_->size() * 2, at + n));
    p_ = out_->data() + at;
  }
  void Byte(uint8_t b) { *p_++ = static_cast<char>(b); }
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      *p_++ = static_cast<char>(v | 0x80);
      v >>= 7;
    }
    *p_++ = static_cast<char>(v);
  }
  void Signed(int64_t v) {
    Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void Fixed64(uint64_t v) {
    for (int i = 0; i < 8; ++i) *p_++ = static_cast<char>(v >> (8 * i));
  }
  void Bytes(std::string_view s) {
    std::copy(s.begin(), s.end(), p_);
    p_ += s.size();
  }
  void Finish() { out_->resize(static_cast<size_t>(p_ - out_->data())); }

 private:
  std::string* out_;
  char* p_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool U32(uint32_t* v) {
    uint64_t x;
    if (!Varint(&x) || x > std::numeric_limits<uint32_t>::max()) return false;
    *v = static_cast<uint32_t>(x);
    return true;
  }
  bool Signed(int64_t* v) {
    uint64_t x;
    if (!Varint(&x)) return false;
    *v = static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() - pos_ < 8) return false;
    *v = 0;
    for (int i = 0; i < 8; ++i)
      *v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool Bytes(size_t n, std::string* s) {
    if (in_.size() - pos_ < n) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// 4 added the pruned days' purchases; 3: ids grouped by (kind, day); 2 added
// last_event_ms (1, 2 and 3 are still read: nothing pruned before counts).
constexpr uint8_t kEncodingVersion = 4;

// Bits of the per-bucket presence mask, in encoding order.
struct BucketField {
  enum : uint32_t {
    kBOrders = 1u << 0,
    kBLines = 1u << 1,
    kBPromo = 1u << 2,
    kBRevenue = 1u << 3,
    kBProfit = 1u << 4,
    kBSessions = 1u << 5,
    kBPages = 1u << 6,
    kBCatViewed = 1u << 7,
    kBErrors = 1u << 8,
    kBMinutes = 1u << 9,
    kBUnpaid = 1u << 10,
    kBSent = 1u << 11,
    kBOpened = 1u << 12,
    kBClicked = 1u << 13,
    kBCategories = 1u << 14,
  };
};
constexpr uint32_t kBOrders = BucketField::kBOrders, kBLines = BucketField::kBLines,
                   kBPromo = BucketField::kBPromo, kBRevenue = BucketField::kBRevenue,
                   kBProfit = BucketField::kBProfit, kBSessions = BucketField::kBSessions,
                   kBPages = BucketField::kBPages, kBCatViewed = BucketField::kBCatViewed,
                   kBErrors = BucketField::kBErrors, kBMinutes = BucketField::kBMinutes,
                   kBUnpaid = BucketField::kBUnpaid, kBSent = BucketField::kBSent,
                   kBOpened = BucketField::kBOpened, kBClicked = BucketField::kBClicked,
                   kBCategories = BucketField::kBCategories;

}  // namespace

void CustomerState::Encode(std::string* out) const {
  constexpr size_t V = Writer::kVarint;
  Writer w(out);
  w.Room(1 + V);
  w.Byte(kEncodingVersion);
  w.Varint(profiles_.size());
  for (const ProfileEntry& p : profiles_) {
    w.Room(V + 8 + V + 1 + V);
    w.Signed(p.time_ms);
    w.Fixed64(p.id_hash);
    w.Varint(static_cast<uint64_t>(p.tier));
    w.Byte(p.consent ? 1 : 0);
    w.Signed(p.registration_ms);
  }
  w.Room((kNumEventKinds + 7) * V);
  for (int32_t d : kind_max_day_) w.Signed(d);
  w.Signed(last_event_ms_);
  // The pruned purchases: one zero byte when nothing with an order was pruned.
  w.Varint(static_cast<uint64_t>(pruned_.orders));
  if (pruned_.orders > 0) {
    w.Signed(pruned_.revenue_micros);
    w.Signed(pruned_.items);
    w.Signed(pruned_.first_day);
    w.Signed(pruned_.last_day);
  }
  w.Varint(seen_.size());
  std::vector<uint64_t> ids;
  for (const SeenDay& b : seen_) {
    b.ids.SortedIds(&ids);
    w.Room(3 * V + 8 * ids.size());
    w.Varint(static_cast<uint64_t>(b.kind));
    w.Signed(b.day);
    w.Varint(ids.size());
    for (uint64_t id : ids) w.Fixed64(id);
  }
  w.Room(V);
  w.Varint(days_.size());
  int32_t prev = 0;
  for (const DayBucket& b : days_) {
    w.Room(17 * V);  // the day, the mask and 15 fields
    w.Signed(static_cast<int64_t>(b.day) - prev);
    prev = b.day;
    uint32_t mask = (b.orders ? kBOrders : 0) | (b.purchase_lines ? kBLines : 0) |
                    (b.promo_lines ? kBPromo : 0) | (b.revenue_micros ? kBRevenue : 0) |
                    (b.profit_micros ? kBProfit : 0) | (b.sessions ? kBSessions : 0) |
                    (b.pages ? kBPages : 0) | (b.categories_viewed ? kBCatViewed : 0) |
                    (b.service_errors ? kBErrors : 0) | (b.minutes_milli ? kBMinutes : 0) |
                    (b.unpaid_cart_items ? kBUnpaid : 0) | (b.marketing_sent ? kBSent : 0) |
                    (b.marketing_opened ? kBOpened : 0) | (b.marketing_clicked ? kBClicked : 0) |
                    (b.category_items.empty() ? 0 : kBCategories);
    w.Varint(mask);
    if (mask & kBOrders) w.Varint(b.orders);
    if (mask & kBLines) w.Varint(b.purchase_lines);
    if (mask & kBPromo) w.Varint(b.promo_lines);
    if (mask & kBRevenue) w.Signed(b.revenue_micros);
    if (mask & kBProfit) w.Signed(b.profit_micros);
    if (mask & kBSessions) w.Varint(b.sessions);
    if (mask & kBPages) w.Varint(b.pages);
    if (mask & kBCatViewed) w.Varint(b.categories_viewed);
    if (mask & kBErrors) w.Varint(b.service_errors);
    if (mask & kBMinutes) w.Signed(b.minutes_milli);
    if (mask & kBUnpaid) w.Varint(b.unpaid_cart_items);
    if (mask & kBSent) w.Varint(b.marketing_sent);
    if (mask & kBOpened) w.Varint(b.marketing_opened);
    if (mask & kBClicked) w.Varint(b.marketing_clicked);
    if (mask & kBCategories) {
      w.Varint(b.category_items.size());
      for (const CategoryItems& c : b.category_items) {
        w.Room(2 * V + c.name.size());
        w.Varint(c.name.size());
        w.Bytes(c.name);
        w.Varint(c.items);
      }
    }
  }
  w.Finish();
}

namespace {

bool SeenDayLess(const SeenDay& a, const SeenDay& b) {
  return std::tie(a.kind, a.day) < std::tie(b.kind, b.day);
}

// The dedupe ids: v3 groups them by (kind, day); v1 and v2 list (hash, day,
// kind) triples, grouped here.
absl::Status DecodeSeen(uint8_t version, Reader* r, size_t size, std::vector<SeenDay>* out) {
  auto bad = [](const char* what) {
    return absl::DataLossError(std::string("corrupt customer record: ") + what);
  };
  uint64_t n;
  if (!r->Varint(&n) || n > size) return bad("dedupe count");
  out->clear();
  if (version >= 3) {
    out->resize(n);
    for (SeenDay& b : *out) {
      uint64_t kind, count;
      int64_t day;
      if (!r->Varint(&kind) || kind >= kNumEventKinds || !r->Signed(&day) || !r->Varint(&count) ||
          count > size)
        return bad("dedupe block");
      b.kind = static_cast<int32_t>(kind);
      b.day = static_cast<int32_t>(day);
      b.ids.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t id;
        if (!r->Fixed64(&id)) return bad("dedupe id");
        b.ids.insert(id);
      }
    }
    if (!std::is_sorted(out->begin(), out->end(), SeenDayLess)) return bad("dedupe order");
    return absl::OkStatus();
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t hash, kind;
    int64_t day;
    if (!r->Fixed64(&hash) || !r->Signed(&day) || !r->Varint(&kind) || kind >= kNumEventKinds)
      return bad("dedupe entry");
    SeenDay key{static_cast<int32_t>(kind), static_cast<int32_t>(day), {}};
    auto it = std::lower_bound(out->begin(), out->end(), key, SeenDayLess);
    if (it == out->end() || it->kind != key.kind || it->day != key.day)
      it = out->insert(it, std::move(key));
    it->ids.insert(hash);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CustomerState::Decode(std::string_view bytes, CustomerState* out) {
  auto bad = [](const char* what) {
    return absl::DataLossError(std::string("corrupt customer record: ") + what);
  };
  Reader r(bytes);
  CustomerState s;
  const uint8_t version = bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]);
  if (version < 1 || version > kEncodingVersion) return bad("unknown encoding version");
  std::string skip;
  r.Bytes(1, &skip);
  uint64_t n;
  if (!r.Varint(&n) || n > bytes.size()) return bad("profile count");
  s.profiles_.resize(n);
  for (ProfileEntry& p : s.profiles_) {
    uint64_t tier;
    std::string consent;
    if (!r.Signed(&p.time_ms) || !r.Fixed64(&p.id_hash) || !r.Varint(&tier) ||
        !r.Bytes(1, &consent) || !r.Signed(&p.registration_ms)) {
      return bad("profile entry");
    }
    p.tier = static_cast<int32_t>(tier);
    p.consent = consent[0] != 0;
  }
  for (int32_t& d : s.kind_max_day_) {
    int64_t v;
    if (!r.Signed(&v)) return bad("kind days");
    d = static_cast<int32_t>(v);
  }
  if (version >= 2 && !r.Signed(&s.last_event_ms_)) return bad("last event time");
  if (version >= 4) {
    uint64_t orders;
    int64_t first_day = 0, last_day = 0;
    PrunedPurchases& p = s.pruned_;
    if (!r.Varint(&orders) || orders > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return bad("pruned orders");
    p.orders = static_cast<int64_t>(orders);
    if (orders > 0 && (!r.Signed(&p.revenue_micros) || !r.Signed(&p.items) ||
                       !r.Signed(&first_day) || !r.Signed(&last_day) || first_day > last_day ||
                       first_day < std::numeric_limits<int32_t>::min() ||
                       last_day > std::numeric_limits<int32_t>::max()))
      return bad("pruned purchases");
    p.first_day = static_cast<int32_t>(first_day);
    p.last_day = static_cast<int32_t>(last_day);
  }
  if (absl::Status ids = DecodeSeen(version, &r, bytes.size(), &s.seen_); !ids.ok()) return ids;
  if (!r.Varint(&n) || n > bytes.size()) return bad("day count");
  s.days_.resize(n);
  int64_t prev = 0;
  for (DayBucket& b : s.days_) {
    int64_t delta;
    uint64_t mask;
    if (!r.Signed(&delta) || !r.Varint(&mask)) return bad("day header");
    b.day = static_cast<int32_t>(prev + delta);
    prev = b.day;
    bool ok = true;
    if (mask & kBOrders) ok = ok && r.U32(&b.orders);
    if (mask & kBLines) ok = ok && r.U32(&b.purchase_lines);
    if (mask & kBPromo) ok = ok && r.U32(&b.promo_lines);
    if (mask & kBRevenue) ok = ok && r.Signed(&b.revenue_micros);
    if (mask & kBProfit) ok = ok && r.Signed(&b.profit_micros);
    if (mask & kBSessions) ok = ok && r.U32(&b.sessions);
    if (mask & kBPages) ok = ok && r.U32(&b.pages);
    if (mask & kBCatViewed) ok = ok && r.U32(&b.categories_viewed);
    if (mask & kBErrors) ok = ok && r.U32(&b.service_errors);
    if (mask & kBMinutes) ok = ok && r.Signed(&b.minutes_milli);
    if (mask & kBUnpaid) ok = ok && r.U32(&b.unpaid_cart_items);
    if (mask & kBSent) ok = ok && r.U32(&b.marketing_sent);
    if (mask & kBOpened) ok = ok && r.U32(&b.marketing_opened);
    if (mask & kBClicked) ok = ok && r.U32(&b.marketing_clicked);
    if (mask & kBCategories) {
      uint64_t nc;
      ok = ok && r.Varint(&nc) && nc <= bytes.size();
      if (!ok) return bad("category count");
      b.category_items.resize(nc);
      for (CategoryItems& c : b.category_items) {
        uint64_t len;
        ok = ok && r.Varint(&len) && r.Bytes(len, &c.name) && r.U32(&c.items);
        if (!ok) return bad("category entry");
      }
    }
    if (!ok) return bad("day bucket");
  }
  if (!r.done()) return bad("trailing bytes");
  *out = std::move(s);
  return absl::OkStatus();
}

bool operator==(const CustomerState& a, const CustomerState& b) {
  std::string ea, eb;
  a.Encode(&ea);
  b.Encode(&eb);
  return ea == eb;
}

}  // namespace recur
