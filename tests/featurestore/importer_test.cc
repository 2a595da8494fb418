// Importer over a real StateDir in a temporary directory: every line applied
// once across an interrupted run and its resumption, bad lines rejected with
// their reason and position without stopping the import.
#include "featurestore/importer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "featurestore/catalog.h"
#include "featurestore/state_dir.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

class ImporterTest : public ::testing::Test {
 protected:
  std::unique_ptr<StateDir> OpenDir(int32_t partitions, uint32_t max_events_per_day = 0) {
    StateDir::Options o;
    o.path = dir_.Sub("state");
    o.partitions = partitions;
    o.store.max_events_per_day = max_events_per_day;
    auto dir = StateDir::Open(o);
    EXPECT_TRUE(dir.ok()) << dir.status();
    return dir.ok() ? std::move(*dir) : nullptr;
  }

  // Adds lines[0, n) as positions 0..n-1; Finish() unless `interrupted`.
  Importer::Summary Import(StateDir* dir, const std::vector<absl::StatusOr<v1::Event>>& lines,
                           size_t n, size_t batch_size, bool interrupted = false,
                           std::string source = "file:/events.jsonl") {
    Importer::Options o;
    o.source = std::move(source);
    o.batch_size = batch_size;
    o.on_reject = [&](int64_t position, std::string_view reason, const absl::Status& why) {
      rejections_.emplace_back(position, std::string(reason));
      EXPECT_FALSE(why.ok());
    };
    auto imp = Importer::Start(dir, o);
    EXPECT_TRUE(imp.ok()) << imp.status();
    if (!imp.ok()) return {};
    for (size_t i = 0; i < n; ++i) {
      absl::Status s = (*imp)->Add(static_cast<int64_t>(i), lines[i]);
      EXPECT_TRUE(s.ok()) << s;
    }
    if (!interrupted) {
      absl::Status s = (*imp)->Finish();
      EXPECT_TRUE(s.ok()) << s;
    }
    return (*imp)->summary();
  }

  double Orders365d(StateDir* dir, const CustomerKey& key, int64_t as_of) {
    auto f = dir->StoreFor(key.Encode())->ComputeFeatures(key, as_of);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? f->values[kOrders365d] : -1;
  }

  testing::TempDir dir_{"recur-importer"};
  std::vector<std::pair<int64_t, std::string>> rejections_;
};

// Six purchases of three customers (two each), on distinct days.
std::vector<absl::StatusOr<v1::Event>> SixPurchases() {
  EventFactory a("shop-1", "c-a"), b("shop-1", "c-b"), c("shop-2", "c-c");
  return {a.Purchase(Ms(2025, 3, 1), 10), b.Purchase(Ms(2025, 3, 1), 20),
          c.Purchase(Ms(2025, 3, 2), 30), a.Purchase(Ms(2025, 3, 3), 40),
          b.Purchase(Ms(2025, 3, 4), 50), c.Purchase(Ms(2025, 3, 5), 60)};
}

TEST_F(ImporterTest, ImportsEveryLineOnceAcrossPartitions) {
  auto dir = OpenDir(2);
  const auto lines = SixPurchases();
  Importer::Summary s = Import(dir.get(), lines, lines.size(), /*batch_size=*/4);
  EXPECT_EQ(s.applied, 6);
  EXPECT_EQ(s.duplicates, 0);
  EXPECT_EQ(s.rejected, 0);
  EXPECT_EQ(s.skipped, 0);
  for (const char* c : {"c-a", "c-b"})
    EXPECT_EQ(Orders365d(dir.get(), {"shop-1", c}, Ms(2025, 3, 5)), 2);
  EXPECT_EQ(Orders365d(dir.get(), {"shop-2", "c-c"}, Ms(2025, 3, 5)), 2);
  // Every store records the position reached, also one that got no event of the last batch.
  for (int32_t p = 0; p < 2; ++p) {
    auto offsets = dir->store(p)->ReadOffsets();
    ASSERT_TRUE(offsets.ok());
    EXPECT_EQ(offsets->at(TopicPartition{"file:/events.jsonl", 0}), 6) << "partition " << p;
  }
}

TEST_F(ImporterTest, ResumesAnInterruptedImportWithoutDoubleCounting) {
  auto dir = OpenDir(2);
  const auto lines = SixPurchases();
  // Interrupted after 5 lines with batches of 3: lines 0-2 are stored, 3-4 lost.
  Importer::Summary first = Import(dir.get(), lines, 5, /*batch_size=*/3, /*interrupted=*/true);
  EXPECT_EQ(first.applied, 3);

  Importer::Summary second = Import(dir.get(), lines, lines.size(), /*batch_size=*/3);
  EXPECT_EQ(second.skipped, 3);     // lines 0-2, already stored
  EXPECT_EQ(second.applied, 3);     // lines 3-5, once each
  EXPECT_EQ(second.duplicates, 0);  // nothing was offered twice (dedupe did not have to hide it)
  EXPECT_EQ(Orders365d(dir.get(), {"shop-1", "c-a"}, Ms(2025, 3, 5)), 2);

  // A third run over the same source has nothing left to do.
  Importer::Summary third = Import(dir.get(), lines, lines.size(), /*batch_size=*/3);
  EXPECT_EQ(third.skipped, 6);
  EXPECT_EQ(third.applied, 0);
  EXPECT_EQ(third.duplicates, 0);

  // Another source starts from its line 0; the store's dedupe counts the repeats once.
  Importer::Summary other = Import(dir.get(), lines, lines.size(), 3, false, "file:/copy.jsonl");
  EXPECT_EQ(other.skipped, 0);
  EXPECT_EQ(other.applied, 0);
  EXPECT_EQ(other.duplicates, 6);
  EXPECT_EQ(Orders365d(dir.get(), {"shop-1", "c-a"}, Ms(2025, 3, 5)), 2);
}

TEST_F(ImporterTest, RejectsBadLinesWithReasonAndPositionAndKeepsGoing) {
  auto dir = OpenDir(1);
  EventFactory ev("shop-1", "c-a");
  v1::Event no_id = ev.Purchase(Ms(2025, 6, 2), 5);
  no_id.clear_event_id();
  const std::vector<absl::StatusOr<v1::Event>> lines = {
      ev.Purchase(Ms(2025, 6, 1), 10),
      absl::InvalidArgumentError("not an Event in JSON: unexpected token"),
      no_id,
      ev.Purchase(Ms(2023, 1, 1), 7),  // more than 400 days before 2025-06-01
      ev.Purchase(Ms(2025, 6, 3), 20),
  };
  Importer::Summary s = Import(dir.get(), lines, lines.size(), /*batch_size=*/100);
  EXPECT_EQ(s.applied, 2);
  EXPECT_EQ(s.rejected, 3);
  EXPECT_EQ(s.rejected_by_reason.at("undecodable"), 1);
  EXPECT_EQ(s.rejected_by_reason.at("missing_id"), 1);
  EXPECT_EQ(s.rejected_by_reason.at("too_late"), 1);
  const std::vector<std::pair<int64_t, std::string>> want = {
      {1, "undecodable"}, {2, "missing_id"}, {3, "too_late"}};
  EXPECT_EQ(rejections_, want);
  EXPECT_EQ(Orders365d(dir.get(), {"shop-1", "c-a"}, Ms(2025, 6, 3)), 2);
  // Rejected lines count as read: a rerun skips every decodable line (the store
  // holds position 5) and can only reject the undecodable one again.
  rejections_.clear();
  Importer::Summary again = Import(dir.get(), lines, lines.size(), 100);
  EXPECT_EQ(again.skipped, 4);
  EXPECT_EQ(again.applied, 0);
  EXPECT_EQ(again.rejected, 1);
  EXPECT_EQ(again.rejected_by_reason.at("undecodable"), 1);
}

// What `recur inspect --all` relies on: a customer's state computed with the
// store's horizon_first_day() gives what FeatureStore::ComputeFeatures (and so
// `recur inspect KEY` and the scorer) gives, also for a customer whose old days
// are expired but not yet pruned (not touched since the horizon moved). A horizon
// derived from the as-of instead (what inspect --all did) counts them.
TEST_F(ImporterTest, StoreHorizonIgnoresExpiredButUnprunedDaysAsComputeFeaturesDoes) {
  auto dir = OpenDir(1);
  EventFactory a("shop-1", "c-a"), b("shop-1", "c-b");
  const int64_t day0 = Ms(2025, 1, 1);
  const std::vector<absl::StatusOr<v1::Event>> early = {a.Purchase(day0, 10), b.Purchase(day0, 10)};
  const std::vector<absl::StatusOr<v1::Event>> late = {b.Purchase(day0 + 500 * kMillisPerDay, 10)};
  Import(dir.get(), early, early.size(), 100, false, "file:/early.jsonl");
  Import(dir.get(), late, late.size(), 100, false, "file:/late.jsonl");  // moves the horizon
  FeatureStore* store = dir->store(0);
  const int64_t as_of = day0 + 300 * kMillisPerDay;  // inside the horizon
  const int32_t horizon = store->horizon_first_day();
  ASSERT_GT(horizon, DayOf(day0));

  const CustomerKey key_a{"shop-1", "c-a"};
  auto state = store->GetState(key_a);
  ASSERT_TRUE(state.ok()) << state.status();
  auto online = store->ComputeFeatures(key_a, as_of);
  ASSERT_TRUE(online.ok()) << online.status();
  const Features with_store_horizon = state->ComputeFeatures(as_of, horizon);
  EXPECT_EQ(with_store_horizon.values[kOrders365d], online->values[kOrders365d]);
  EXPECT_EQ(with_store_horizon.values[kOrders365d], 0);
  // The day-0 order is still stored: the as-of's own horizon would count it.
  const Features with_as_of_horizon =
      state->ComputeFeatures(as_of, DayOf(as_of) - kDefaultRetentionDays + 1);
  EXPECT_EQ(with_as_of_horizon.values[kOrders365d], 1);
}

TEST_F(ImporterTest, LinesBeyondTheDailyCapAreRejectedAsRateLimited) {
  // Cap 2: three purchases of c-1 on one day (lines 0, 1, 3) and one of c-2
  // (line 2). Line 3 is rejected as rate_limited, with its position, whatever
  // the batch size; the rest are applied.
  for (size_t batch : {size_t{1}, size_t{10}}) {
    SCOPED_TRACE(batch);
    std::filesystem::remove_all(dir_.Sub("state"));
    rejections_.clear();
    auto dir = OpenDir(2, /*max_events_per_day=*/2);
    ASSERT_NE(dir, nullptr);
    EventFactory c1("shop-1", "c-1"), c2("shop-1", "c-2");
    std::vector<absl::StatusOr<v1::Event>> lines = {
        c1.Purchase(Ms(2024, 3, 1, 8), 10), c1.Purchase(Ms(2024, 3, 1, 9), 10),
        c2.Purchase(Ms(2024, 3, 1, 9), 10), c1.Purchase(Ms(2024, 3, 1, 10), 10)};
    Importer::Summary sum = Import(dir.get(), lines, lines.size(), batch);
    EXPECT_EQ(sum.applied, 3);
    EXPECT_EQ(sum.rejected, 1);
    EXPECT_EQ(sum.rejected_by_reason.at("rate_limited"), 1);
    EXPECT_EQ(rejections_, (std::vector<std::pair<int64_t, std::string>>{{3, "rate_limited"}}));
    EXPECT_EQ(Orders365d(dir.get(), {"shop-1", "c-1"}, Ms(2024, 3, 2)), 2);
  }
}

}  // namespace
}  // namespace recur
