// Kafka properties from the command line: parsed exactly, and no error ever
// prints a property's value (it may be a password), whatever went wrong.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "streams/kafka.h"

namespace recur {
namespace {

TEST(KafkaPropertiesTest, KeyValuePairsAreParsedAsGiven) {
  KafkaProperties props;
  ASSERT_TRUE(AddProperty("security.protocol=SASL_SSL", &props).ok());
  ASSERT_TRUE(AddProperty("sasl.jaas.config=a=b c=d", &props).ok());  // only the first '=' splits
  EXPECT_EQ(props.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(props.at("sasl.jaas.config"), "a=b c=d");
}

TEST(KafkaPropertiesTest, AMalformedArgumentNeverEchoesWhatFollowsTheName) {
  for (const std::string arg : {"sasl.password:SECRET123", "sasl.password SECRET123",
                                "ssl.key.password;SECRET123", "=SECRET123", "SECRET123"}) {
    KafkaProperties props;
    absl::Status s = AddProperty(arg, &props);
    ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << arg;
    EXPECT_NE(s.message().find("-X expects key=value"), std::string::npos) << s;
    if (arg != "SECRET123") {  // a bare word is a name, and shown as one
      EXPECT_EQ(s.message().find("SECRET123"), std::string::npos) << s;
    }
    EXPECT_TRUE(props.empty());
  }
  KafkaProperties props;
  absl::Status s = AddProperty("sasl.password:SECRET123", &props);
  EXPECT_NE(s.message().find("'sasl.password...'"), std::string::npos) << s;
}

TEST(KafkaPropertiesTest, AValueLibrdkafkaRefusesIsNotQuotedInTheError) {
  // librdkafka's own message quotes the value: "Invalid value "..." for ...".
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"security.protocol", "SECRET123"},
                                                        {"batch.num.messages", "SECRET123"},
                                                        {"no.such.property", "SECRET123"}}) {
    auto conf = MakeConf({{key, value}});
    ASSERT_FALSE(conf.ok()) << key;
    EXPECT_EQ(conf.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(conf.status().message().find(key), std::string::npos) << conf.status();
    EXPECT_EQ(conf.status().message().find("SECRET123"), std::string::npos) << conf.status();
  }
}

}  // namespace
}  // namespace recur
