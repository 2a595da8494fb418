// The `recur run` consume loop. See pipeline.h for the guarantees.
#include "streams/pipeline.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "featurestore/state_dir.h"
#include "featurestore/store_errors.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

struct DeadLetter {
  std::string topic;
  int32_t partition;
  int64_t offset;
  std::optional<std::string> key;
  std::string value;
  std::string reason;
};

// Events and positions consumed since the last commit.
struct Batch {
  std::map<int32_t, std::vector<v1::Event>> events;  // by partition number
  OffsetMap offsets;                                  // next offset per consumed partition
  std::vector<DeadLetter> dead;
  std::set<int32_t> applied;  // partitions already written (a retry skips them)
  bool dead_sent = false;
  size_t count = 0;
  Clock::time_point first;
  bool empty() const { return offsets.empty(); }
};

class KafkaPipeline final : public Pipeline {
 public:
  explicit KafkaPipeline(PipelineOptions o) : options_(std::move(o)), decoder_(options_.decoder) {}

  absl::Status Init() {
    if (!options_.kafka.count("bootstrap.servers")) {
      return absl::InvalidArgumentError("no brokers: pass --brokers host:port (or -X bootstrap.servers=...)");
    }
    KafkaProperties props = {{"group.id", options_.group_id},
                             {"enable.auto.commit", "false"},
                             {"enable.auto.offset.store", "false"},
                             // Only consulted when a stored offset is no longer on the broker
                             // (new stores seek to the beginning explicitly): that is lost data,
                             // so stop instead of skipping it (HandleMessage).
                             {"auto.offset.reset", "error"},
                             {"enable.partition.eof", "true"},
                             {"partition.assignment.strategy", "range"},
                             {"session.timeout.ms", "10000"},
                             {"queued.max.messages.kbytes", "262144"},
                             {"fetch.wait.max.ms", "100"}};
    for (const auto& [k, v] : options_.kafka) props[k] = v;
    auto conf = MakeConf(props);
    if (!conf.ok()) return conf.status();
    rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaPipeline::OnRebalance);
    rd_kafka_conf_set_error_cb(conf->get(), &KafkaPipeline::OnError);
    rd_kafka_conf_set_opaque(conf->get(), this);
    auto rk = NewKafka(RD_KAFKA_CONSUMER, std::move(*conf));
    if (!rk.ok()) return rk.status();
    consumer_ = std::move(*rk);
    rd_kafka_poll_set_consumer(consumer_.get());

    KafkaProperties producer_props;
    for (const auto& [k, v] : options_.kafka) {
      // Consumer-only settings would make the producer's configuration fail.
      if (k.rfind("group.", 0) == 0 || k.rfind("auto.", 0) == 0 || k.rfind("enable.auto", 0) == 0 ||
          k.rfind("session.", 0) == 0 || k.rfind("fetch.", 0) == 0 || k.rfind("partition.assignment", 0) == 0) {
        continue;
      }
      producer_props[k] = v;
    }
    auto producer = Producer::Create(producer_props);
    if (!producer.ok()) return producer.status();
    dlq_ = std::move(*producer);
    auto stage = ScoreStage::Create(options_.scoring, options_.topics.scores, dlq_.get());
    if (!stage.ok()) return stage.status();
    scoring_ = std::move(*stage);

    const auto topics = options_.topics.inputs();
    KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& t : topics) rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
    return KafkaError(rd_kafka_subscribe(consumer_.get(), list.get()), "subscribe");
  }

  absl::Status Run(const std::atomic<bool>& stop) override {
    auto last_stats = Clock::now();
    auto last_progress = Clock::now();
    auto idle_since = Clock::now();
    while (!stop.load() && fatal_.ok()) {
      KafkaMessagePtr msg(rd_kafka_consumer_poll(consumer_.get(), 50));
      if (msg) {
        HandleMessage(msg.get(), &idle_since);
      }
      if (!batch_.empty() && (batch_.count >= options_.batch_max_events ||
                              MsSince(batch_.first) >= options_.batch_linger_ms || AllAtEnd())) {
        absl::Status s = CommitWithRetries();
        if (!s.ok()) fatal_ = s;
      }
      if (batch_.empty() && fatal_.ok()) {
        absl::Status s = ScoringStep();  // between batches: reload, pending, re-scoring
        if (!s.ok()) fatal_ = s;
      }
      if (broker_down_since_ && MsSince(last_probe_) > 2000) {
        // Nothing may arrive to tell that the broker is back (no new records):
        // ask for metadata.
        last_probe_ = Clock::now();
        const rd_kafka_metadata_t* md = nullptr;
        if (rd_kafka_metadata(consumer_.get(), 0, nullptr, &md, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          rd_kafka_metadata_destroy(md);
          spdlog::info("Kafka reachable again");
          broker_down_since_.reset();
        }
      }
      if (broker_down_since_ && MsSince(*broker_down_since_) > options_.broker_down_timeout_s * 1000LL) {
        fatal_ = absl::UnavailableError(absl::StrCat("no Kafka broker reachable for ", options_.broker_down_timeout_s,
                                                     " s; check --brokers and that Kafka is running, then restart"));
      }
      if (MsSince(last_share_) >= 100) ShareCounters();  // for other threads, ten times a second
      if (options_.stats_interval_s > 0 && MsSince(last_stats) >= options_.stats_interval_s * 1000LL) {
        last_stats = Clock::now();
        spdlog::info("stats {}", StatsJson());
      }
      if (options_.exit_when_idle_ms > 0 && batch_.empty() && AllAtEnd() &&
          MsSince(idle_since) >= options_.exit_when_idle_ms) {
        spdlog::info("caught up on every assigned partition and idle for {} ms: exiting", options_.exit_when_idle_ms);
        break;
      }
      if (options_.on_progress && MsSince(last_progress) >= options_.progress_interval_ms) {
        last_progress = Clock::now();
        options_.on_progress({counters_, positions_});
      }
      // Bounded run: the batch that reached the last stop offset is committed
      // and ScoringStep ran after it (above), so the stores are final.
      if (bounded() && batch_.empty() && fatal_.ok() && AllStopped()) {
        spdlog::info("every input partition reached its stop offset: exiting");
        break;
      }
    }
    if (fatal_.ok() && !batch_.empty()) fatal_ = CommitWithRetries();
    if (fatal_.ok() && !unscored_.empty()) fatal_ = WithRetries("scores", [this] { return ScoreUnscored(); });
    if (fatal_.ok()) fatal_ = scoring_->Drain(/*wait=*/true);
    // Leaving the group revokes the assignment; OnRebalance closes the stores.
    closing_ = true;
    rd_kafka_consumer_close(consumer_.get());
    ShareCounters();
    if (fatal_.ok()) spdlog::info("stopped cleanly: {}", StatsJson());
    return fatal_;
  }

  PipelineCounters counters() const override {
    std::lock_guard<std::mutex> lock(shared_mu_);
    return shared_;
  }

  std::string StatsJson() const override {
    std::lock_guard<std::mutex> lock(shared_mu_);
    return shared_json_;
  }

 private:
  // Publishes the counters for other threads (after every loop iteration).
  void ShareCounters() {
    last_share_ = Clock::now();
    PipelineCounters c = counters_;
    if (scoring_) {
      c.models = scoring_->versions();
      c.scores_published = scoring_->counters().published;
      c.rescoring_passes = scoring_->counters().passes;
      c.model_reloads = scoring_->counters().reloads;
    }
    c.caught_up = batch_.empty() && unscored_.empty() && AllAtEnd() && force_rescore_.empty() &&
                  (!scoring_ || !scoring_->active() || scoring_->idle());
    std::string json = BuildStatsJson();
    std::lock_guard<std::mutex> lock(shared_mu_);
    shared_ = std::move(c);
    shared_json_ = std::move(json);
  }

  std::string BuildStatsJson() const {
    nlohmann::json j{{"events_in", counters_.events_in}, {"applied", counters_.applied},
                     {"duplicates", counters_.duplicates}, {"late", counters_.late},
                     {"batches", counters_.batches}, {"batch_ms_last", counters_.batch_ms_last},
                     {"batch_ms_max", counters_.batch_ms_max}, {"lag", counters_.lag},
                     {"retries", counters_.retries}, {"apply_ms", counters_.apply_ms}, {"dlq", counters_.dlq}};
    if (scoring_) {
      const ScoringCounters& c = scoring_->counters();
      j["scoring"] = {{"models", scoring_->versions()}, {"scored", c.scored},     {"published", c.published},
                      {"unchanged", c.unchanged},       {"passes", c.passes},     {"reloads", c.reloads},
                      {"refused", c.refused},           {"score_ms", c.score_ms}, {"deliver_ms", c.deliver_ms}};
    }
    return j.dump();
  }

 private:
  void HandleMessage(rd_kafka_message_t* m, Clock::time_point* idle_since) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      const TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
      at_end_.insert(tp);
      if (bounded() && m->offset >= StopOf(tp)) ReachedStop(tp);
      broker_down_since_.reset();
      return;
    }
    if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
      fatal_ = absl::DataLossError(absl::StrCat(
          rd_kafka_message_errstr(m),
          " — records this store still needed were deleted from the topic (retention) before recur read them; "
          "the state would be missing events, so recur stops. Rebuild with `recur replay` from what the topics "
          "hold, or accept the loss by restarting with -X auto.offset.reset=earliest"));
      return;
    }
    if (m->err) {
      if (m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || m->err == RD_KAFKA_RESP_ERR__TRANSPORT) {
        at_end_.clear();  // the ends are unknown until the broker is back
        if (!broker_down_since_) {
          broker_down_since_ = Clock::now();
          spdlog::warn("Kafka unreachable ({}): waiting for it to come back", rd_kafka_err2str(m->err));
        }
      } else {
        spdlog::warn("consumer: {}", rd_kafka_message_errstr(m));
      }
      return;
    }
    if (broker_down_since_) spdlog::info("Kafka reachable again");
    broker_down_since_.reset();
    *idle_since = Clock::now();
    const TopicPartition tp{rd_kafka_topic_name(m->rkt), m->partition};
    if (bounded() && m->offset >= StopOf(tp)) {  // fetched beyond the stop offset: never applied
      ReachedStop(tp);
      return;
    }
    at_end_.erase(tp);
    if (batch_.empty()) batch_.first = Clock::now();
    ++counters_.events_in;
    ++batch_.count;
    batch_.offsets[tp] = m->offset + 1;
    positions_[tp] = m->offset + 1;
    if (bounded() && m->offset + 1 >= StopOf(tp)) ReachedStop(tp);

    RawRecord r;
    r.topic = tp.topic;
    r.partition = tp.partition;
    r.offset = m->offset;
    if (m->key != nullptr) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
    r.value = std::string_view(static_cast<const char*>(m->payload), m->payload != nullptr ? m->len : 0);
    rd_kafka_timestamp_type_t tstype;
    r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);

    // Lateness is judged against this source partition's own stream time: the
    // topics feeding one store are read unevenly during a catch-up.
    int64_t& stream_time = stream_times_[tp];
    Decoded d = decoder_.Decode(r, stream_time);
    if (d.ok()) {
      if (stream_time > 0 && d.event->event_time_ms() < stream_time - kDefaultAllowedLatenessMs) ++counters_.late;
      stream_time = std::max(stream_time, d.event->event_time_ms());
      batch_.events[tp.partition].push_back(std::move(*d.event));
    } else {
      ++counters_.dlq[d.reason];
      batch_.dead.push_back({tp.topic, tp.partition, m->offset,
                             r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                             std::string(r.value), d.reason});
    }
  }

  bool AllAtEnd() const {
    if (assigned_.empty()) return false;
    for (const auto& tp : assigned_) {
      if (!at_end_.count(tp) && !stopped_.count(tp)) return false;
    }
    return true;
  }

  // Bounded runs (PipelineOptions::stop_offsets).
  bool bounded() const { return !options_.stop_offsets.empty(); }
  int64_t StopOf(const TopicPartition& tp) const {
    auto it = options_.stop_offsets.find(tp);
    return it == options_.stop_offsets.end() ? 0 : it->second;  // not in the map: not read at all
  }
  bool AllStopped() const {
    if (assigned_.empty()) return false;
    for (const auto& tp : assigned_) {
      if (!stopped_.count(tp)) return false;
    }
    return true;
  }
  // Everything before the stop offset was read: store exactly the stop offset
  // with the next commit (also for an empty range or a gap before the stop, e.g.
  // transaction markers) and stop fetching the partition.
  void ReachedStop(const TopicPartition& tp) {
    if (!stopped_.insert(tp).second) return;
    auto it = options_.stop_offsets.find(tp);
    if (it != options_.stop_offsets.end()) {
      if (batch_.empty()) batch_.first = Clock::now();
      int64_t& next = batch_.offsets[tp];
      next = std::max(next, it->second);
      positions_[tp] = it->second;
    }
    KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(1));
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
    rd_kafka_pause_partitions(consumer_.get(), list.get());
  }

  FeatureStore* StoreFor(int32_t partition) {
    auto it = stores_.find(partition);
    return it == stores_.end() ? nullptr : it->second.get();
  }

  // Runs `step` until it succeeds, with backoff; errors retrying can not help
  // (bad input, corruption, a refused precondition) return at once.
  absl::Status WithRetries(const char* what, const std::function<absl::Status()>& step) {
    absl::Status s;
    for (int attempt = 0; attempt <= options_.max_retries; ++attempt) {
      s = step();
      if (s.ok()) return s;
      if (s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kDataLoss ||
          s.code() == absl::StatusCode::kFailedPrecondition) {
        break;  // retrying can not help
      }
      ++counters_.retries;
      const int backoff_ms = std::min(10'000, 200 << std::min(attempt, 6));
      spdlog::warn("{} not committed (attempt {}/{}): {}; retrying in {} ms", what, attempt + 1,
                   options_.max_retries + 1, std::string(s.message()), backoff_ms);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    }
    return absl::Status(s.code(), absl::StrCat(s.message(), " — ", what,
                                               " not committed; fix the cause (broker reachable? disk space and "
                                               "permissions of --state-dir?) and restart: recur resumes from the "
                                               "last committed batch and re-scores pending customers"));
  }

  absl::Status CommitWithRetries() {
    absl::Status s = WithRetries("batch", [this] { return TryCommit(); });
    if (!s.ok()) return s;
    const int64_t ms = MsSince(batch_.first);  // first record of the batch to committed
    counters_.batch_ms_last = ms;
    counters_.batch_ms_max = std::max(counters_.batch_ms_max, ms);
    batch_ = Batch();
    return absl::OkStatus();
  }

  // Scores the customers touched by committed batches (or pending after a restart).
  absl::Status ScoreUnscored() {
    if (!scoring_->active()) {
      unscored_.clear();  // their pending marks stay in the stores; a new model re-scores everyone
      return absl::OkStatus();
    }
    std::vector<ScoreStage::Work> work;
    for (const auto& [p, keys] : unscored_) {
      FeatureStore* store = StoreFor(p);
      if (store != nullptr) work.push_back({p, store, std::vector<CustomerKey>(keys.begin(), keys.end())});
    }
    absl::Status s = scoring_->ScoreCustomers(work);
    if (!s.ok()) return s;
    unscored_.clear();
    return absl::OkStatus();
  }

  // Between batches: hot reload, scores still owed, re-scoring when a caught-up
  // store's watermark entered a new day or the models changed.
  absl::Status ScoringStep() {
    if (!scoring_) return absl::OkStatus();
    if (scoring_->MaybeReload()) {
      for (const auto& [p, store] : stores_) force_rescore_.insert(p);
    }
    if (!scoring_->active()) return absl::OkStatus();
    if (absl::Status s = scoring_->Drain(/*wait=*/false); !s.ok()) return s;
    if (!unscored_.empty()) {
      absl::Status s = WithRetries("scores", [this] { return ScoreUnscored(); });
      if (!s.ok()) return s;
    }
    for (const auto& [p, store] : stores_) {
      const bool forced = force_rescore_.count(p) > 0;
      if (!forced && !(scoring_->DayAdvanced(p, store.get()) && CaughtUp(p))) continue;
      const int32_t partition = p;
      FeatureStore* st = store.get();
      absl::Status s = WithRetries("re-scoring", [&] { return scoring_->Rescore(partition, st); });
      if (!s.ok()) return s;
      force_rescore_.erase(p);
    }
    return absl::OkStatus();
  }

  // Every input partition of this partition number read to its end.
  bool CaughtUp(int32_t partition) {
    bool any = false;
    for (const auto& tp : assigned_) {
      if (tp.partition != partition) continue;
      any = true;
      if (at_end_.count(tp) || stopped_.count(tp)) continue;
      int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(consumer_.get(), tp.topic.c_str(), tp.partition, &lo, &hi) != 0 || hi < 0) {
        return false;
      }
      KafkaPartitionsPtr pos(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(pos.get(), tp.topic.c_str(), tp.partition);
      if (rd_kafka_position(consumer_.get(), pos.get()) != 0 || pos->elems[0].offset < hi) return false;
    }
    return any;
  }

  // Dead letters first (delivered), then one WriteBatch per partition store.
  absl::Status TryCommit() {
    if (!batch_.dead_sent && !batch_.dead.empty()) {
      for (const DeadLetter& d : batch_.dead) {
        Headers h = {{"recur.error.reason", d.reason},
                     {"recur.error.topic", d.topic},
                     {"recur.error.partition", std::to_string(d.partition)},
                     {"recur.error.offset", std::to_string(d.offset)}};
        absl::Status s = dlq_->Send(options_.topics.dlq,
                                    d.key ? std::optional<std::string_view>(*d.key) : std::nullopt, d.value, h);
        if (!s.ok()) return s;
      }
      absl::Status s = dlq_->Flush(absl::Seconds(30));
      if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dead-letter delivery: ", s.message()));
      batch_.dead_sent = true;
    }
    std::map<int32_t, OffsetMap> by_partition;
    std::map<int32_t, StreamTimeMap> times_by_partition;
    for (const auto& [tp, offset] : batch_.offsets) {
      by_partition[tp.partition][tp] = offset;
      times_by_partition[tp.partition][tp] = stream_times_[tp];
    }
    // Partition stores are independent: apply them in parallel (one task per
    // partition number, at most one thread per core), each its own WriteBatch.
    struct Job {
      int32_t partition;
      FeatureStore* store;
      const std::vector<v1::Event>* events;
      const OffsetMap* offsets;
      const StreamTimeMap* times;
      FeatureStore::ApplyStats stats;
      absl::Status status;
    };
    static const std::vector<v1::Event> kNone;
    std::vector<Job> jobs;
    for (const auto& [partition, offsets] : by_partition) {
      if (batch_.applied.count(partition)) continue;
      FeatureStore* store = StoreFor(partition);
      if (store == nullptr) return absl::InternalError(absl::StrCat("no store open for partition ", partition));
      auto ev = batch_.events.find(partition);
      jobs.push_back({partition, store, ev == batch_.events.end() ? &kNone : &ev->second, &offsets,
                      &times_by_partition[partition], {}, {}});
    }
    const auto apply_start = Clock::now();
    const size_t threads = std::max<size_t>(1, std::min<size_t>(jobs.size(), std::thread::hardware_concurrency()));
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < jobs.size(); i = next++) {
        Job& j = jobs[i];
        j.status = j.store->ApplyBatch(*j.events, *j.offsets, &j.stats, j.times);
      }
    };
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
    counters_.apply_ms += MsSince(apply_start);
    absl::Status first_error;
    for (const Job& j : jobs) {
      if (!j.status.ok()) {
        if (first_error.ok()) first_error = j.status;
        continue;
      }
      batch_.applied.insert(j.partition);  // a retry skips what already landed
      counters_.applied += j.stats.applied;
      counters_.duplicates += j.stats.duplicates;
      if (scoring_->active() && options_.score_touched && !j.stats.touched.empty()) {
        unscored_[j.partition].insert(j.stats.touched.begin(), j.stats.touched.end());
      }
    }
    if (!first_error.ok()) return first_error;
    // Test hook (integration tests): die like kill -9 right after the N-th state
    // commit, before its scores are delivered.
    if (kill_after_commit_ > 0 && ++commits_ == kill_after_commit_) ::kill(::getpid(), SIGKILL);
    // Scores of the touched customers, before Kafka's offsets (monitoring only).
    absl::Status scored = ScoreUnscored();
    if (!scored.ok()) return absl::Status(scored.code(), absl::StrCat("scoring: ", scored.message()));
    ++counters_.batches;
    // Kafka's committed offsets only feed lag monitoring; the truth is in RocksDB.
    KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(batch_.offsets.size())));
    for (const auto& [tp, offset] : batch_.offsets) {
      rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = offset;
    }
    rd_kafka_commit(consumer_.get(), list.get(), /*async=*/1);
    UpdateLag();
    return absl::OkStatus();
  }

  void UpdateLag() {
    int64_t lag = 0;
    for (const auto& tp : assigned_) {
      int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(consumer_.get(), tp.topic.c_str(), tp.partition, &lo, &hi) != 0) continue;
      KafkaPartitionsPtr pos(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(pos.get(), tp.topic.c_str(), tp.partition);
      if (rd_kafka_position(consumer_.get(), pos.get()) == 0 && pos->elems[0].offset >= 0) {
        lag += std::max<int64_t>(0, hi - pos->elems[0].offset);
      }
    }
    counters_.lag = lag;
  }

  // Client-level errors (not tied to a record) arrive here from poll.
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaPipeline*>(opaque);
    const auto code = static_cast<rd_kafka_resp_err_t>(err);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__TRANSPORT ||
        code == RD_KAFKA_RESP_ERR__RESOLVE) {
      self->at_end_.clear();  // the ends are unknown until the broker is back
      if (!self->broker_down_since_) {
        self->broker_down_since_ = Clock::now();
        spdlog::warn("Kafka unreachable ({}): waiting for it to come back", rd_kafka_err2str(code));
      }
      return;
    }
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512];
      rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
      self->fatal_ = KafkaError(orig, absl::StrCat("fatal Kafka client error: ", buf));
      return;
    }
    spdlog::warn("Kafka: {}: {}", rd_kafka_err2str(code), reason);
  }

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                          void* opaque) {
    auto* self = static_cast<KafkaPipeline*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      absl::Status s = self->Assign(parts);
      if (!s.ok()) {
        self->fatal_ = s;
        rd_kafka_assign(rk, nullptr);
        return;
      }
      rd_kafka_assign(rk, parts);
    } else {
      // Finish what was consumed before giving the partitions away.
      if (!self->batch_.empty() && self->fatal_.ok()) {
        absl::Status s = self->CommitWithRetries();
        if (!s.ok()) self->fatal_ = s;
      }
      if (self->fatal_.ok()) {
        absl::Status s = self->scoring_->Drain(/*wait=*/true);  // in-flight scores refer to the stores
        if (!s.ok()) self->fatal_ = s;
      }
      rd_kafka_assign(rk, nullptr);
      self->batch_ = Batch();
      self->assigned_.clear();
      self->at_end_.clear();
      self->stopped_.clear();
      self->positions_.clear();
      for (const auto& [p, store] : self->stores_) self->scoring_->CloseStore(p);
      self->stores_.clear();
      self->unscored_.clear();  // the pending marks stay in the stores for the next owner
      self->force_rescore_.clear();
      self->stream_times_.clear();
      if (!self->closing_) spdlog::info("partitions revoked, stores closed");
    }
  }

  // Opens the store of every assigned partition number and seeks each input
  // partition to the offset stored there (the beginning if none).
  absl::Status Assign(rd_kafka_topic_partition_list_t* parts) {
    std::set<int32_t> numbers;
    for (int i = 0; i < parts->cnt; ++i) numbers.insert(parts->elems[i].partition);
    std::map<int32_t, OffsetMap> stored;
    for (int32_t p : numbers) {
      if (!stores_.count(p)) {
        FeatureStore::Options o;
        o.path = StateDir::PartitionPath(options_.state_dir, p);
        o.retention_days = options_.decoder.retention_days;
        o.sync = options_.sync;
        o.expire_outside_horizon = true;
        o.mark_pending = options_.scoring.enabled;
        std::error_code ec;
        std::filesystem::create_directories(options_.state_dir, ec);
        // The previous owner of the partition (another instance on a shared
        // disk) may still be closing the store: wait for its LOCK a while, as
        // Kafka Streams waits for a task's state directory.
        auto store = FeatureStore::Open(o);
        for (int waited_ms = 0;
             !store.ok() && IsStoreLocked(store.status()) && waited_ms < options_.store_lock_timeout_ms;
             waited_ms += 500) {
          if (waited_ms == 0) spdlog::warn("partition {}: store locked by another process; waiting", p);
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
          store = FeatureStore::Open(o);
        }
        if (!store.ok()) return store.status();
        stores_[p] = std::move(*store);
        absl::Status s = scoring_->OpenStore(p, stores_[p].get());
        if (!s.ok()) return s;
        if (scoring_->active() && options_.score_touched) {
          auto pending = stores_[p]->ledger().ReadPending();
          if (!pending.ok()) return pending.status();
          if (!pending->empty()) {
            spdlog::info("partition {}: {} customers were touched but their scores not confirmed before the last "
                         "stop: scoring them first",
                         p, pending->size());
            unscored_[p].insert(pending->begin(), pending->end());
          }
        }
      }
      auto offsets = stores_[p]->ReadOffsets();
      if (!offsets.ok()) return offsets.status();
      stored[p] = *offsets;
      auto times = stores_[p]->ReadStreamTimes();
      if (!times.ok()) return times.status();
      for (const auto& [tp, t] : *times) stream_times_[tp] = t;
    }
    assigned_.clear();
    for (int i = 0; i < parts->cnt; ++i) {
      auto& e = parts->elems[i];
      TopicPartition tp{e.topic, e.partition};
      auto it = stored[e.partition].find(tp);
      if (it != stored[e.partition].end()) {
        e.offset = it->second;
      } else {
        auto start = options_.start_offsets.find(tp);
        e.offset = start == options_.start_offsets.end() ? RD_KAFKA_OFFSET_BEGINNING : start->second;
      }
      positions_[tp] = e.offset;
      assigned_.push_back(tp);
    }
    std::string list;
    for (int32_t p : numbers) list += (list.empty() ? "" : ",") + std::to_string(p);
    spdlog::info("assigned {} partitions (partition numbers {}), resuming from the offsets in the state stores",
                 parts->cnt, list);
    return absl::OkStatus();
  }

  PipelineOptions options_;
  Decoder decoder_;
  KafkaPtr consumer_;
  std::unique_ptr<Producer> dlq_;  // dead letters and scores
  std::unique_ptr<ScoreStage> scoring_;
  std::map<int32_t, std::set<CustomerKey>> unscored_;  // committed, score not yet delivered
  std::set<int32_t> force_rescore_;                      // re-score whatever the day (new models)
  std::map<int32_t, std::unique_ptr<FeatureStore>> stores_;
  std::vector<TopicPartition> assigned_;
  std::set<TopicPartition> at_end_;
  std::set<TopicPartition> stopped_;  // bounded run: reached its stop offset (paused)
  OffsetMap positions_;                // next offset to read per assigned partition (progress)
  Batch batch_;
  StreamTimeMap stream_times_;  // largest event time per source partition, as stored
  PipelineCounters counters_;
  absl::Status fatal_;
  std::optional<Clock::time_point> broker_down_since_;
  Clock::time_point last_share_;
  mutable std::mutex shared_mu_;
  PipelineCounters shared_;
  std::string shared_json_ = "{}";
  Clock::time_point last_probe_ = Clock::now();
  bool closing_ = false;
  const int64_t kill_after_commit_ = [] {
    const char* v = std::getenv("RECUR_TEST_KILL_AFTER_COMMIT");
    return v != nullptr ? std::atoll(v) : 0;
  }();
  int64_t commits_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pipeline>> Pipeline::Create(const PipelineOptions& options) {
  auto p = std::make_unique<KafkaPipeline>(options);
  absl::Status s = p->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<Pipeline>(std::move(p));
}

}  // namespace recur
