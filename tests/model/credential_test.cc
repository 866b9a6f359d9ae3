#include "model/credential.h"

#include <gtest/gtest.h>

#include <iterator>

namespace strongroom::model {
namespace {

TEST(CredentialTest, TypeNamesRoundTrip) {
  const std::pair<CredentialType, std::string_view> kAll[] = {
      {CredentialType::kLogin, "LOGIN"},
      {CredentialType::kApiKey, "API_KEY"},
      {CredentialType::kOauth, "OAUTH"},
      {CredentialType::kTotp, "TOTP"},
      {CredentialType::kSshKey, "SSH_KEY"},
      {CredentialType::kDatabase, "DATABASE"},
      {CredentialType::kSmtp, "SMTP"},
      {CredentialType::kAws, "AWS"},
      {CredentialType::kCertificate, "CERTIFICATE"},
      {CredentialType::kCard, "CARD"},
      {CredentialType::kShippingAddress, "SHIPPING_ADDRESS"},
      {CredentialType::kCustom, "CUSTOM"},
  };
  for (const auto& [type, name] : kAll) {
    EXPECT_EQ(TypeName(type), name);
    EXPECT_EQ(ParseType(name), type) << name;
  }
  // Twelve types (SPEC 3), and nothing past the last one has a name.
  EXPECT_EQ(std::size(kAll), 12u);
  ASSERT_EQ(AllCredentialTypes().size(), std::size(kAll));
  for (std::size_t i = 0; i < std::size(kAll); ++i) {
    EXPECT_EQ(AllCredentialTypes()[i], kAll[i].first) << kAll[i].second;
  }
  EXPECT_EQ(TypeName(static_cast<CredentialType>(std::size(kAll))), "UNKNOWN");
}

TEST(CredentialTest, ParseTypeIsCaseSensitiveAndStrict) {
  EXPECT_EQ(ParseType("login"), std::nullopt);
  EXPECT_EQ(ParseType(""), std::nullopt);
  EXPECT_EQ(ParseType("LOGIN "), std::nullopt);
  EXPECT_EQ(ParseType("APIKEY"), std::nullopt);
}

TEST(CredentialTest, TypeNameOfOutOfRangeValueIsSafe) {
  EXPECT_EQ(TypeName(static_cast<CredentialType>(42)), "UNKNOWN");
}

TEST(CredentialTest, Scopes) {
  EXPECT_EQ(ParseScope("vault:read"), kScopeRead);
  EXPECT_EQ(ParseScope("vault:write"), kScopeWrite);
  EXPECT_EQ(ParseScope("vault:admin"), std::nullopt);
  EXPECT_EQ(ParseScope("VAULT:READ"), std::nullopt);
  EXPECT_EQ(ScopeNames(kScopeRead | kScopeWrite), "vault:read vault:write");
  EXPECT_EQ(ScopeNames(kScopeWrite), "vault:write");
  EXPECT_EQ(ScopeNames(0), "");
}

}  // namespace
}  // namespace strongroom::model
