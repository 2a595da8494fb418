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

TEST(KafkaPropertiesTest, SecretLookingNamesAreRecognised) {
  for (const char* name :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password",
        "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config", "sasl.jaas.config",
        "ssl.key.pem", "--SASL.PASSWORD", "api_token", "aws_secret_access_key", "credentials"}) {
    EXPECT_TRUE(LooksSecret(name)) << name;
  }
  for (const char* name : {"security.protocol", "sasl.mechanism", "sasl.username",
                           "ssl.ca.location", "bootstrap.servers", "--brokers", "-X"}) {
    EXPECT_FALSE(LooksSecret(name)) << name;
  }
}

// What CLI11 prints for arguments it cannot place: "The following arguments
// were not expected: ARG ARG ..." (in its own order).
TEST(KafkaPropertiesTest, AParserErrorNeverEchoesASecretArgument) {
  const std::vector<std::vector<std::string>> cases = {
      {"run", "-x", "sasl.password=SECRET123"},
      {"run", "--X", "ssl.key.password:SECRET123"},
      {"run", "--sasl.password=SECRET123"},
      {"produce", "-x", "sasl.password", "SECRET123"},
      {"run", "-Xsasl.oauthbearer.client.secret=SECRET123"},
      {"run", "-x", "sasl.jaas.config=a required password=\"SECRET123\";"},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (auto it = args.rbegin(); it != args.rend(); ++it) joined += *it + " ";
    const std::string message = "The following arguments were not expected: " + joined;
    const std::string shown = RedactSecretArgs(message, args);
    EXPECT_EQ(shown.find("SECRET123"), std::string::npos) << shown;
    EXPECT_NE(shown.find("<not shown>"), std::string::npos) << shown;
    EXPECT_NE(shown.find("not expected"), std::string::npos) << shown;
  }
  // Nothing secret: the message is left as it is (names and values help).
  const std::vector<std::string> plain = {"run", "-x", "security.protocol=SASL_SSL", "--brokers",
                                          "127.0.0.1:9092"};
  const std::string message =
      "The following arguments were not expected: security.protocol=SASL_SSL -x";
  EXPECT_EQ(RedactSecretArgs(message, plain), message);
}

}  // namespace
}  // namespace recur
