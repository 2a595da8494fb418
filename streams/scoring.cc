#include "streams/scoring.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/parallel.h"
#include "base/sync_point.h"
#include "featurestore/calendar.h"
#include "featurestore/types.h"
#include "scorer/policy.h"
#include "scorer/targets.h"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

constexpr char kRescoredDay[] = "rescored_day";
constexpr char kQuantiles[] = "quantiles";
constexpr char kPassModels[] = "pass_models";  // versions() of the last completed pass

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ScoreStage>> ScoreStage::Create(const ScoringOptions& options,
                                                               std::string topic,
                                                               Producer* producer) {
  std::unique_ptr<ScoreStage> s(new ScoreStage());
  s->options_ = options;
  s->topic_ = std::move(topic);
  s->producer_ = producer;
  auto rules = Rules::Load(options.rules_file);
  if (!rules.ok()) return rules.status();
  s->rules_ = std::move(*rules);
  if (!options.enabled) return s;
  s->watch_ = std::make_unique<CurrentWatch>(
      ModelRegistry(options.scorer.models_dir),
      std::vector<std::string>{options.scorer.risk_target, options.scorer.repurchase_target});
  s->last_check_ms_ = SteadyMs();
  auto scorer = Scorer::Create(options.scorer);
  if (scorer.ok()) {
    s->scorer_ = std::move(*scorer);
    s->counters_.models_loaded_s = std::time(nullptr);
    spdlog::info("scoring with {} into {} (evaluator: {})", s->versions(), s->topic_,
                 s->scorer_->evaluators());
  } else if (scorer.status().code() == absl::StatusCode::kNotFound) {
    const ModelRegistry registry(options.scorer.models_dir);
    spdlog::warn(
        "NOT SCORING: {}. Ingesting only; touched customers stay pending and are scored as soon as "
        "`recur train` promotes both models ({} and {}, checked every {} ms)",
        std::string(scorer.status().message()),
        registry.CurrentPath(options.scorer.risk_target).string(),
        registry.CurrentPath(options.scorer.repurchase_target).string(), options.reload_check_ms);
  } else {
    return absl::Status(scorer.status().code(),
                        absl::StrCat("scorer: ", scorer.status().message()));
  }
  return s;
}

std::string ScoreStage::versions() const {
  if (!scorer_) return "none";
  const std::string risk(InfoOf(Target::kActivityDecline90d).operand);
  const std::string repurchase(InfoOf(Target::kRepurchase30d).operand);
  return risk + "=" + scorer_->risk_version() + " " + repurchase + "=" +
         scorer_->repurchase_version();
}

bool ScoreStage::MaybeReload() {
  if (!options_.enabled) return false;
  const int64_t now = SteadyMs();
  if (now - last_check_ms_ < options_.reload_check_ms) return false;
  last_check_ms_ = now;
  if (!watch_->Changed()) return false;  // a refused CURRENT is logged once, not every check
  auto scorer = Scorer::Create(options_.scorer);
  if (!scorer.ok()) {
    if (scorer.status().code() == absl::StatusCode::kNotFound && !scorer_)
      return false;  // still waiting for both
    ++counters_.refused;
    spdlog::error("model reload refused: {}; {}", std::string(scorer.status().message()),
                  scorer_ ? "keeping " + versions() : std::string("still not scoring"));
    return false;
  }
  const std::string before = versions();
  scorer_ = std::move(*scorer);
  ++counters_.reloads;
  counters_.models_loaded_s = std::time(nullptr);
  for (auto& [p, info] : stores_) {
    info.pass.reset();   // its steps so far used the old models
    info.drift.reset();  // counted in the old models' bins
  }
  UpdateDrift();
  spdlog::info("models swapped between batches: {} -> {} (evaluator: {})", before, versions(),
               scorer_->evaluators());
  // Tests kill here: new models in use, nothing re-scored with them yet.
  RECUR_SYNC_POINT("ScoreStage::AfterReload");
  return true;
}

absl::Status ScoreStage::OpenStore(int32_t partition, FeatureStore* store) {
  StoreInfo info;
  auto day = store->ledger().GetMeta(kRescoredDay);
  if (day.ok()) {
    if (!absl::SimpleAtoi(*day, &info.rescored_day))
      return absl::DataLossError("state store: bad rescored_day entry");
  } else if (day.status().code() != absl::StatusCode::kNotFound) {
    return day.status();
  }
  // The last pass ran with other models (the process died after a reload,
  // before the pass with the new ones finished): that pass is still owed.
  auto models = store->ledger().GetMeta(kPassModels);
  if (models.ok() && scorer_ && *models != versions()) {
    spdlog::info("partition {}: last re-scoring pass used {}, now {}: re-scoring", partition,
                 *models, versions());
    info.rescored_day = 0;
  } else if (!models.ok() && models.status().code() != absl::StatusCode::kNotFound) {
    return models.status();
  }
  auto q = store->ledger().GetMeta(kQuantiles);
  info.quantiles_ready = rules_.quantiles_needed().empty() || q.ok();
  if (q.ok()) {
    auto table = QuantileTable::Parse(*q);
    if (!table.ok()) return table.status();
    info.quantiles = std::move(*table);
  } else if (q.status().code() != absl::StatusCode::kNotFound) {
    return q.status();
  }
  info.store = store;
  stores_[partition] = std::move(info);
  return absl::OkStatus();
}

void ScoreStage::CloseStore(int32_t partition) {
  auto it = stores_.find(partition);
  if (it == stores_.end()) return;
  // Scores still in flight for this store (a close without a drain, after a
  // failure) are never recorded: their customers stay pending in the store and
  // are scored again by its next owner. The flights stay until their delivery
  // reports arrive (the producer points at them).
  for (auto& f : inflight_) {
    if (f->store == it->second.store) f->store = nullptr;
  }
  stores_.erase(it);
  UpdateDrift();
}

void ScoreStage::UpdateDrift() {
  counters_.drift.clear();
  if (!scorer_) return;
  ScoreDrift all(*scorer_);
  bool any = false;
  for (const auto& [p, info] : stores_) {
    if (!info.drift) continue;
    all.Merge(*info.drift);
    any = true;
  }
  if (any) counters_.drift = all.Reports();
}

absl::Status ScoreStage::ScoreCustomers(const std::vector<Work>& work) {
  if (!scorer_ || work.empty()) return absl::OkStatus();
  // Partition stores are independent: features, models, rules and reasons run
  // in parallel (one task per store, at most one thread per core); sending is
  // in order on this thread.
  struct Task {
    const Work* work;
    const StoreInfo* info;
    ScoringCounters counters;
    absl::StatusOr<std::unique_ptr<InFlight>> flight = absl::UnknownError("not run");
  };
  std::vector<Task> tasks;
  for (const Work& w : work) {
    StoreInfo& info = stores_[w.partition];
    // No quantile table yet while a pass can make one (the watermark is set):
    // the customers stay pending and the store's first pass (once caught up)
    // scores them with the table, so no score goes out without its quantile
    // segments. A store of fewer than watermark_events events has no pass yet
    // and is scored without one.
    if (options_.quantiles_first && !info.quantiles_ready && w.store->watermark_ms() > 0) {
      // A pass making the table scores them as soon as it is made.
      if (info.pass) info.pass->held.insert(w.keys.begin(), w.keys.end());
      continue;
    }
    if (!w.keys.empty()) tasks.push_back({&w, &info, {}, absl::UnknownError("not run")});
  }
  auto run = [&](Task& t) {
    FeatureStore* store = t.work->store;
    const int32_t horizon = store->horizon_first_day();
    std::vector<ScoreRow> rows;
    rows.reserve(t.work->keys.size());
    // Before reading any state: a touch after this is not covered by the score.
    const uint64_t scored_at = store->applied_batches();
    const int64_t max_time = store->watermark_ms();
    for (const CustomerKey& key : t.work->keys) {
      absl::Status s = store->ReadState(key, [&](const CustomerState& state) {
        const int64_t as_of = EventScoreAsOf(state.last_event_ms(), max_time, FloorDay(*t.info));
        // Outside the population (the trainer's rule): not scored, no longer pending.
        if (!state.InPopulation(as_of, horizon)) return;
        rows.push_back({key, state.ComputeFeatures(as_of, horizon), as_of});
      });
      if (s.code() == absl::StatusCode::kNotFound) continue;
      if (!s.ok()) {
        t.flight = s;
        return;
      }
    }
    t.flight = Prepare(store, *t.info, rows, nullptr, t.work->keys, {}, scored_at, &t.counters);
    if (t.flight.ok()) (*t.flight)->oldest_record_ms = t.work->oldest_record_ms;
  };
  ParallelFor(tasks.size(), [&](size_t i) { run(tasks[i]); });
  for (Task& t : tasks) {
    counters_.scored += t.counters.scored;
    counters_.unchanged += t.counters.unchanged;
    counters_.score_ms += t.counters.score_ms;
  }
  for (Task& t : tasks) {
    if (!t.flight.ok()) return t.flight.status();
    absl::Status s = Publish(std::move(*t.flight));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

std::map<int32_t, int32_t> ScoreStage::RescoredDays() const {
  std::map<int32_t, int32_t> out;
  for (const auto& [p, info] : stores_) out[p] = info.rescored_day;
  return out;
}

std::set<int32_t> ScoreStage::Passing() const {
  std::set<int32_t> out;
  for (const auto& [p, info] : stores_) {
    if (info.pass) out.insert(p);
  }
  return out;
}

int32_t ScoreStage::FloorDay(const StoreInfo& info) {
  return info.pass ? std::max(info.rescored_day, info.pass->day) : info.rescored_day;
}

absl::Status ScoreStage::Rescore(int32_t partition, FeatureStore* store) {
  if (!scorer_) return absl::OkStatus();
  // Every customer applied so far is visited (ScanPage reads what is flushed).
  if (absl::Status s = store->Flush(); !s.ok()) return s;
  if (absl::Status s = StartPass(partition); !s.ok()) return s;
  for (;;) {
    auto done = PassStep(partition);
    if (!done.ok()) return done.status();
    if (*done) return absl::OkStatus();
  }
}

absl::Status ScoreStage::StartPass(int32_t partition) {
  auto it = stores_.find(partition);
  if (!scorer_ || it == stores_.end()) return absl::OkStatus();
  StoreInfo& info = it->second;
  info.pass.reset();
  const int64_t watermark = info.store->watermark_ms();
  if (watermark <= 0) return absl::OkStatus();
  auto pass = std::make_unique<Pass>();
  pass->day = DayOf(watermark);
  pass->started = std::chrono::steady_clock::now();
  pass->quantiles_done = rules_.quantiles_needed().empty();
  pass->drift = ScoreDrift(*scorer_);
  auto pending = info.store->ledger().ReadPending();
  if (!pending.ok()) return pending.status();
  pass->pending.insert(pending->begin(), pending->end());
  info.pass = std::move(pass);
  return absl::OkStatus();
}

absl::StatusOr<bool> ScoreStage::PassStep(int32_t partition) {
  auto it = stores_.find(partition);
  if (it == stores_.end() || !it->second.pass) return true;
  StoreInfo& info = it->second;
  Pass& pass = *info.pass;
  FeatureStore* store = info.store;
  const int32_t day = pass.day;
  const int32_t horizon = store->horizon_first_day();
  auto as_of = [&](const CustomerState& s) { return RescoreAsOf(s.last_event_ms(), day); };
  ++pass.steps;

  // A step that fails changes nothing of the pass: a retry redoes it.
  if (!pass.quantiles_done) {  // first the population's quantiles as of the day
    std::vector<std::pair<std::string, Features>> sample;
    auto next = store->ledger().ScanPage(
        pass.cursor, options_.chunk,
        [&](const CustomerKey& k, const CustomerState& st, const std::string*) {
          const int64_t t = as_of(st);
          if (st.InPopulation(t, horizon))
            sample.emplace_back(k.shop_id, st.ComputeFeatures(t, horizon));
          return absl::OkStatus();
        });
    if (!next.ok()) return next.status();
    for (const auto& [shop, f] : sample) pass.table.Add(shop, f, rules_.quantiles_needed());
    pass.cursor = std::move(*next);
    if (!pass.cursor.empty()) return false;
    pass.table.Finish();
    info.quantiles = pass.table;
    info.quantiles_ready = true;
    pass.quantiles_done = true;
    return false;
  }
  if (!pass.held.empty()) {  // touched while the store had no table: scored now, as touched
    auto end = pass.held.begin();
    for (size_t n = 0; n < options_.chunk && end != pass.held.end(); ++n) ++end;
    if (absl::Status s = ScoreCustomers({{partition, store, {pass.held.begin(), end}}}); !s.ok())
      return s;
    pass.held.erase(pass.held.begin(), end);
    return false;
  }

  if (pass.final_sent) return FinishPass(partition, info);  // a retry after the last step
  // The pass compares with the last delivered scores: record all of them first.
  if (absl::Status s = Drain(/*wait=*/true); !s.ok()) return s;
  // Before reading any state: a touch after this is not covered by the score.
  const uint64_t scored_at = store->applied_batches();
  std::vector<ScoreRow> rows;
  std::vector<std::string> last_bytes;
  std::vector<bool> has_last;
  std::vector<CustomerKey> done;
  auto next = store->ledger().ScanPage(
      pass.cursor, options_.chunk,
      [&](const CustomerKey& k, const CustomerState& st, const std::string* last) {
        const bool pending = pass.pending.count(k) > 0;
        if (pending) done.push_back(k);
        if (!st.InPopulation(as_of(st), horizon)) return absl::OkStatus();  // the trainer's rule
        rows.push_back({k, st.ComputeFeatures(as_of(st), horizon), as_of(st)});
        last_bytes.push_back(last != nullptr ? *last : std::string());
        has_last.push_back(last != nullptr);
        return absl::OkStatus();
      });
  if (!next.ok()) return next.status();
  const bool final = next->empty();
  // Each last score parsed once, outside the store's lock (none: never
  // published, or unreadable: the re-score is published).
  std::vector<std::optional<v1::CustomerScore>> lasts(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (has_last[i] && !lasts[i].emplace().ParseFromString(last_bytes[i])) lasts[i].reset();
  }
  std::vector<ScoreRow> same_rows;
  std::vector<v1::CustomerScore> same_scores;
  SetAsideSameInputs(info, rows, lasts, &same_rows, &same_scores);
  std::vector<const v1::CustomerScore*> compare(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) compare[i] = lasts[i] ? &*lasts[i] : nullptr;
  std::vector<std::pair<std::string, std::string>> meta;
  if (final) {
    meta = {{kRescoredDay, std::to_string(day)},
            {kQuantiles, info.quantiles.Serialize()},
            {kPassModels, versions()}};
  }
  const auto scored = static_cast<int64_t>(rows.size());
  const int64_t unchanged_before = counters_.unchanged;
  ScoreDrift drift(*scorer_);
  absl::Status s = ScoreAndPublish(store, info, rows, &compare, done, meta, scored_at, &drift);
  if (!s.ok()) return s;
  pass.published += scored - (counters_.unchanged - unchanged_before);
  drift.Add(same_rows, same_scores);
  pass.drift.Merge(drift);
  pass.cursor = std::move(*next);
  const auto same = static_cast<int64_t>(same_rows.size());
  counters_.unchanged += same;
  counters_.same_inputs += same;
  pass.customers += scored + same;
  pass.same_inputs += same;
  if (!final) {
    // Tests kill here: part of a re-scoring pass published, the rest not.
    RECUR_SYNC_POINT("ScoreStage::RescoreChunk");
    return false;
  }
  pass.final_sent = true;
  // Tests kill here: the pass is published, its scores not yet recorded.
  RECUR_SYNC_POINT("ScoreStage::RescorePublished");
  return FinishPass(partition, info);
}

absl::StatusOr<bool> ScoreStage::FinishPass(int32_t partition, StoreInfo& info) {
  const Pass& pass = *info.pass;
  const int32_t day = pass.day;
  if (absl::Status d = Drain(/*wait=*/true); !d.ok()) return d;
  info.rescored_day = day;
  info.drift = std::move(pass.drift);
  UpdateDrift();
  ++counters_.passes;
  spdlog::info(
      "partition {}: re-scored {} customers as of day {} in {} ms ({} steps; {} kept their last "
      "score without a model call: same inputs), {} changed scores published",
      partition, pass.customers, FormatDay(day),
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                            pass.started)
          .count(),
      pass.steps, pass.same_inputs, pass.published);
  info.pass.reset();
  return true;
}

absl::StatusOr<std::unique_ptr<ScoreStage::InFlight>> ScoreStage::Prepare(
    FeatureStore* store, const StoreInfo& info, std::vector<ScoreRow>& rows,
    const std::vector<const v1::CustomerScore*>* compare, const std::vector<CustomerKey>& done,
    const std::vector<std::pair<std::string, std::string>>& meta, uint64_t scored_at,
    ScoringCounters* counters, ScoreDrift* drift) const {
  const auto t0 = std::chrono::steady_clock::now();
  auto scores = scorer_->Score(rows);
  if (!scores.ok()) return scores.status();
  counters->scored += static_cast<int64_t>(rows.size());
  if (drift != nullptr) drift->Add(rows, *scores);
  std::vector<const ScoreRow*> publish_rows;
  std::vector<v1::CustomerScore*> publish_scores;
  for (size_t i = 0; i < rows.size(); ++i) {
    v1::CustomerScore& sc = (*scores)[i];
    Segmentation seg = rules_.Evaluate(Probability(sc, Target::kActivityDecline90d),
                                       Probability(sc, Target::kRepurchase30d), rows[i].features,
                                       info.quantiles.ForShop(rows[i].key.shop_id));
    for (auto& name : seg.segments) sc.add_segments(std::move(name));
    for (auto& action : seg.actions) sc.add_actions(std::move(action));
    // Event-driven scores (no `compare`) are always published; a re-score
    // only when ShouldPublish says it changed.
    if (compare != nullptr) {
      if (!ShouldPublish((*compare)[i], sc, options_.epsilon)) {
        ++counters->unchanged;
        continue;
      }
    }
    publish_rows.push_back(&rows[i]);
    publish_scores.push_back(&sc);
  }
  absl::Status s = scorer_->AddReasons(publish_rows, publish_scores);
  if (!s.ok()) return s;
  auto flight = std::make_unique<InFlight>();
  flight->store = store;
  flight->scored_at = scored_at;
  flight->done = done;
  flight->meta = meta;
  flight->published.reserve(publish_rows.size());
  for (size_t i = 0; i < publish_rows.size(); ++i) {
    counters->risk.Observe(Probability(*publish_scores[i], Target::kActivityDecline90d));
    counters->repurchase.Observe(Probability(*publish_scores[i], Target::kRepurchase30d));
    std::string bytes;
    if (!publish_scores[i]->SerializeToString(&bytes))
      return absl::InternalError("score serialisation failed");
    flight->topic_size.push_back(bytes.size());
    // The store's copy carries the inputs' digest: appended as a field, so the
    // bytes still parse as the published message (field order does not count).
    if (const uint64_t key = InputsKey(*publish_rows[i]); key != 0) {
      v1::CustomerScore field;
      field.set_inputs_key(key);
      bytes += field.SerializeAsString();
    }
    flight->published.emplace_back(publish_rows[i]->key, std::move(bytes));
  }
  counters->score_ms +=
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  return flight;
}

uint64_t ScoreStage::InputsKey(const ScoreRow& row) const {
  const std::optional<uint64_t> key = scorer_->InputsKey(row.features);
  if (!key) return 0;
  return *key == 0 ? 1 : *key;  // 0 means none
}

bool ScoreStage::SameInputs(const ScoreRow& row, const StoreInfo& info,
                            const v1::CustomerScore& last) const {
  if (last.inputs_key() == 0 || last.risk_model_version() != scorer_->risk_version() ||
      last.repurchase_model_version() != scorer_->repurchase_version() ||
      last.schema_hash() != schema_ || InputsKey(row) != last.inputs_key())
    return false;
  // The models would return exactly the last probabilities. What the pass
  // would do with them is ShouldPublish's, against the segments and actions
  // the rules give them with today's features and quantiles.
  v1::CustomerScore next = last;
  Segmentation seg = rules_.Evaluate(Probability(next, Target::kActivityDecline90d),
                                     Probability(next, Target::kRepurchase30d), row.features,
                                     info.quantiles.ForShop(row.key.shop_id));
  next.clear_segments();
  next.clear_actions();
  for (auto& name : seg.segments) next.add_segments(std::move(name));
  for (auto& action : seg.actions) next.add_actions(std::move(action));
  return !ShouldPublish(&last, next, options_.epsilon);
}

void ScoreStage::SetAsideSameInputs(const StoreInfo& info, std::vector<ScoreRow>& rows,
                                    std::vector<std::optional<v1::CustomerScore>>& lasts,
                                    std::vector<ScoreRow>* same_rows,
                                    std::vector<v1::CustomerScore>* same_scores) const {
  if (!options_.skip_unchanged) return;
  size_t kept = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (lasts[i] && SameInputs(rows[i], info, *lasts[i])) {
      same_rows->push_back(std::move(rows[i]));
      same_scores->push_back(*std::move(lasts[i]));
      continue;
    }
    if (kept != i) {
      rows[kept] = std::move(rows[i]);
      lasts[kept] = std::move(lasts[i]);
    }
    ++kept;
  }
  rows.resize(kept);
  lasts.resize(kept);
}

absl::Status ScoreStage::Publish(std::unique_ptr<InFlight> flight) {
  for (size_t i = 0; i < flight->published.size(); ++i) {
    const auto& [key, bytes] = flight->published[i];
    absl::Status s = producer_->Send(topic_, key.Encode(),
                                     std::string_view(bytes).substr(0, flight->topic_size[i]), {},
                                     RD_KAFKA_PARTITION_UA, &flight->group);
    if (!s.ok()) return s;
  }
  inflight_.push_back(std::move(flight));
  return Drain(/*wait=*/inflight_.size() > kMaxInFlight);
}

absl::Status ScoreStage::ScoreAndPublish(
    FeatureStore* store, const StoreInfo& info, std::vector<ScoreRow>& rows,
    const std::vector<const v1::CustomerScore*>* compare, const std::vector<CustomerKey>& done,
    const std::vector<std::pair<std::string, std::string>>& meta, uint64_t scored_at,
    ScoreDrift* drift) {
  auto flight = Prepare(store, info, rows, compare, done, meta, scored_at, &counters_, drift);
  if (!flight.ok()) return flight.status();
  return Publish(std::move(*flight));
}

absl::Status ScoreStage::Drain(bool wait) {
  const auto start = std::chrono::steady_clock::now();
  for (int waited_ms = 0;;) {
    producer_->Poll(0);
    while (!inflight_.empty() && inflight_.front()->group.outstanding == 0) {
      InFlight& f = *inflight_.front();
      if (!f.group.error.ok()) {
        return absl::Status(f.group.error.code(),
                            absl::StrCat("score delivery: ", f.group.error.message()));
      }
      if (f.store != nullptr) {
        absl::Status s = f.store->ledger().Commit(f.published, f.done, f.meta, f.scored_at);
        if (!s.ok()) return s;
      }
      counters_.published += static_cast<int64_t>(f.published.size());
      if (f.oldest_record_ms >= 0 && !f.published.empty()) {
        const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
        counters_.event_to_score.Observe(
            static_cast<double>(std::max<int64_t>(0, now_ms - f.oldest_record_ms)) / 1000.0,
            static_cast<int64_t>(f.published.size()));
      }
      inflight_.pop_front();
    }
    if (inflight_.empty() || (!wait && inflight_.size() <= kMaxInFlight)) break;
    if (waited_ms >= 60'000) {
      return absl::UnavailableError(
          absl::StrCat(inflight_.front()->group.outstanding,
                       " scores undelivered after 60 s (is the broker reachable?)"));
    }
    producer_->Poll(10);
    waited_ms += 10;
  }
  counters_.deliver_ms += std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  return absl::OkStatus();
}

}  // namespace recur
