// A store and its changelog (featurestore/changelog.h), with an in-memory log
// that behaves as a Kafka partition with transactions: every record and every
// unit's marker takes an offset, a failed Append leaves aborted records that
// are never read. (The Kafka one, against a real broker:
// tests/integration/changelog_test.sh.) What must hold: a store restored from
// the log equals the original key for key; a store behind the log (its last
// flush reached the log, not the disk) catches up; a failed append writes
// nothing; a restore cut short resumes; two histories are refused.
#include "featurestore/changelog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "featurestore/feature_store.h"
#include "featurestore/standby_copy.h"
#include "ops/simulator.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

class MemoryChangelog : public Changelog {
 public:
  struct Entry {
    std::string key, value;
    bool tombstone = false;
    bool marker = false;   // a unit's end (Kafka's commit or abort marker)
    bool aborted = false;  // a record of a failed Append
  };

  absl::StatusOr<int64_t> Append(std::span<const ChangelogRecord> records) override {
    const bool fail = fail_appends > 0;
    for (const ChangelogRecord& r : records) {
      entries.push_back(
          {std::string(r.key), r.tombstone ? "" : std::string(r.value), r.tombstone, false, fail});
    }
    const auto end = static_cast<int64_t>(entries.size());
    entries.push_back({"", "", false, true, fail});
    if (fail) {
      --fail_appends;
      return absl::UnavailableError("changelog: injected append failure");
    }
    ++appends;
    return end;
  }

  absl::StatusOr<int64_t> ReadFrom(
      int64_t from,
      const std::function<absl::Status(std::span<const ChangelogRecord>, int64_t next)>& fn)
      override {
    ++reads;
    const auto end = static_cast<int64_t>(entries.size());
    if (from > end) return absl::FailedPreconditionError("changelog ends before the store's end");
    std::vector<ChangelogRecord> part;
    for (int64_t o = from; o < end; ++o) {
      const Entry& e = entries[static_cast<size_t>(o)];
      if (e.marker || e.aborted) continue;
      if (fail_read_after >= 0 && read_records >= fail_read_after) {
        return absl::UnavailableError("changelog: injected read failure");
      }
      ++read_records;
      part.push_back({e.key, e.value, e.tombstone});
      if (part.size() == 3) {  // units across calls
        if (absl::Status s = fn(part, o + 1); !s.ok()) return s;
        part.clear();
      }
    }
    if (!part.empty()) {
      if (absl::Status s = fn(part, end); !s.ok()) return s;
    }
    return end;
  }
  std::string_view name() const override { return "memory[0]"; }

  int64_t Count(bool tombstones) const {
    int64_t n = 0;
    for (const Entry& e : entries) n += !e.marker && !e.aborted && e.tombstone == tombstones;
    return n;
  }

  std::vector<Entry> entries;
  int fail_appends = 0;
  int64_t fail_read_after = -1;
  int64_t read_records = 0;
  int64_t appends = 0;
  int reads = 0;  // ReadFrom calls
};

using Dump = std::map<std::string, std::string>;

class ChangelogTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<FeatureStore>> Open(const std::string& name, Changelog* log) {
    FeatureStore::Options o;
    o.path = tmp_.Sub(name);
    o.write_back = true;
    o.mark_pending = true;
    o.expire_outside_horizon = true;
    o.changelog = log;
    return FeatureStore::Open(o);
  }
  std::unique_ptr<FeatureStore> MustOpen(const std::string& name, Changelog* log) {
    auto s = Open(name, log);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Every key and value of a closed store but the changelog end (local only).
  Dump Keys(const std::string& name) {
    rocksdb::DB* raw = nullptr;
    EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), tmp_.Sub(name), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    Dump out;
    if (!db) return out;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key() != "m:changelog_end") out[it->key().ToString()] = it->value().ToString();
    }
    return out;
  }
  // 450 days of 2 shops x 60 customers in batches of 150, flushed every
  // third batch, scores delivered for some customers (last scores, pending
  // marks cleared): the horizon prunes early days, so parts are deleted.
  // `each_flush` runs after every flush with its number; a flush that fails
  // Unavailable (an injected append failure) is left to the next one.
  void Feed(FeatureStore* store, const std::function<void(int)>& each_flush = nullptr) {
    SimulatorOptions sim;
    sim.shops = 2;
    sim.customers_per_shop = 60;
    sim.days = 450;
    sim.seed = 77;
    sim.duplicate_rate = 0.02;
    sim.late_rate = 0.02;
    std::vector<v1::Event> batch;
    int64_t offset = 0;
    int batches = 0, flushes = 0;
    absl::Status s = Simulate(sim, [&](const v1::Event& e) -> absl::Status {
      batch.push_back(e);
      if (batch.size() < 150) return absl::OkStatus();
      offset += static_cast<int64_t>(batch.size());
      FeatureStore::ApplyStats stats;
      if (absl::Status a = store->ApplyBatch(batch, {{tp_, offset}}, &stats); !a.ok()) return a;
      batch.clear();
      if (!stats.touched.empty() && batches % 2 == 0) {
        const CustomerKey& k = stats.touched.front();
        absl::Status c = store->ledger().Commit({{k, absl::StrCat("score-", offset)}}, {k},
                                                {{"pass", absl::StrCat(offset)}});
        if (!c.ok()) return c;
      }
      if (++batches % 3 == 0) {
        if (absl::Status f = store->Flush(); !f.ok() && !absl::IsUnavailable(f)) return f;
        if (each_flush) each_flush(++flushes);
      }
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(store->Flush().ok());
  }

  testing::TempDir tmp_{"recur-changelog"};
  const TopicPartition tp_{"shop.purchases", 0};
};

TEST_F(ChangelogTest, AStoreRestoredFromTheLogEqualsTheOriginalKeyForKey) {
  MemoryChangelog log;
  auto store = MustOpen("a", &log);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(log.reads, 1) << "a new store reads the (empty) log once, then sends its first keys";
  Feed(store.get());
  // Every record but the new store's first two keys (format, retention), sent on open.
  const int64_t logged = log.Count(false) + log.Count(true);
  EXPECT_EQ(store->cache_stats().changelog_records + 2, logged);
  store.reset();
  EXPECT_GT(log.appends, 30);
  EXPECT_GT(log.Count(/*tombstones=*/true), 0) << "pruned parts and cleared marks are tombstones";
  const Dump original = Keys("a");
  ASSERT_GT(original.size(), 1000u);

  auto restored = MustOpen("b", &log);
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->cache_stats().restored_records, logged);
  auto offsets = restored->ReadOffsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->at(tp_), (*MustOpen("a", &log)->ReadOffsets()).at(tp_));
  restored.reset();
  EXPECT_EQ(Keys("b"), original);
  // Opening a store that is up to date reads nothing and writes nothing.
  const auto read = log.read_records;
  const size_t entries = log.entries.size();
  ASSERT_NE(MustOpen("b", &log), nullptr);
  EXPECT_EQ(log.read_records, read);
  EXPECT_EQ(log.entries.size(), entries);
}

TEST_F(ChangelogTest, AStoreBehindTheLogCatchesUpWithIt) {
  // The checkpoint at flush 10 is the disk of a store whose later flushes
  // reached the log but not its disk (a crash between the two), or an
  // instance's old copy of a partition that moved away and back.
  MemoryChangelog log;
  auto store = MustOpen("a", &log);
  ASSERT_NE(store, nullptr);
  Feed(store.get(), [&](int flush) {
    if (flush == 10) {
      ASSERT_TRUE(store->Checkpoint(tmp_.Sub("behind")).ok());
    }
  });
  store.reset();
  const Dump behind_before = Keys("behind");
  ASSERT_NE(behind_before, Keys("a"));
  ASSERT_NE(MustOpen("behind", &log), nullptr);
  EXPECT_EQ(Keys("behind"), Keys("a"));
}

TEST_F(ChangelogTest, AFailedAppendWritesNothingAndTheRetryLogsTheSameCut) {
  MemoryChangelog log;
  auto store = MustOpen("a", &log);
  ASSERT_NE(store, nullptr);
  Feed(store.get(), [&](int flush) {
    if (flush == 5) log.fail_appends = 1;  // the 6th flush fails once; the 7th writes it all
  });
  store.reset();
  EXPECT_EQ(log.fail_appends, 0);
  const Dump original = Keys("a");
  ASSERT_NE(MustOpen("b", &log), nullptr);
  EXPECT_EQ(Keys("b"), original);
}

TEST_F(ChangelogTest, AFailedAppendLeavesTheDiskAsItWas) {
  MemoryChangelog log;
  auto store = MustOpen("a", &log);
  ASSERT_NE(store, nullptr);
  Feed(store.get());
  const Dump before = Keys("a");  // read-only, beside the open store
  EventFactory ev("shop-9", "c-new");
  ASSERT_TRUE(
      store->ApplyBatch(std::vector{ev.Purchase(Ms(2026, 3, 1), 10)}, {{tp_, 1'000'000}}).ok());
  log.fail_appends = 1;
  absl::Status failed = store->Flush();
  EXPECT_TRUE(absl::IsUnavailable(failed)) << failed;
  EXPECT_EQ(Keys("a"), before);
  ASSERT_TRUE(store->Flush().ok());  // the retry
  const Dump after = Keys("a");
  EXPECT_TRUE(after.count("cshop-9/c-new"));
  store.reset();
  ASSERT_NE(MustOpen("b", &log), nullptr);
  EXPECT_EQ(Keys("b"), after);
}

TEST_F(ChangelogTest, ARestoreCutShortIsRedoneByTheNextOpen) {
  MemoryChangelog log;
  auto store = MustOpen("a", &log);
  ASSERT_NE(store, nullptr);
  Feed(store.get());
  store.reset();
  for (int64_t cut : {int64_t{5}, int64_t{8'000}}) {
    log.read_records = 0;
    log.fail_read_after = cut;
    auto failed = Open("b", &log);
    EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  }
  log.fail_read_after = -1;
  ASSERT_NE(MustOpen("b", &log), nullptr);
  EXPECT_EQ(Keys("b"), Keys("a"));
}

TEST_F(ChangelogTest, AStoreNeverLoggedIsSentOnceAndTwoHistoriesAreRefused) {
  {
    auto plain = MustOpen("plain", nullptr);  // from before the changelog
    ASSERT_NE(plain, nullptr);
    Feed(plain.get());
  }
  MemoryChangelog log;
  ASSERT_NE(MustOpen("plain", &log), nullptr);
  EXPECT_EQ(log.appends, 1);
  ASSERT_NE(MustOpen("copy", &log), nullptr);
  EXPECT_EQ(Keys("copy"), Keys("plain"));
  ASSERT_NE(MustOpen("plain", &log), nullptr);
  EXPECT_EQ(log.appends, 1) << "sent once";

  // Another store never logged, beside a log that holds a history.
  {
    auto other = MustOpen("other", nullptr);
    ASSERT_NE(other, nullptr);
    EventFactory ev("shop-1", "c-1");
    ASSERT_TRUE(other->ApplyBatch(std::vector{ev.Purchase(Ms(2025, 2, 1), 5)}, {{tp_, 1}}).ok());
    ASSERT_TRUE(other->Flush().ok());
  }
  auto refused = Open("other", &log);
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  EXPECT_NE(refused.status().message().find("never logged"), std::string::npos);
  // A logged store beside a log that ends before it (recreated).
  MemoryChangelog recreated;
  auto behind = Open("plain", &recreated);
  EXPECT_TRUE(absl::IsFailedPrecondition(behind.status())) << behind.status();

  // A logged store written once without its log has left the log's history.
  {
    auto unlogged = MustOpen("copy", nullptr);
    ASSERT_NE(unlogged, nullptr);
    EventFactory ev("shop-1", "c-2");
    ASSERT_TRUE(unlogged->ApplyBatch(std::vector{ev.Purchase(Ms(2026, 3, 1), 7)}, {{tp_, 1}}).ok());
    ASSERT_TRUE(unlogged->Flush().ok());
  }
  auto diverged = Open("copy", &log);
  EXPECT_TRUE(absl::IsFailedPrecondition(diverged.status())) << diverged.status();
}

// A standby's copy (featurestore/standby_copy.h) tails the log while the
// owner writes: its first catch-up is a restore, later ones take what the
// flushes since appended. When the partition moves to it, the store opens on
// the copy and reads only the records after the copy's last catch-up, and
// equals the owner's key for key.
TEST_F(ChangelogTest, AStandbyCopyBecomesTheStoreReadingOnlyWhatItHadNotCaughtUp) {
  MemoryChangelog log;
  auto store = MustOpen("owner", &log);
  ASSERT_NE(store, nullptr);
  std::unique_ptr<StandbyCopy> copy;
  int64_t tailed = 0, catch_ups = 0;
  Feed(store.get(), [&](int flush) {
    if (flush == 4) {
      auto opened = StandbyCopy::Open(tmp_.Sub("standby"), &log);
      ASSERT_TRUE(opened.ok()) << opened.status();
      copy = std::move(*opened);
    }
    if (copy == nullptr || flush % 3 != 1 || flush > 40) return;
    auto applied = copy->CatchUp();
    ASSERT_TRUE(applied.ok()) << applied.status();
    if (catch_ups++ > 0) tailed += *applied;
    EXPECT_EQ(copy->end(), static_cast<int64_t>(log.entries.size()));
  });
  ASSERT_NE(copy, nullptr);
  EXPECT_GT(tailed, 0);
  const int64_t end = copy->end();
  copy.reset();
  store.reset();
  // What the log got after the copy's last catch-up.
  int64_t behind = 0;
  for (size_t o = static_cast<size_t>(end); o < log.entries.size(); ++o)
    behind += !log.entries[o].marker && !log.entries[o].aborted;
  ASSERT_GT(behind, 0);
  const int64_t total = log.Count(false) + log.Count(true);
  ASSERT_LT(behind, total / 2);

  auto moved = MustOpen("standby", &log);
  ASSERT_NE(moved, nullptr);
  EXPECT_EQ(moved->cache_stats().restored_records, behind);
  moved.reset();
  EXPECT_EQ(Keys("standby"), Keys("owner"));
}

// A directory holding a store that was never logged is not taken as a copy
// (nor overwritten): the copy's catch-up says so.
TEST_F(ChangelogTest, AStandbyCopyRefusesAStoreNeverLogged) {
  MemoryChangelog log;
  ASSERT_NE(MustOpen("owner", &log), nullptr);  // the log holds the owner's first keys
  {
    auto unlogged = MustOpen("old", nullptr);
    ASSERT_NE(unlogged, nullptr);
  }
  const Dump before = Keys("old");
  auto copy = StandbyCopy::Open(tmp_.Sub("old"), &log);
  ASSERT_TRUE(copy.ok()) << copy.status();
  auto applied = (*copy)->CatchUp();
  EXPECT_EQ(applied.status().code(), absl::StatusCode::kFailedPrecondition) << applied.status();
  EXPECT_NE(std::string(applied.status().message()).find("never logged"), std::string::npos);
  copy->reset();
  EXPECT_EQ(Keys("old"), before);
}

// A copy no longer wanted is deleted with the store's lock held: never while
// a store is open on the directory (a copy, or an owner on a shared disk).
TEST_F(ChangelogTest, DestroyingACopyNeedsItsStoreClosedAndLeavesNothing) {
  MemoryChangelog log;
  ASSERT_NE(MustOpen("owner", &log), nullptr);
  const std::string path = tmp_.Sub("copy");
  auto copy = StandbyCopy::Open(path, &log);
  ASSERT_TRUE(copy.ok()) << copy.status();
  ASSERT_TRUE((*copy)->CatchUp().ok());
  const Dump held = Keys("owner");
  EXPECT_FALSE(StandbyCopy::Destroy(path).ok());  // open here: its lock is held
  EXPECT_TRUE(std::filesystem::exists(path + "/CURRENT"));
  copy->reset();
  {
    auto owner = MustOpen("copy", &log);  // opened as a store: the lock again
    ASSERT_NE(owner, nullptr);
    EXPECT_FALSE(StandbyCopy::Destroy(path).ok());
  }
  ASSERT_TRUE(StandbyCopy::Destroy(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(StandbyCopy::Destroy(path).ok());  // nothing there: nothing to do
  EXPECT_EQ(Keys("owner"), held);
}

// Only a store in the changelog's history may be deleted when its partition
// lives elsewhere (StandbyKeeper): one logged holds m:changelog_end, one never
// logged (no changelog) does not, and neither does a missing directory count.
TEST_F(ChangelogTest, OnlyAStoreTheLogHoldsAllOfCountsAsLogged) {
  MemoryChangelog log;
  ASSERT_NE(MustOpen("logged", &log), nullptr);
  ASSERT_NE(MustOpen("unlogged", nullptr), nullptr);
  auto logged = StandbyCopy::IsLogged(tmp_.Sub("logged"));
  ASSERT_TRUE(logged.ok()) << logged.status();
  EXPECT_TRUE(*logged);
  auto unlogged = StandbyCopy::IsLogged(tmp_.Sub("unlogged"));
  ASSERT_TRUE(unlogged.ok()) << unlogged.status();
  EXPECT_FALSE(*unlogged);
  EXPECT_FALSE(StandbyCopy::IsLogged(tmp_.Sub("nothing-here")).ok());
}

}  // namespace
}  // namespace recur
