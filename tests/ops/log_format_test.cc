// `recur --log-format json` (ops/log_format.h): each line one JSON object with
// ts, level, component (the logging thread) and, when the message is about one,
// the partition; bad bytes in a message never cost the line.
#include "ops/log_format.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

std::vector<nlohmann::json> Lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.push_back(nlohmann::json::parse(line));  // throws (fails the test) when not JSON
  }
  return out;
}

TEST(LogFormatTest, EachLineIsOneJsonObjectWithLevelComponentAndPartition) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  spdlog::logger logger("test", sink);
  logger.set_formatter(MakeJsonLogFormatter());
  logger.info("partition 3: re-scored {} customers", 12);
  logger.warn("partitions revoked, stores closed");
  logger.error("bad bytes \xff\xfe \"quoted\"\nsecond line");
  std::thread scorer([&] {
    pthread_setname_np(pthread_self(), "recur-score");
    logger.info("partition 12 scored");
  });
  scorer.join();
  logger.flush();
  const std::vector<nlohmann::json> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  EXPECT_EQ(lines[0]["level"], "info");
  EXPECT_EQ(lines[0]["component"], "pipeline");
  EXPECT_EQ(lines[0]["partition"], 3);
  EXPECT_EQ(lines[0]["msg"], "partition 3: re-scored 12 customers");
  EXPECT_EQ(lines[0]["ts"].get<std::string>().size(),
            std::string("2026-12-04T16:54:20.123Z").size());
  EXPECT_EQ(lines[1]["level"], "warning");
  EXPECT_FALSE(lines[1].contains("partition"));  // "partitions", not one partition
  EXPECT_EQ(lines[2]["level"], "error");
  EXPECT_NE(lines[2]["msg"].get<std::string>().find("\"quoted\"\nsecond line"), std::string::npos);
  EXPECT_EQ(lines[3]["component"], "scorer");
  EXPECT_EQ(lines[3]["partition"], 12);
}

TEST(LogFormatTest, OnlyTextAndJsonAreFormats) {
  EXPECT_TRUE(UseLogFormat("text").ok());
  EXPECT_EQ(UseLogFormat("xml").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recur
