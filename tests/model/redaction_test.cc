#include "model/redaction.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace strongroom::model {
namespace {

using nlohmann::json;

TEST(RedactionTest, TotpSeedRedactedBackupCodesKept) {
  json data = {{"secret", "JBSWY3DPEHPK3PXP"},
               {"backupCodes", {"c-3", "c-4"}},
               {"usedBackupCodes", {"c-1", "c-2"}}};
  json out = RedactData(CredentialType::kTotp, data);
  EXPECT_EQ(out["secret"], "[REDACTED]");
  EXPECT_EQ(out["backupCodes"], json({"c-3", "c-4"}));
  EXPECT_EQ(out["usedBackupCodes"], json({"c-1", "c-2"}));
  EXPECT_EQ(data["secret"], "JBSWY3DPEHPK3PXP") << "input must not be modified";
}

TEST(RedactionTest, TotpAlwaysHasBothCodeLists) {
  json out = RedactData(CredentialType::kTotp, {{"secret", "JBSWY3DPEHPK3PXP"}});
  EXPECT_EQ(out, json({{"secret", "[REDACTED]"},
                       {"backupCodes", json::array()},
                       {"usedBackupCodes", json::array()}}));
  out = RedactData(CredentialType::kTotp, {{"secret", "S"}, {"usedBackupCodes", {"u"}}});
  EXPECT_EQ(out["backupCodes"], json::array());
  EXPECT_EQ(out["usedBackupCodes"], json({"u"}));
  out = RedactData(CredentialType::kTotp, {{"secret", "S"}, {"backupCodes", {"b"}}});
  EXPECT_EQ(out["backupCodes"], json({"b"}));
  EXPECT_EQ(out["usedBackupCodes"], json::array());
  // Only a TOTP credential gains them: a login with 2FA is not a TOTP credential.
  out = RedactData(CredentialType::kLogin, {{"password", "p"}, {"totp", "JBSWY3DPEHPK3PXP"}});
  EXPECT_FALSE(out.contains("backupCodes"));
  EXPECT_FALSE(out.contains("usedBackupCodes"));

  std::string text;
  ASSERT_TRUE(AppendRedactedData(&text, CredentialType::kTotp, R"({"secret":"JBSWY3DPEHPK3PXP"})"));
  EXPECT_EQ(text, R"({"backupCodes":[],"secret":"[REDACTED]","usedBackupCodes":[]})");
}

TEST(RedactionTest, CardAndShippingAddressReturnedAsIs) {
  json card = {{"cardholder", "A"}, {"number", "4111 1111 1111 1111"},
               {"expMonth", "09"},  {"expYear", "2030"},
               {"cvc", "123"},      {"zip", "94105"}};
  EXPECT_EQ(RedactData(CredentialType::kCard, card), card);
  json address = {{"name", "A"},     {"line1", "1 Main St"}, {"city", "X"},
                  {"postcode", "1"}, {"country", "US"},      {"phone", "+1"}};
  EXPECT_EQ(RedactData(CredentialType::kShippingAddress, address), address);
}

TEST(RedactionTest, TotpFieldRedactedOnAnyType) {
  json data = {{"password", "hunter2"}, {"totp", "JBSWY3DPEHPK3PXP"}};
  json out = RedactData(CredentialType::kLogin, data);
  EXPECT_EQ(out["password"], "hunter2");
  EXPECT_EQ(out["totp"], "[REDACTED]");
}

TEST(RedactionTest, ApiKeyClientSecretIsNotATotpSeed) {
  json data = {{"clientId", "id"}, {"secret", "client-secret"}};
  EXPECT_EQ(RedactData(CredentialType::kApiKey, data), data);
}

TEST(RedactionTest, OtherTypesReturnedAsIs) {
  json data = {{"accessToken", "at"}, {"refreshToken", "rt"}, {"extra", "x"}};
  EXPECT_EQ(RedactData(CredentialType::kOauth, data), data);
}

TEST(RedactionTest, OtpauthUriRedactedBecauseItEmbedsASeed) {
  json data = {{"otpauthUri", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}, {"a", "b"}};
  json out = RedactData(CredentialType::kCustom, data);
  EXPECT_EQ(out["otpauthUri"], "[REDACTED]");
  EXPECT_EQ(out["a"], "b");
}

TEST(RedactionTest, NonObjectUnchanged) {
  EXPECT_EQ(RedactData(CredentialType::kTotp, json()), json());
  EXPECT_EQ(RedactData(CredentialType::kTotp, json::array()), json::array());
}

// AppendRedactedData == RedactData(type, parse(stored)).dump(), with or without a DOM.
TEST(RedactionTest, AppendRedactedDataMatchesRedactDataDumped) {
  const std::pair<CredentialType, json> cases[] = {
      {CredentialType::kApiKey, {{"key", "sk_\"x\"\\ü"}, {"n", 1.25}, {"list", {1, "two"}}}},
      {CredentialType::kTotp, {{"secret", "JBSWY3DPEHPK3PXP"}, {"backupCodes", {"1", "2"}}}},
      {CredentialType::kTotp, {{"secret", "JBSWY3DPEHPK3PXP"}}},
      {CredentialType::kTotp, {{"secret", "JBSWY3DPEHPK3PXP"}, {"usedBackupCodes", {"u"}}}},
      {CredentialType::kTotp,
       {{"a", "1"}, {"secret", "S"}, {"usedBackupCodes", json::array()}, {"z", "\u00e9"}}},
      {CredentialType::kCard,
       {{"number", "4111 1111 1111 1111"}, {"expMonth", "9"}, {"expYear", "30"}, {"cvc", "1"}}},
      {CredentialType::kCard, {{"number", "4111111111111111"}, {"totp", "JBSWY3DPEHPK3PXP"}}},
      {CredentialType::kShippingAddress,
       {{"name", "Zoë \"Q\""},
        {"line1", "1"},
        {"city", "c"},
        {"postcode", "p"},
        {"country", "US"}}},
      {CredentialType::kLogin, {{"password", "p"}, {"totp", "JBSWY3DPEHPK3PXP"}}},
      {CredentialType::kCustom, {{"otpauthUri", "otpauth://totp/a?secret=JBSWY3DPEHPK3PXP"}}},
      {CredentialType::kCustom, {{"note", "mentions \"totp\" and otpauthUri"}}},
      {CredentialType::kCustom, json::object()},
  };
  for (const auto& [type, data] : cases) {
    const std::string stored = data.dump();
    std::string out = "prefix:";
    ASSERT_TRUE(AppendRedactedData(&out, type, stored)) << stored;
    EXPECT_EQ(out, "prefix:" + RedactData(type, data).dump()) << stored;
  }
  std::string out;
  for (const std::string_view bad : {"", "[]", "\"s\"", "{", "null", "}{"}) {
    EXPECT_FALSE(AppendRedactedData(&out, CredentialType::kTotp, bad)) << bad;
  }
  for (const std::string_view bad : {"", "[1]", "{"}) {
    EXPECT_FALSE(AppendRedactedData(&out, CredentialType::kApiKey, bad)) << bad;
  }
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace strongroom::model
