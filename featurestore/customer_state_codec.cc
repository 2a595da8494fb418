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

  // Writes from byte `at` of `out` on (what is before it stays).
  explicit Writer(std::string* out, size_t at = 0) : out_(out) {
    out_->resize(std::max<size_t>({out_->capacity(), at + 64, 64}));
    p_ = out_->data() + at;
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
  bool View(size_t n, std::string_view* s) {
    if (in_.size() - pos_ < n) return false;
    *s = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Byte(uint8_t* b) {
    if (pos_ >= in_.size()) return false;
    *b = static_cast<uint8_t>(in_[pos_++]);
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
// A head of the per-day layout (EncodeHead): v4's fields before the ids, the
// days in parts of their own.
constexpr uint8_t kHeadVersion = 5;
// A day part's first byte: what it holds.
constexpr uint8_t kPartBucket = 1, kPartIds = 2;

// Bits of the per-bucket presence mask, in encoding order.
constexpr uint32_t kBOrders = 1u << 0, kBLines = 1u << 1, kBPromo = 1u << 2, kBRevenue = 1u << 3,
                   kBProfit = 1u << 4, kBSessions = 1u << 5, kBPages = 1u << 6,
                   kBCatViewed = 1u << 7, kBErrors = 1u << 8, kBMinutes = 1u << 9,
                   kBUnpaid = 1u << 10, kBSent = 1u << 11, kBOpened = 1u << 12,
                   kBClicked = 1u << 13, kBCategories = 1u << 14;

uint32_t BucketMask(const DayBucket& b) {
  return (b.orders ? kBOrders : 0) | (b.purchase_lines ? kBLines : 0) |
         (b.promo_lines ? kBPromo : 0) | (b.revenue_micros ? kBRevenue : 0) |
         (b.profit_micros ? kBProfit : 0) | (b.sessions ? kBSessions : 0) |
         (b.pages ? kBPages : 0) | (b.categories_viewed ? kBCatViewed : 0) |
         (b.service_errors ? kBErrors : 0) | (b.minutes_milli ? kBMinutes : 0) |
         (b.unpaid_cart_items ? kBUnpaid : 0) | (b.marketing_sent ? kBSent : 0) |
         (b.marketing_opened ? kBOpened : 0) | (b.marketing_clicked ? kBClicked : 0) |
         (b.category_items.empty() ? 0 : kBCategories);
}

// A bucket's mask and fields (not its day).
void EncodeBucket(const DayBucket& b, Writer* w) {
  constexpr size_t V = Writer::kVarint;
  w->Room(16 * V);  // the mask and 15 fields
  const uint32_t mask = BucketMask(b);
  w->Varint(mask);
  if (mask & kBOrders) w->Varint(b.orders);
  if (mask & kBLines) w->Varint(b.purchase_lines);
  if (mask & kBPromo) w->Varint(b.promo_lines);
  if (mask & kBRevenue) w->Signed(b.revenue_micros);
  if (mask & kBProfit) w->Signed(b.profit_micros);
  if (mask & kBSessions) w->Varint(b.sessions);
  if (mask & kBPages) w->Varint(b.pages);
  if (mask & kBCatViewed) w->Varint(b.categories_viewed);
  if (mask & kBErrors) w->Varint(b.service_errors);
  if (mask & kBMinutes) w->Signed(b.minutes_milli);
  if (mask & kBUnpaid) w->Varint(b.unpaid_cart_items);
  if (mask & kBSent) w->Varint(b.marketing_sent);
  if (mask & kBOpened) w->Varint(b.marketing_opened);
  if (mask & kBClicked) w->Varint(b.marketing_clicked);
  if (mask & kBCategories) {
    w->Varint(b.category_items.size());
    for (const CategoryItems& c : b.category_items) {
      w->Room(2 * V + c.name.size());
      w->Varint(c.name.size());
      w->Bytes(c.name);
      w->Varint(c.items);
    }
  }
}

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(std::string("corrupt customer record: ") + what);
}

// A bucket's mask and fields (EncodeBucket); `size` bounds counts.
absl::Status DecodeBucket(Reader* r, size_t size, DayBucket* b) {
  uint64_t mask;
  if (!r->Varint(&mask)) return Corrupt("day header");
  bool ok = true;
  if (mask & kBOrders) ok = ok && r->U32(&b->orders);
  if (mask & kBLines) ok = ok && r->U32(&b->purchase_lines);
  if (mask & kBPromo) ok = ok && r->U32(&b->promo_lines);
  if (mask & kBRevenue) ok = ok && r->Signed(&b->revenue_micros);
  if (mask & kBProfit) ok = ok && r->Signed(&b->profit_micros);
  if (mask & kBSessions) ok = ok && r->U32(&b->sessions);
  if (mask & kBPages) ok = ok && r->U32(&b->pages);
  if (mask & kBCatViewed) ok = ok && r->U32(&b->categories_viewed);
  if (mask & kBErrors) ok = ok && r->U32(&b->service_errors);
  if (mask & kBMinutes) ok = ok && r->Signed(&b->minutes_milli);
  if (mask & kBUnpaid) ok = ok && r->U32(&b->unpaid_cart_items);
  if (mask & kBSent) ok = ok && r->U32(&b->marketing_sent);
  if (mask & kBOpened) ok = ok && r->U32(&b->marketing_opened);
  if (mask & kBClicked) ok = ok && r->U32(&b->marketing_clicked);
  if (!ok) return Corrupt("day bucket");
  if (mask & kBCategories) {
    uint64_t nc;
    if (!r->Varint(&nc) || nc > size) return Corrupt("category count");
    b->category_items.resize(nc);
    for (CategoryItems& c : b->category_items) {
      uint64_t len;
      if (!r->Varint(&len) || !r->Bytes(len, &c.name) || !r->U32(&c.items))
        return Corrupt("category entry");
    }
  }
  return absl::OkStatus();
}

}  // namespace

// Private access for the codec's helpers.
struct CustomerState::Codec {
  // The version byte and the head's fields (profiles, kind days, last event
  // time, pruned purchases): the start of a whole record and all of a head.
  static void EncodeHead(const CustomerState& s, uint8_t version, Writer* w) {
    constexpr size_t V = Writer::kVarint;
    w->Room(1 + V);
    w->Byte(version);
    w->Varint(s.profiles_.size());
    for (const ProfileEntry& p : s.profiles_) {
      w->Room(V + 8 + V + 1 + V);
      w->Signed(p.time_ms);
      w->Fixed64(p.id_hash);
      w->Varint(static_cast<uint64_t>(p.tier));
      w->Byte(p.consent ? 1 : 0);
      w->Signed(p.registration_ms);
    }
    w->Room((kNumEventKinds + 7) * V);
    for (int32_t d : s.kind_max_day_) w->Signed(d);
    w->Signed(s.last_event_ms_);
    // The pruned purchases: one zero byte when nothing with an order was pruned.
    const PrunedPurchases& pr = s.pruned_;
    w->Varint(static_cast<uint64_t>(pr.orders));
    if (pr.orders > 0) {
      w->Signed(pr.revenue_micros);
      w->Signed(pr.items);
      w->Signed(pr.first_day);
      w->Signed(pr.last_day);
    }
  }
  static absl::Status DecodeHead(uint8_t version, Reader* r, size_t size, CustomerState* s);
  static absl::Status DecodeWhole(std::string_view bytes, CustomerState* s);
  static absl::Status DecodeDay(int32_t day, std::string_view bytes, CustomerState* s);
};

void CustomerState::Encode(std::string* out) const {
  constexpr size_t V = Writer::kVarint;
  Writer w(out);
  Codec::EncodeHead(*this, kEncodingVersion, &w);
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
    w.Room(V);
    w.Signed(static_cast<int64_t>(b.day) - prev);
    prev = b.day;
    EncodeBucket(b, &w);
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
  auto bad = Corrupt;
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

absl::Status CustomerState::Codec::DecodeHead(uint8_t version, Reader* r, size_t size,
                                              CustomerState* s) {
  uint8_t skip;
  r->Byte(&skip);
  uint64_t n;
  if (!r->Varint(&n) || n > size) return Corrupt("profile count");
  s->profiles_.resize(n);
  for (ProfileEntry& p : s->profiles_) {
    uint64_t tier;
    uint8_t consent;
    if (!r->Signed(&p.time_ms) || !r->Fixed64(&p.id_hash) || !r->Varint(&tier) ||
        !r->Byte(&consent) || !r->Signed(&p.registration_ms)) {
      return Corrupt("profile entry");
    }
    p.tier = static_cast<int32_t>(tier);
    p.consent = consent != 0;
  }
  for (int32_t& d : s->kind_max_day_) {
    int64_t v;
    if (!r->Signed(&v)) return Corrupt("kind days");
    d = static_cast<int32_t>(v);
  }
  if (version >= 2 && !r->Signed(&s->last_event_ms_)) return Corrupt("last event time");
  if (version >= 4) {
    uint64_t orders;
    int64_t first_day = 0, last_day = 0;
    PrunedPurchases& p = s->pruned_;
    if (!r->Varint(&orders) || orders > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return Corrupt("pruned orders");
    p.orders = static_cast<int64_t>(orders);
    if (orders > 0 && (!r->Signed(&p.revenue_micros) || !r->Signed(&p.items) ||
                       !r->Signed(&first_day) || !r->Signed(&last_day) || first_day > last_day ||
                       first_day < std::numeric_limits<int32_t>::min() ||
                       last_day > std::numeric_limits<int32_t>::max()))
      return Corrupt("pruned purchases");
    p.first_day = static_cast<int32_t>(first_day);
    p.last_day = static_cast<int32_t>(last_day);
  }
  return absl::OkStatus();
}

absl::Status CustomerState::Codec::DecodeWhole(std::string_view bytes, CustomerState* s) {
  Reader r(bytes);
  const uint8_t version = static_cast<uint8_t>(bytes[0]);
  if (absl::Status h = DecodeHead(version, &r, bytes.size(), s); !h.ok()) return h;
  if (absl::Status ids = DecodeSeen(version, &r, bytes.size(), &s->seen_); !ids.ok()) return ids;
  uint64_t n;
  if (!r.Varint(&n) || n > bytes.size()) return Corrupt("day count");
  s->days_.resize(n);
  int64_t prev = 0;
  for (DayBucket& b : s->days_) {
    int64_t delta;
    if (!r.Signed(&delta)) return Corrupt("day header");
    b.day = static_cast<int32_t>(prev + delta);
    prev = b.day;
    if (absl::Status d = DecodeBucket(&r, bytes.size(), &b); !d.ok()) return d;
  }
  if (!r.done()) return Corrupt("trailing bytes");
  return absl::OkStatus();
}

absl::Status CustomerState::Decode(std::string_view bytes, CustomerState* out) {
  const uint8_t version = bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]);
  if (version < 1 || version > kEncodingVersion) return Corrupt("unknown encoding version");
  CustomerState s;
  if (absl::Status d = Codec::DecodeWhole(bytes, &s); !d.ok()) return d;
  *out = std::move(s);
  return absl::OkStatus();
}

bool CustomerState::IsHead(std::string_view bytes) {
  return !bytes.empty() && static_cast<uint8_t>(bytes[0]) == kHeadVersion;
}

int32_t CustomerState::TailStart() const {
  const int32_t latest = *std::max_element(kind_max_day_.begin(), kind_max_day_.end());
  return latest == 0 ? std::numeric_limits<int32_t>::min() : latest - kDedupeDays + 1;
}

void CustomerState::DaysIn(int32_t first, int32_t end, std::vector<int32_t>* out) const {
  const size_t from = out->size();
  auto day_less = [](const auto& b, int32_t d) { return b.day < d; };
  for (auto it = std::lower_bound(days_.begin(), days_.end(), first, day_less);
       it != days_.end() && it->day < end; ++it)
    out->push_back(it->day);
  for (const SeenDay& b : seen_)
    if (b.day >= first && b.day < end) out->push_back(b.day);
  std::sort(out->begin() + static_cast<std::ptrdiff_t>(from), out->end());
  out->erase(std::unique(out->begin() + static_cast<std::ptrdiff_t>(from), out->end()), out->end());
}

void CustomerState::TakeChangedParts(std::vector<int32_t>* days, int32_t* tail) {
  const int32_t start = TailStart();
  *tail = parts_.below;
  // Each day marked was before the tail of its time, so before `start`; the
  // state keeps no buffer (most customers mark nothing).
  *days = std::move(parts_.changed);
  parts_.changed = std::vector<int32_t>();
  if (parts_.below >= start) return;
  // Days the head held at the last call and no longer does become parts
  // (none when every day the state holds is in the head: the common case).
  int32_t earliest = days_.empty() ? start : days_.front().day;
  for (const SeenDay& b : seen_) earliest = std::min(earliest, b.day);
  if (earliest < start) {
    const size_t marked = days->size();
    DaysIn(std::max(parts_.below, earliest), start, days);
    std::inplace_merge(days->begin(), days->begin() + static_cast<std::ptrdiff_t>(marked),
                       days->end());
    days->erase(std::unique(days->begin(), days->end()), days->end());
  }
  parts_.below = start;
}

void CustomerState::EncodeHead(std::string* out) const {
  constexpr size_t V = Writer::kVarint;
  Writer w(out);
  Codec::EncodeHead(*this, kHeadVersion, &w);
  // The tail: each day from TailStart() on, as its part would be. No day is
  // after the kinds' latest (Apply), so the tail spans kDedupeDays days: a mask.
  const int32_t start = TailStart();
  uint32_t mask = 0;
  auto day_less = [](const auto& b, int32_t d) { return b.day < d; };
  for (auto it = std::lower_bound(days_.begin(), days_.end(), start, day_less); it != days_.end();
       ++it)
    mask |= 1u << std::min(it->day - start, 31);
  for (const SeenDay& b : seen_)
    if (b.day >= start) mask |= 1u << std::min(b.day - start, 31);
  w.Room(V);
  w.Varint(static_cast<uint64_t>(__builtin_popcount(mask)));
  thread_local std::string part;
  int32_t prev = 0;
  for (uint32_t rest = mask; rest != 0; rest &= rest - 1) {
    const int32_t day = start + __builtin_ctz(rest);
    EncodeDay(day, &part);
    w.Room(2 * V + part.size());
    w.Signed(static_cast<int64_t>(day) - prev);
    prev = day;
    w.Varint(part.size());
    w.Bytes(part);
  }
  w.Finish();
}

bool CustomerState::EncodeDay(int32_t day, std::string* out) const {
  constexpr size_t V = Writer::kVarint;
  auto bucket = std::lower_bound(days_.begin(), days_.end(), day,
                                 [](const DayBucket& b, int32_t d) { return b.day < d; });
  const bool has_bucket = bucket != days_.end() && bucket->day == day;
  // The day's id blocks, one per kind at most: seen_ holds a few blocks (one
  // per kind and day within the dedupe window, sorted by kind, day), so one
  // pass finds them, in kind order.
  std::array<const SeenDay*, kNumEventKinds> blocks{};
  int kinds = 0;
  for (const SeenDay& b : seen_)
    if (b.day == day && kinds < kNumEventKinds) blocks[kinds++] = &b;
  out->clear();
  if (!has_bucket && kinds == 0) return false;
  Writer w(out);
  w.Room(1);
  w.Byte((has_bucket ? kPartBucket : 0) | (kinds > 0 ? kPartIds : 0));
  if (has_bucket) EncodeBucket(*bucket, &w);
  if (kinds > 0) {
    w.Room(V);
    w.Varint(static_cast<uint64_t>(kinds));
    std::vector<uint64_t> ids;
    for (int k = 0; k < kinds; ++k) {
      blocks[k]->ids.SortedIds(&ids);
      w.Room(2 * V + 8 * ids.size());
      w.Varint(static_cast<uint64_t>(blocks[k]->kind));
      w.Varint(ids.size());
      for (uint64_t id : ids) w.Fixed64(id);
    }
  }
  w.Finish();
  return true;
}

absl::Status CustomerState::Codec::DecodeDay(int32_t day, std::string_view bytes,
                                             CustomerState* s) {
  Reader r(bytes);
  uint8_t flags;
  if (!r.Byte(&flags) || (flags & ~(kPartBucket | kPartIds)) != 0 || flags == 0)
    return Corrupt("day part flags");
  if (flags & kPartBucket) {
    DayBucket& b = s->days_.emplace_back();
    b.day = day;
    if (absl::Status d = DecodeBucket(&r, bytes.size(), &b); !d.ok()) return d;
  }
  if (flags & kPartIds) {
    uint64_t kinds;
    if (!r.Varint(&kinds) || kinds == 0 || kinds > kNumEventKinds) return Corrupt("dedupe kinds");
    int64_t prev_kind = -1;
    for (uint64_t k = 0; k < kinds; ++k) {
      uint64_t kind, count;
      if (!r.Varint(&kind) || kind >= kNumEventKinds || static_cast<int64_t>(kind) <= prev_kind ||
          !r.Varint(&count) || count > bytes.size())
        return Corrupt("dedupe block");
      prev_kind = static_cast<int64_t>(kind);
      SeenDay& b = s->seen_.emplace_back();
      b.kind = static_cast<int32_t>(kind);
      b.day = day;
      b.ids.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t id;
        if (!r.Fixed64(&id)) return Corrupt("dedupe id");
        b.ids.insert(id);
      }
    }
  }
  if (!r.done()) return Corrupt("trailing bytes in a day part");
  return absl::OkStatus();
}

absl::Status CustomerState::DecodeParts(std::string_view head, std::span<const DayPart> parts,
                                        CustomerState* out) {
  const uint8_t version = head.empty() ? 0 : static_cast<uint8_t>(head[0]);
  CustomerState s;
  if (version >= 1 && version <= kEncodingVersion) {
    // A whole record written before the per-day layout: its days count as
    // changed, so the next flush writes them as parts under a head.
    if (!parts.empty()) return Corrupt("day parts beside a whole record");
    if (absl::Status d = Codec::DecodeWhole(head, &s); !d.ok()) return d;
    *out = std::move(s);  // parts_.below stays the lowest: no day is a part yet
    return absl::OkStatus();
  }
  if (version != kHeadVersion) return Corrupt("unknown encoding version");
  Reader r(head);
  if (absl::Status h = Codec::DecodeHead(version, &r, head.size(), &s); !h.ok()) return h;
  const int32_t start = s.TailStart();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0 && parts[i].day <= parts[i - 1].day) return Corrupt("day parts out of order");
    if (parts[i].day >= start) return Corrupt("a day part the head holds");
    if (absl::Status d = Codec::DecodeDay(parts[i].day, parts[i].bytes, &s); !d.ok()) return d;
  }
  uint64_t n;
  if (!r.Varint(&n) || n > head.size()) return Corrupt("tail day count");
  int64_t day = 0;
  std::string_view part;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t delta;
    uint64_t len;
    if (!r.Signed(&delta) || !r.Varint(&len) || !r.View(len, &part)) return Corrupt("tail day");
    const int64_t prev = day;
    day += delta;
    if (day < start || (i > 0 && day <= prev) || day > std::numeric_limits<int32_t>::max())
      return Corrupt("tail day order");
    if (absl::Status d = Codec::DecodeDay(static_cast<int32_t>(day), part, &s); !d.ok()) return d;
  }
  if (!r.done()) return Corrupt("trailing bytes in a head");
  s.parts_.below = start;
  // The parts come day by day; the ids are kept by kind, then day.
  std::sort(s.seen_.begin(), s.seen_.end(), SeenDayLess);
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
