// score_latency: the end-to-end driver behind the event-to-score latency figure.
// Publishes session events at a fixed rate to a real broker, each with
// event_time = the moment it is sent, then reads the scores topic (created with
// message.timestamp.type=LogAppendTime) and reports, per score, broker append
// time of the score minus its as_of (= the customer's latest event time).
//   score_latency --brokers 127.0.0.1:19490 --rate 20000 --seconds 30
// Run by tests/bench/score_latency.sh, which starts the broker and `recur run`.
#include <chrono>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "proto/recur.pb.h"
#include "streams/kafka.h"
#include "streams/producer.h"

namespace {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Event-to-score latency against a running `recur run`"};
  std::string brokers, scores_topic = "recur.scores";
  int rate = 20'000, seconds = 30, customers = 200'000, settle_s = 10;
  app.add_option("--brokers", brokers, "bootstrap servers")->required();
  app.add_option("--rate", rate, "events per second")->capture_default_str();
  app.add_option("--seconds", seconds, "how long to publish")->capture_default_str();
  app.add_option("--customers", customers, "distinct customers (3 shops)")->capture_default_str();
  app.add_option("--scores-topic", scores_topic, "scores topic (LogAppendTime)")
      ->capture_default_str();
  app.add_option("--settle", settle_s, "seconds to wait for the last scores")
      ->capture_default_str();
  std::string id_prefix = "lat-";
  app.add_option("--id-prefix", id_prefix,
                 "event ids are <prefix><n>: a second run needs another one (or its events are "
                 "duplicates)")
      ->capture_default_str();
  int window_s = 5, warmup_s = 0;
  app.add_option("--warmup", warmup_s,
                 "publish at the rate this many seconds first; their scores are reported apart "
                 "(a new store's first pass, cold caches) and left out of the totals")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--window", window_s, "seconds per window of send time in the breakdown")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bool no_scores = false;
  app.add_flag("--no-scores", no_scores,
               "publish only (an ingest-only `recur run`): no scores are read");
  CLI11_PARSE(app, argc, argv);

  recur::TopicNames topics;
  auto producer = recur::Producer::Create({{"bootstrap.servers", brokers}, {"linger.ms", "2"}});
  if (!producer.ok()) {
    std::cerr << producer.status() << "\n";
    return 1;
  }
  std::mt19937_64 rng(11);
  const int64_t start = NowMs();
  int64_t sent = 0;
  const auto t0 = std::chrono::steady_clock::now();
  std::string bytes;
  while (true) {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (elapsed >= warmup_s + seconds) break;
    const int64_t due = static_cast<int64_t>(elapsed * rate);
    for (; sent < due; ++sent) {
      const int c = static_cast<int>(rng() % static_cast<uint64_t>(customers));
      recur::v1::Event e;
      e.set_shop_id(absl::StrCat("shop-", c % 3 + 1));
      e.set_customer_id(absl::StrCat("c-", c));
      e.set_event_id(absl::StrCat(id_prefix, sent));
      e.set_event_time_ms(NowMs());
      auto* s = e.mutable_session();
      s->set_minutes(3);
      s->set_pages(4);
      e.SerializeToString(&bytes);
      absl::Status st =
          (*producer)->Send(topics.ForEvent(e), e.shop_id() + "/" + e.customer_id(), bytes, {});
      if (!st.ok()) {
        std::cerr << st << "\n";
        return 1;
      }
    }
    rd_kafka_poll((*producer)->handle(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (absl::Status st = (*producer)->Flush(absl::Seconds(30)); !st.ok()) {
    std::cerr << st << "\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::seconds(settle_s));
  if (no_scores) {
    std::cout << "events " << sent << " in " << warmup_s + seconds << " s ("
              << sent / (warmup_s + seconds) << "/s), published only\n";
    return 0;
  }

  auto conf = recur::MakeConf({{"bootstrap.servers", brokers},
                               {"group.id", absl::StrCat("latency-", start)},
                               {"enable.partition.eof", "true"},
                               {"auto.offset.reset", "earliest"},
                               {"enable.auto.commit", "false"}});
  auto rk = recur::NewKafka(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) {
    std::cerr << rk.status() << "\n";
    return 1;
  }
  rd_kafka_poll_set_consumer(rk->get());
  recur::KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), scores_topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk->get(), list.get());
  std::vector<int64_t> latency, warmup;
  const int64_t measured = start + 1000LL * warmup_s;  // send time where the totals start
  std::vector<std::vector<int64_t>> by_window;         // by window of the event's send time
  int eof = 0, idle = 0, partitions = 0;
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk->get(), scores_topic.c_str(), nullptr);
  if (rd_kafka_metadata(rk->get(), 0, t, &md, 10'000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      md->topic_cnt == 1) {
    partitions = md->topics[0].partition_cnt;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(t);
  recur::v1::CustomerScore score;
  while (eof < partitions && idle < 200) {
    recur::KafkaMessagePtr m(rd_kafka_consumer_poll(rk->get(), 100));
    if (!m) {
      ++idle;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++eof;
      continue;
    }
    if (m->err) continue;
    rd_kafka_timestamp_type_t type;
    const int64_t ts = rd_kafka_message_timestamp(m.get(), &type);
    if (!score.ParseFromArray(m->payload, static_cast<int>(m->len)) || score.as_of_ms() < start)
      continue;
    if (type != RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) {
      std::cerr << "scores topic must use message.timestamp.type=LogAppendTime\n";
      return 1;
    }
    const int64_t ms = ts - score.as_of_ms();
    (score.as_of_ms() < measured ? warmup : latency).push_back(ms);
    const size_t w = static_cast<size_t>((score.as_of_ms() - start) / (1000 * window_s));
    if (by_window.size() <= w) by_window.resize(w + 1);
    by_window[w].push_back(ms);
  }
  rd_kafka_consumer_close(rk->get());
  if (latency.empty()) {
    std::cerr << "no scores of this run found in " << scores_topic << "\n";
    return 1;
  }
  auto pct = [](std::vector<int64_t>& v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
  };
  if (!warmup.empty()) {
    std::cout << "warm-up " << warmup_s << " s: scores " << warmup.size() << ", p50 "
              << pct(warmup, 0.5) << " p99 " << pct(warmup, 0.99) << " max " << pct(warmup, 1.0)
              << " (not in the totals)\n";
  }
  std::cout << "events " << sent << " in " << warmup_s + seconds << " s ("
            << sent / (warmup_s + seconds) << "/s), scores"
            << (warmup_s > 0 ? " after the warm-up " : " ") << latency.size()
            << ", event-to-score latency ms: p50 " << pct(latency, 0.5) << " p90 "
            << pct(latency, 0.9) << " p99 " << pct(latency, 0.99) << " p99.9 "
            << pct(latency, 0.999) << " max " << pct(latency, 1.0) << "\n";
  // Whether latency builds up over the run (a backlog) or is there from the start.
  for (size_t w = 0; w < by_window.size(); ++w) {
    if (by_window[w].empty()) continue;
    std::cout << (w * window_s < static_cast<size_t>(warmup_s) ? "  (warm-up) " : "  ")
              << "events sent in " << w * window_s << "-" << (w + 1) * window_s << " s: scores "
              << by_window[w].size() << ", p50 " << pct(by_window[w], 0.5) << " p99 "
              << pct(by_window[w], 0.99) << " p99.9 " << pct(by_window[w], 0.999) << " max "
              << pct(by_window[w], 1.0) << "\n";
  }
  return 0;
}
