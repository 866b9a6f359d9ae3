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

// SPEC 12 [audit]: defaults without the section, values, errors.
TEST(OpsConfigTest, AuditDefaultsValuesAndErrors) {
  Result<Config> defaults = ParseConfig(kBase, "t.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->audit.mode, "sync");
  EXPECT_EQ(defaults->audit.server_id, "");
  EXPECT_EQ(defaults->audit.checkpoint_interval_s, 10);
  EXPECT_EQ(defaults->audit.checkpoint_file, "");
  EXPECT_EQ(defaults->audit.signing_key_label, "strongroom-audit");
  Result<Config> config =
      ParseConfig(std::string(kBase) +
                      "[audit]\nmode = \"async\"\nserver_id = \"vault1:8700\"\n"
                      "checkpoint_interval = 30\ncheckpoint_file = \"a.jsonl\"\n"
                      "signing_key_label = \"audit-2\"\n",
                  "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->audit.mode, "async");
  EXPECT_EQ(config->audit.server_id, "vault1:8700");
  EXPECT_EQ(config->audit.checkpoint_interval_s, 30);
  EXPECT_EQ(config->audit.checkpoint_file, "a.jsonl");
  EXPECT_EQ(config->audit.signing_key_label, "audit-2");
  ExpectError("[audit]\nmode = \"sometimes\"\n", "audit.mode",
              "must be \"sync\", \"async\" or \"off\"");
  ExpectError("[audit]\ncheckpoint_interval = 0\n", "audit.checkpoint_interval",
              "must be between 1 and 86400");
  ExpectError("[audit]\nserver_id = \"\"\n", "audit.server_id", "must not be empty");
  ExpectError("[audit]\nsigning_key = \"x\"\n", "audit.signing_key", "unknown key");
}

}  // namespace
}  // namespace strongroom::config
