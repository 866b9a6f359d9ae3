// The SPEC 14 sections [limits] and [log]: defaults, values, and errors that
// name the file, the key and the reason.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "config/config.h"

namespace strongroom::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* kBase = R"(
[store]
path = "/var/lib/strongroom/vault.db"
[hsm]
pin_env = "STRONGROOM_HSM_PIN"
)";

TEST(OpsConfigTest, DefaultsAreThirtyAuthFailuresNoRequestLimitAndTextLogs) {
  Result<Config> config = ParseConfig(kBase, "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->limits.auth_failures_per_minute_per_ip, 30);
  EXPECT_EQ(config->limits.requests_per_second_per_identity, 0);
  EXPECT_EQ(config->log.format, "text");
}

TEST(OpsConfigTest, ReadsLimitsAndLogFormat) {
  Result<Config> config = ParseConfig(std::string(kBase) +
                                          "[limits]\nauth_failures_per_minute_per_ip = 0\n"
                                          "requests_per_second_per_identity = 50\n"
                                          "[log]\nformat = \"json\"\n",
                                      "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->limits.auth_failures_per_minute_per_ip, 0);
  EXPECT_EQ(config->limits.requests_per_second_per_identity, 50);
  EXPECT_EQ(config->log.format, "json");
}

void ExpectError(const std::string& extra, const std::string& key, const std::string& reason) {
  Result<Config> config = ParseConfig(std::string(kBase) + extra, "t.toml");
  ASSERT_FALSE(config.ok()) << key;
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().error_code(), "invalid_config");
  EXPECT_THAT(config.status().message(), HasSubstr("t.toml: " + key + ": " + reason));
}

TEST(OpsConfigTest, BadValuesNameFileKeyAndReason) {
  ExpectError("[limits]\nauth_failures_per_minute_per_ip = -1\n",
              "limits.auth_failures_per_minute_per_ip", "must be between 0 and 1000000");
  ExpectError("[limits]\nrequests_per_second_per_identity = -5\n",
              "limits.requests_per_second_per_identity", "must be between 0 and 1000000");
  ExpectError("[limits]\nrequests_per_second_per_identity = \"10\"\n",
              "limits.requests_per_second_per_identity", "expected an integer");
  ExpectError("[limits]\nper_ip = 3\n", "limits.per_ip", "unknown key");
  ExpectError("[log]\nformat = \"xml\"\n", "log.format", "must be \"text\" or \"json\"");
  ExpectError("[log]\nlevel = \"info\"\n", "log.level", "unknown key");
}

}  // namespace
}  // namespace strongroom::config
