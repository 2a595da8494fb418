// The `recur run` daemon: one loop over a RecordSource, the BatchBuilder, the Committer, the
// PartitionStores and the ScoreStage. Guarantees: pipeline.h; the parts: streams/README.md.
#include "streams/pipeline.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/sync_point.h"
#include "featurestore/changelog.h"
#include "spdlog/spdlog.h"
#include "streams/apply_stage.h"
#include "streams/batch_builder.h"
#include "streams/broker_watch.h"
#include "streams/committer.h"
#include "streams/input_positions.h"
#include "streams/kafka_source.h"
#include "streams/partition_stores.h"
#include "streams/pipeline_stats.h"
#include "streams/retry.h"
#include "streams/score_worker.h"

namespace recur {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

class PipelineImpl final : public Pipeline {
 public:
  explicit PipelineImpl(PipelineOptions o)
      : options_(std::move(o)),
        builder_(options_.decoder, options_.stop_offsets, options_.topics),
        stores_(StoresOptions(options_)) {}

  // `source` null: a KafkaSource, subscribed last (nothing may be assigned before the
  // rest exists). `dlq` null: the producer.
  absl::Status Init(std::unique_ptr<RecordSource> source, DeadLetterSink* dlq) {
    KafkaSource* kafka = nullptr;
    if (source == nullptr) {
      auto created = KafkaSource::Create(
          {options_.kafka, options_.group_id, options_.topics.inputs(), options_.cooperative});
      if (!created.ok()) return created.status();
      kafka = created->get();
      source = std::move(*created);
    }
    source_ = std::move(source);
    if (kafka && RunsStandbyKeeper(options_))
      stores_.StartStandby(StandbyOptionsFor(options_, kafka));
    auto producer = Producer::Create(ProducerProperties(options_.kafka));
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
    producer_sink_ = std::make_unique<ProducerSink>(producer_.get());
    CommitterOptions committing;
    committing.topics = options_.topics;
    committer_ = std::make_unique<Committer>(dlq != nullptr ? dlq : producer_sink_.get(),
                                             options_.topics.dlq, &stores_, committing);
    ApplyStage::Options applying{options_.max_retries, options_.pipelined, nullptr, nullptr};
    if (FlushEveryBatch()) applying.flush = [this] { return stores_.FlushAll(); };
    apply_ = std::make_unique<ApplyStage>(committer_.get(), std::move(applying));
    // Scores' own producer: served only on the scoring thread (the committer flushes the DLQ's).
    auto score_producer = Producer::Create(ProducerProperties(options_.kafka));
    if (!score_producer.ok()) return score_producer.status();
    score_producer_ = std::move(*score_producer);
    auto stage =
        ScoreStage::Create(options_.scoring, options_.topics.scores, score_producer_.get());
    if (!stage.ok()) return stage.status();
    scoring_ = std::make_unique<ScoreWorker>(
        std::move(*stage), ScoreWorker::Options{options_.score_queue, options_.max_retries});
    scoring_active_ = scoring_->stats().active;
    return kafka != nullptr ? kafka->Subscribe() : absl::OkStatus();
  }

  absl::Status Run(const std::atomic<bool>& stop) override {
    StatsInterval stats_interval;  // the DLQ rate of each stats line
    auto last_progress = Clock::now();
    idle_since_ = Clock::now();
    while (!stop.load() && fatal_.ok()) {
      PollBurst();
      if (fatal_.ok() && apply_->busy() && apply_->done()) fatal_ = FinishApply();
      if (fatal_.ok() && stores_.opening_done()) fatal_ = FinishOpening();
      const Batch& batch = builder_.batch();
      if (fatal_.ok() && !batch.empty() &&
          (batch.count >= options_.batch_max_events ||
           MsSince(batch_first_) >= options_.batch_linger_ms || AllAtEnd())) {
        // The batch before it first, then this one is applied while the loop reads on.
        fatal_ = FinishApply();
        if (fatal_.ok()) StartApply();
      }
      if (!apply_->busy() && fatal_.ok()) {            // between batches: nothing is being applied
        if (builder_.empty()) fatal_ = ScoringStep();  // reload, pending, re-scoring
        if (fatal_.ok()) fatal_ = FlushOnTheClock();
      }
      if (absl::Status s = broker_.Check(*source_, options_.broker_down_timeout_s); !s.ok())
        fatal_ = s;
      if (MsSince(last_share_) >= 100) ShareCounters();  // for other threads, ten times a second
      if (options_.stats_interval_s > 0 && stats_interval.Due(options_.stats_interval_s)) {
        spdlog::info("stats {}", stats_interval.Line(StatsJson()));
      }
      if (options_.exit_when_idle_ms > 0 && Idle() && AllAtEnd() &&
          MsSince(idle_since_) >= options_.exit_when_idle_ms && scoring_->stats().passing.empty()) {
        spdlog::info("caught up on every assigned partition and idle for {} ms: exiting",
                     options_.exit_when_idle_ms);
        break;
      }
      if (ChangelogFenced(fatal_)) Revoke(nullptr, /*fenced=*/true);
      if (options_.on_progress && MsSince(last_progress) >= options_.progress_interval_ms) {
        last_progress = Clock::now();
        options_.on_progress({counters_, inputs_.positions()});
      }
      // Bounded run: the batch that reached the last stop offset is committed
      // and ScoringStep ran after it (above), so the stores are final.
      if (builder_.bounded() && Idle() && fatal_.ok() && AllStopped()) {
        spdlog::info("every input partition reached its stop offset: exiting");
        break;
      }
    }
    if (fatal_.ok()) fatal_ = CommitNow();
    if (fatal_.ok() && !unscored_.empty()) {
      fatal_ = WithRetries("scores", Retry(), [this] { return ScoreUnscored(); });
    }
    if (fatal_.ok()) fatal_ = DrainScores();
    // Leaving the group: give the partitions up as on a revocation, then close.
    closing_ = true;
    Revoke();
    if (absl::Status s = source_->Close(); !s.ok()) fatal_ = s;
    ShareCounters();
    if (fatal_.ok()) spdlog::info("stopped cleanly: {}", StatsJson());
    return fatal_;
  }

  PipelineCounters counters() const override { return shared_.counters(); }
  std::string StatsJson() const override { return shared_.json(); }

  absl::StatusOr<CustomerLookup> Lookup(const CustomerKey& key,
                                        std::optional<int64_t> as_of_ms) const override {
    return stores_.Lookup(key, as_of_ms);
  }

 private:
  // ---- Source events ------------------------------------------------------

  // Up to kBurst events, so the clock checks run once per burst, not per record;
  // a burst ends at a full batch or any event but a record.
  void PollBurst() {
    constexpr int kBurst = 256;
    bool records = false;
    for (int i = 0; i < kBurst && fatal_.ok(); ++i) {
      // While a batch is applied, wait briefly: its scores follow once it is done.
      std::optional<SourceEvent> e = source_->Poll(i > 0 ? 0 : (apply_->busy() ? 1 : 50));
      if (!e) break;
      Handle(*e);
      if (e->kind != SourceEvent::kRecord) break;
      records = true;
      if (builder_.batch().count >= options_.batch_max_events) break;
    }
    if (records) idle_since_ = Clock::now();
  }

  void Handle(const SourceEvent& e) {
    if (e.kind != SourceEvent::kRecord) inputs_.Interrupt();
    switch (e.kind) {
      case SourceEvent::kAssigned:
        Assign(e.partitions, e.incremental);
        return;
      case SourceEvent::kRevoked:
        Revoke(e.incremental ? &e.partitions : nullptr);
        return;
      case SourceEvent::kBrokerDown:
        inputs_.ForgetEnds();  // the ends are unknown until the broker is back
        broker_.Down(e.status);
        return;
      case SourceEvent::kFatal:
        fatal_ = e.status;
        return;
      case SourceEvent::kEnd:
        if (!inputs_.AtEnd(e.tp)) return;  // fetched before a revocation
        if (builder_.AtEnd(e.tp, e.offset)) Stopped(e.tp, builder_.empty());
        broker_.Up(/*log=*/false);
        return;
      case SourceEvent::kRecord:
        if (!inputs_.Record(e.tp)) return;  // fetched before a revocation
        AddRecord(e.tp, e.record);
        return;
    }
  }

  void AddRecord(const TopicPartition& tp, const RawRecord& r) {
    broker_.Up(/*log=*/true);
    const bool was_empty = builder_.empty();
    BatchBuilder::Added added = builder_.Add(r);
    if (!added.counted) {  // at or beyond the stop offset
      if (added.stopped) Stopped(tp, was_empty);
      return;
    }
    if (was_empty) batch_first_ = Clock::now();
    ++counters_.events_in;
    ++counters_.consumed_by_topic[tp.topic];
    inputs_.Consumed(r.offset);
    if (added.stopped) Stopped(tp, /*was_empty=*/false);
    if (added.late) {
      ++counters_.late;
      ++counters_.late_by_topic[tp.topic];
    }
    if (added.dead_reason) ++counters_.dlq[*added.dead_reason];
  }

  // A bounded run read `tp` to its stop offset (in the batch): stop fetching it.
  void Stopped(const TopicPartition& tp, bool was_empty) {
    auto stop = options_.stop_offsets.find(tp);
    if (stop != options_.stop_offsets.end()) {
      if (was_empty && !builder_.empty()) batch_first_ = Clock::now();
      inputs_.Stopped(tp, stop->second);
    }
    source_->Pause(tp);
  }

  // Opens the store of every assigned partition number and starts each input
  // partition at the offset stored there. A cooperative assignment that adds
  // numbers to open ones opens their stores on a thread of its own (a restore
  // can take seconds): the rebalance is answered with nothing, the open ones are
  // read on, and FinishOpening (from the loop) adds the new ones once open.
  void Assign(const std::vector<TopicPartition>& parts, bool incremental) {
    std::vector<std::pair<TopicPartition, int64_t>> starts;
    // Failed: take nothing (a changelog opened would fence the partition's owner).
    absl::Status s = fatal_.ok() ? FinishOpening() : fatal_;  // one opening at a time
    if (s.ok()) s = FinishApply();  // (after a revocation: none in flight)
    const std::set<int32_t> numbers = PartitionNumbers(parts);
    const size_t assigned = numbers.size() + stores_.open().size();
    if (s.ok() && incremental && !stores_.open().empty() && !parts.empty()) {
      stores_.StartOpening(numbers, assigned);  // (it logs)
      opening_parts_ = parts;
    } else if (s.ok()) {
      auto opened = stores_.OpenAll(numbers, assigned);
      s = opened.ok() ? StartReading(parts, *opened, &starts) : opened.status();
    }
    if (!s.ok()) fatal_ = s, starts.clear();  // take nothing
    if (absl::Status a = source_->Assign(starts); !a.ok())
      spdlog::warn("{}", std::string(a.message()));
  }

  // Waits for the stores Assign began to open (if any) and adds their partitions
  // to the consumer's, from the offsets stored there; with `fatal_` set, or on a
  // failure, nothing is added.
  absl::Status FinishOpening() {
    if (!stores_.opening()) return absl::OkStatus();
    absl::Status s = FinishApply();  // a batch being applied reads the map of open stores
    auto opened = stores_.FinishOpening();
    if (s.ok()) s = opened.status();
    const std::vector<TopicPartition> parts = std::exchange(opening_parts_, {});
    std::vector<std::pair<TopicPartition, int64_t>> starts;
    if (s.ok() && fatal_.ok()) s = StartReading(parts, *opened, &starts);
    if (!s.ok() || !fatal_.ok()) return s;
    if (absl::Status a = source_->Assign(starts); !a.ok())
      spdlog::warn("{}", std::string(a.message()));
    return absl::OkStatus();
  }

  // The start offset of each of `parts` (stored in their open stores); the stores
  // in `opened` (opened now) are handed to the scoring stage first.
  absl::Status StartReading(const std::vector<TopicPartition>& parts,
                            const std::set<int32_t>& opened,
                            std::vector<std::pair<TopicPartition, int64_t>>* starts) {
    const std::set<int32_t> numbers = PartitionNumbers(parts);
    std::map<int32_t, OffsetMap> stored;
    for (int32_t p : numbers) {
      FeatureStore* store = stores_.Get(p);
      if (opened.count(p)) {
        absl::Status s =
            scoring_->Exclusive([&](ScoreStage& stage) { return stage.OpenStore(p, store); });
        if (!s.ok()) return s;
        // Customers a previous owner committed but whose scores were not confirmed.
        if (scoring_->stats().active && options_.score_touched) {
          auto pending = store->ledger().ReadPending();
          if (!pending.ok()) return pending.status();
          if (!pending->empty()) {
            spdlog::info(
                "partition {}: {} customers were touched but their scores not confirmed "
                "before the last stop: scoring them first",
                p, pending->size());
            unscored_[p].keys.insert(pending->begin(), pending->end());
          }
        }
      }
      auto offsets = store->ReadOffsets();
      if (!offsets.ok()) return offsets.status();
      stored[p] = *offsets;
      auto times = store->ReadStreamTimes();
      if (!times.ok()) return times.status();
      for (const auto& [tp, t] : *times) builder_.SetStreamTime(tp, t);
    }
    *starts = StartOffsets(parts, stored, options_.start_offsets);
    inputs_.Assign(*starts);
    if (revoked_at_) {  // (eager: every partition waited since the revocation)
      spdlog::info("rebalance: consumption paused {} ms", MsSince(*revoked_at_));
      revoked_at_.reset();
    }
    if (parts.empty()) return absl::OkStatus();  // a cooperative rebalance that added nothing
    spdlog::info("assigned {} partitions (partition numbers {}), resuming at the stored offsets",
                 parts.size(), absl::StrJoin(numbers, ","));
    return absl::OkStatus();
  }

  // Finishes what was consumed, then gives partitions away: all on an eager revocation
  // and when leaving, `some` on a cooperative one (the others are read on). `fenced`
  // (ChangelogFenced: taken over unannounced): what was applied since the last flush is
  // dropped (the new owner reads it again), the stores close, the consumer rejoins.
  void Revoke(const std::vector<TopicPartition>* some = nullptr, bool fenced = false) {
    const auto start = Clock::now();
    if (!closing_ && some == nullptr && !fenced) revoked_at_ = start;  // paused until assigned
    if (fenced) {
      spdlog::warn("{}: giving every partition up unflushed and rejoining the group",
                   std::string(fatal_.message()));
      fatal_ = absl::OkStatus();
      if (apply_->busy()) apply_->Finish();  // dropped with the rest
    } else {
      // The batch in flight is waited for even after a failure (the stores close).
      if (absl::Status s = fatal_.ok() ? CommitNow() : FinishApply(); !s.ok() && fatal_.ok())
        fatal_ = s;
      if (fatal_.ok()) fatal_ = DrainScores();  // in-flight scores refer to the stores
      if (fatal_.ok()) fatal_ = FlushStores();
    }
    // A store still opening is waited for: its partitions are read from its
    // offsets or given up with the rest (the consumer unassigns only what it has).
    if (absl::Status s = FinishOpening(); !s.ok() && fatal_.ok()) fatal_ = s;
    if (absl::Status s = fenced ? source_->Rejoin() : source_->Unassign(); !s.ok()) {
      if (fenced) fatal_ = s;
      spdlog::warn("{}", std::string(s.message()));
    }
    std::set<int32_t> numbers;
    if (some == nullptr) {
      for (const auto& [p, store] : stores_.open()) numbers.insert(p);
      builder_.Reset();
      inputs_.Clear();
    } else {
      numbers = PartitionNumbers(*some);
      inputs_.Remove(*some);
    }
    scoring_
        ->Exclusive([&](ScoreStage& stage) {
          for (int32_t p : numbers) stage.CloseStore(p);
          return absl::OkStatus();
        })
        .IgnoreError();  // a scoring failure is reported by Run (fatal_)
    // The pending marks stay in the stores for the next owner.
    for (int32_t p : numbers) unscored_.erase(p), force_rescore_.erase(p);
    if (some == nullptr) {
      stores_.CloseAll();
      if (!closing_) spdlog::info("partitions revoked, stores closed");
    } else if (stores_.Close(numbers); !numbers.empty()) {
      spdlog::info(
          "partition numbers {} revoked, their stores closed; {} stay (rebalance: consumption "
          "paused {} ms)",
          absl::StrJoin(numbers, ","), stores_.open().size(), MsSince(start));
    }
  }

  // ---- Commit ---------------------------------------------------------------

  RetryPolicy Retry() { return {options_.max_retries, &counters_.retries, nullptr}; }

  // Write-through: every committed batch is durable before the next.
  bool FlushEveryBatch() const { return !options_.write_back || options_.commit_interval_ms <= 0; }

  // Makes every applied batch durable: one WriteBatch per store with the
  // changed customers and their offsets (FeatureStore::Flush).
  absl::Status FlushStores() {
    last_flush_ = Clock::now();
    if (stores_.open().empty()) return absl::OkStatus();
    absl::Status s = WithRetries("flush", Retry(), [this] { return stores_.FlushAll(); });
    if (!s.ok()) return s;
    ++counters_.flushes;
    counters_.flush_ms += MsSince(last_flush_);
    // Tests stop here: the stores hold everything applied so far.
    RECUR_SYNC_POINT("Pipeline::AfterFlush");
    return absl::OkStatus();
  }

  // Between batches, every commit interval: a flush on a thread of its own (the loop goes
  // on; write-through is durable per batch). One that failed is done again, with retries.
  absl::Status FlushOnTheClock() {
    if (auto done = stores_.FinishedFlush()) {
      if (!done->status.ok()) {
        spdlog::warn("flush failed ({}); again", std::string(done->status.message()));
        return FlushStores();
      }
      ++counters_.flushes;
      counters_.flush_ms += done->ms;
      RECUR_SYNC_POINT("Pipeline::AfterFlush");  // as of when it started
    }
    if (!FlushEveryBatch() && MsSince(last_flush_) >= options_.commit_interval_ms &&
        stores_.StartFlush()) {
      last_flush_ = Clock::now();
    }
    return absl::OkStatus();
  }

  // Nothing consumed waits to be applied, nothing is being applied.
  bool Idle() const { return builder_.empty() && !apply_->busy() && !stores_.opening(); }

  // Hands the batch in builder_ to the apply stage; the pipelined loop reads on meanwhile.
  void StartApply() { apply_->Start(builder_.TakeBatch(), batch_first_); }

  // Waits for the batch in the apply stage (if any), then scores what it touched
  // and records Kafka's committed offsets (monitoring only).
  absl::Status FinishApply() {
    if (!apply_->busy()) return absl::OkStatus();
    const auto waiting = Clock::now();
    ApplyStage::Outcome o = apply_->Finish();
    counters_.apply_wait_ms += MsSince(waiting);
    counters_.apply_ms += o.apply_ms;
    counters_.flushes += o.flushes;
    counters_.retries += o.retries;
    for (const Committer::Applied& a : o.applied) {
      CountApplied(a.stats, options_.topics, &counters_);
      if (scoring_active_ && options_.score_touched && !a.stats.touched.empty()) {
        Unscored& u = unscored_[a.partition];
        u.keys.insert(a.stats.touched.begin(), a.stats.touched.end());
        u.oldest_record_ms = OldestKnownMs(u.oldest_record_ms, o.batch.oldest_record_ms);
      }
    }
    if (!o.status.ok()) return o.status;
    counters_.batch_commit_seconds.Observe(o.commit_seconds);
    // Tests stop here: the state is committed, its scores not yet delivered.
    RECUR_SYNC_POINT("Pipeline::AfterStateCommit");
    absl::Status scored = WithRetries("scores", Retry(), [this] { return ScoreUnscored(); });
    if (!scored.ok()) {
      return absl::Status(scored.code(), absl::StrCat("scoring: ", scored.message()));
    }
    ++counters_.batches;
    source_->CommitAsync(o.batch.offsets);
    UpdateLag();
    absl::Status flushed = stores_.DirtyOverBudget() ? FlushStores() : absl::OkStatus();
    if (!flushed.ok()) return flushed;
    const int64_t ms = MsSince(o.first);  // first record of the batch to committed
    counters_.batch_ms_last = ms;
    counters_.batch_ms_max = std::max(counters_.batch_ms_max, ms);
    return absl::OkStatus();
  }

  // Everything consumed applied and its scores handed on (a revocation, the end).
  absl::Status CommitNow() {
    if (absl::Status s = FinishApply(); !s.ok()) return s;
    if (builder_.empty()) return absl::OkStatus();
    StartApply();
    return FinishApply();
  }

  // ---- Scoring --------------------------------------------------------------

  // Hands the customers touched by committed batches (or pending after a restart)
  // to the scoring thread; their scores follow without holding up the loop.
  absl::Status ScoreUnscored() {
    if (!scoring_active_) {
      unscored_.clear();  // their pending marks stay in the stores; a new model re-scores everyone
      return absl::OkStatus();
    }
    std::vector<ScoreStage::Work> work;
    for (const auto& [p, u] : unscored_) {
      FeatureStore* store = stores_.Get(p);
      if (store != nullptr)
        work.push_back({p, store, {u.keys.begin(), u.keys.end()}, u.oldest_record_ms});
    }
    unscored_.clear();
    if (!work.empty()) scoring_->Submit(std::move(work));
    return scoring_->error();
  }

  // Waits until every submitted batch is scored and every score delivered.
  absl::Status DrainScores() {
    return scoring_->Exclusive([](ScoreStage& stage) { return stage.Drain(/*wait=*/true); });
  }

  // Between batches: hot reload, scores still owed, re-scoring when a caught-up
  // store's watermark entered a new day or the models changed.
  absl::Status ScoringStep() {
    if (!scoring_) return absl::OkStatus();
    if (absl::Status s = scoring_->error(); !s.ok()) return s;
    if (!unscored_.empty()) {
      if (absl::Status s = ScoreUnscored(); !s.ok()) return s;
    }
    // The worker reloads models by itself; a reload asks for a pass everywhere.
    const ScoreWorker::Stats st = scoring_->stats();
    scoring_active_ = st.active;
    if (st.counters.reloads != reloads_seen_) {
      reloads_seen_ = st.counters.reloads;
      for (const auto& [p, store] : stores_.open()) force_rescore_.insert(p);
    }
    if (!st.active) return absl::OkStatus();
    const std::vector<int32_t> due =
        PassesDue(st, stores_.open(), force_rescore_, [this](int32_t p) { return CaughtUp(p); });
    if (due.empty()) return absl::OkStatus();
    if (options_.rescore_in_steps && !builder_.bounded()) {
      // Between batches (their dead letters are out): the pass visits every
      // customer applied so far, then runs in steps on the scoring thread.
      if (absl::Status s = FlushStores(); !s.ok()) return s;
      for (int32_t p : due) {
        scoring_->RequestPass(p);
        force_rescore_.erase(p);
      }
      return absl::OkStatus();
    }
    // The whole pass at once: every queued batch is scored first, the loop waits.
    return scoring_->Exclusive([&](ScoreStage& stage) -> absl::Status {
      for (int32_t p : due) {
        FeatureStore* st = stores_.Get(p);
        absl::Status s = WithRetries("re-scoring", Retry(), [&] { return stage.Rescore(p, st); });
        if (!s.ok()) return s;
        force_rescore_.erase(p);
      }
      return absl::OkStatus();
    });
  }

  // ---- Positions, lag and the broker ----------------------------------------

  bool AllAtEnd() const { return inputs_.AllAtEnd(builder_); }
  bool AllStopped() const { return inputs_.AllStopped(builder_); }
  bool CaughtUp(int32_t partition) { return inputs_.CaughtUp(partition, builder_, *source_); }
  void UpdateLag() {
    counters_.lag_by_partition = inputs_.LagByPartition(*source_);
    counters_.lag = 0;
    for (const auto& [tp, n] : counters_.lag_by_partition) counters_.lag += n;
  }

  // ---- Counters for other threads -------------------------------------------

  // Publishes the counters for other threads (after every loop iteration).
  void ShareCounters() {
    last_share_ = Clock::now();
    const ScoreWorker::Stats scoring = scoring_->stats();
    const FeatureStore::CacheStats cache = stores_.TotalCacheStats();
    PipelineCounters c =
        SharedCounters(counters_, scoring, cache,
                       Idle() && unscored_.empty() && AllAtEnd() && force_rescore_.empty(), Idle());
    c.stores_open = static_cast<int32_t>(stores_.open().size());
    shared_.Publish(std::move(c),
                    recur::StatsJson(counters_, scoring, cache, stores_.standby_stats()));
  }

  // ---- State ----------------------------------------------------------------

  const PipelineOptions options_;
  std::unique_ptr<RecordSource> source_;
  std::unique_ptr<Producer> producer_;  // dead letters
  std::unique_ptr<ProducerSink> producer_sink_;
  std::unique_ptr<Producer> score_producer_;  // scores, served on the scoring thread
  std::unique_ptr<ScoreWorker> scoring_;
  bool scoring_active_ = false;  // both models loaded (as of the last Exclusive check)
  int64_t reloads_seen_ = 0;     // the worker's model reloads already answered with a pass
  BatchBuilder builder_;
  PartitionStores stores_;
  std::unique_ptr<Committer> committer_;
  // After the committer and the stores: destroyed first (it uses both).
  std::unique_ptr<ApplyStage> apply_;
  Clock::time_point batch_first_;  // when the batch in builder_ got its first record
  Clock::time_point last_flush_ = Clock::now();

  struct Unscored {  // committed, score not yet delivered
    std::set<CustomerKey> keys;
    int64_t oldest_record_ms = -1;  // Batch::oldest_record_ms of the batches that touched them
  };
  std::map<int32_t, Unscored> unscored_;
  std::set<int32_t> force_rescore_;  // re-score whatever the day (new models)
  InputPositions inputs_;
  PipelineCounters counters_;
  absl::Status fatal_;
  BrokerWatch broker_;
  Clock::time_point idle_since_;
  Clock::time_point last_share_;
  bool closing_ = false;
  std::optional<Clock::time_point> revoked_at_;  // an eager revocation's, until the assignment
  std::vector<TopicPartition> opening_parts_;    // assigned, their stores opening (FinishOpening)
  SharedStats shared_;                           // for other threads
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const PipelineOptions& options) {
  return CreateWithSource(options, /*source=*/nullptr, /*dlq=*/nullptr);  // Kafka, the producer
}

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::CreateWithSource(
    const PipelineOptions& options, std::unique_ptr<RecordSource> source, DeadLetterSink* dlq) {
  auto p = std::make_unique<PipelineImpl>(options);
  absl::Status s = p->Init(std::move(source), dlq);
  if (!s.ok()) return s;
  return std::unique_ptr<Pipeline>(std::move(p));
}

}  // namespace recur
