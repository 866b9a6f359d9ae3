// The admin use cases and the API-key module.
#include "vault/admin.h"

#include <gtest/gtest.h>

#include "base/random.h"
#include "tests/testing/server_process.h"
#include "tests/vault/fakes.h"
#include "vault/api_key.h"
#include "vault/internal/base64url.h"

namespace strongroom::vault {
namespace {

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = store::OpenSqliteStore(dir_.path() + "/vault.db");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  strongroom::testing::TempDir dir_;
  fakes::FakeClock clock_;
  fakes::FakeKeyManager keys_;
  std::unique_ptr<store::CredentialStore> store_;
};

TEST_F(AdminTest, IdentityLifecycle) {
  auto alice = CreateIdentity(*store_, keys_, "alice", clock_);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->name, "alice");
  EXPECT_FALSE(alice->wrapped_kek.empty());
  EXPECT_EQ(CreateIdentity(*store_, keys_, "alice", clock_).status().code(),
            StatusCode::kAlreadyExists);
  auto bad = CreateIdentity(*store_, keys_, "no spaces", clock_);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().error_code(), "invalid_name");
  ASSERT_TRUE(DeleteIdentity(*store_, keys_, "alice").ok());
  EXPECT_EQ(keys_.evicted, (std::vector<std::int64_t>{alice->id}));
  EXPECT_EQ(DeleteIdentity(*store_, keys_, "alice").code(), StatusCode::kNotFound);
}

TEST_F(AdminTest, ApiKeysAreShownOnceAndStoredHashed) {
  ASSERT_TRUE(CreateIdentity(*store_, keys_, "alice", clock_).ok());
  auto key = CreateApiKey(*store_, "alice", model::kScopeRead, 3600, clock_);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  std::string text(key->key.view());
  ASSERT_EQ(text.size(), 63u);
  EXPECT_EQ(text.substr(0, 3), "sr_");
  EXPECT_EQ(text.substr(3, 16), key->key_id);
  EXPECT_EQ(ParseApiKeyId(text), key->key_id);
  EXPECT_EQ(key->expires_at, clock_.NowMillis() + 3'600'000);
  auto listed = ListApiKeys(*store_, "alice");
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].key_id, key->key_id);
  EXPECT_EQ((*listed)[0].key_hash, HashApiKey(text));
  EXPECT_EQ((*listed)[0].scopes, model::kScopeRead);
  auto other = CreateApiKey(*store_, "alice", model::kScopeRead, std::nullopt, clock_);
  EXPECT_NE(std::string(other->key.view()), text);

  EXPECT_EQ(
      CreateApiKey(*store_, "nobody", model::kScopeRead, std::nullopt, clock_).status().code(),
      StatusCode::kNotFound);
  EXPECT_EQ(CreateApiKey(*store_, "alice", 0, std::nullopt, clock_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateApiKey(*store_, "alice", model::kScopeRead, 0, clock_).status().code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(RevokeApiKey(*store_, key->key_id, clock_).ok());
  EXPECT_EQ(RevokeApiKey(*store_, "0000000000000000", clock_).code(), StatusCode::kNotFound);
}

// The one key check, as the server (AuthenticateApiKey) and dev-mode setup
// (IsValidApiKeyOf) use it.
TEST_F(AdminTest, KeysAreCheckedForHashExpiryAndRevocation) {
  auto alice = CreateIdentity(*store_, keys_, "alice", clock_);
  auto bob = CreateIdentity(*store_, keys_, "bob", clock_);
  ASSERT_TRUE(alice.ok() && bob.ok());
  auto key = CreateApiKey(*store_, "alice", model::kScopeRead, 60, clock_);
  ASSERT_TRUE(key.ok());
  const std::string text(key->key.view());
  auto principal = AuthenticateApiKey(*store_, text, clock_.NowMillis());
  ASSERT_TRUE(principal.ok()) << principal.status().ToString();
  EXPECT_EQ(principal->identity_id, alice->id);
  EXPECT_EQ(principal->key_id, key->key_id);
  EXPECT_EQ(principal->scopes, model::kScopeRead);
  EXPECT_EQ(IsValidApiKeyOf(*store_, text, alice->id, clock_).value(), true);
  EXPECT_EQ(IsValidApiKeyOf(*store_, text, bob->id, clock_).value(), false);
  std::string wrong = text;
  wrong.back() = wrong.back() == 'A' ? 'B' : 'A';
  for (const std::string& bad : {wrong, std::string("garbage"), std::string()}) {
    EXPECT_EQ(AuthenticateApiKey(*store_, bad, clock_.NowMillis()).status().code(),
              StatusCode::kUnauthenticated);
    EXPECT_EQ(IsValidApiKeyOf(*store_, bad, alice->id, clock_).value(), false);
  }
  EXPECT_EQ(AuthenticateApiKey(*store_, text, clock_.NowMillis() + 60'000).status().code(),
            StatusCode::kUnauthenticated);
  ASSERT_TRUE(RevokeApiKey(*store_, key->key_id, clock_).ok());
  EXPECT_EQ(IsValidApiKeyOf(*store_, text, alice->id, clock_).value(), false);
  EXPECT_EQ(BearerToken("Bearer  abc "), "abc");
  EXPECT_EQ(BearerToken("bEaReR x"), "x");
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer"), std::nullopt);
}

TEST(ParseDurationTest, AcceptsUnitsRejectsGarbage) {
  EXPECT_EQ(ParseDuration("90s"), 90);
  EXPECT_EQ(ParseDuration("15m"), 900);
  EXPECT_EQ(ParseDuration("12h"), 43200);
  EXPECT_EQ(ParseDuration("30d"), 2592000);
  EXPECT_EQ(ParseDuration("1s"), 1);
  for (const char* bad : {"", "s", "0s", "-1s", "10", "10w", "1.5h", " 1s", "1s ", "+1s",
                          "99999999999999999999d", "9999999999999999d"}) {
    EXPECT_EQ(ParseDuration(bad), std::nullopt) << bad;
  }
}

TEST(ApiKeyFormatTest, ParsesOnlyWellFormedKeys) {
  auto generated = GenerateApiKey();
  ASSERT_TRUE(generated.ok());
  std::string key(generated->key.view());
  EXPECT_EQ(ParseApiKeyId(key), generated->key_id);
  EXPECT_EQ(ParseApiKeyId(key.substr(1)), std::nullopt);
  EXPECT_EQ(ParseApiKeyId(key + "A"), std::nullopt);
  std::string upper_id = key;
  upper_id[3] = 'G';
  EXPECT_EQ(ParseApiKeyId(upper_id), std::nullopt);
  std::string bad_sep = key;
  bad_sep[19] = '-';
  EXPECT_EQ(ParseApiKeyId(bad_sep), std::nullopt);
  std::string bad_secret = key;
  bad_secret[40] = '+';
  EXPECT_EQ(ParseApiKeyId(bad_secret), std::nullopt);
  EXPECT_EQ(HashApiKey("abc").size(), 32u);
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(
      HexEncode(std::string_view(reinterpret_cast<const char*>(HashApiKey("abc").data()), 32)),
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Base64UrlTest, RoundTripsAndRejectsNonCanonical) {
  for (const std::string& s : {std::string(), std::string("a"), std::string("ab"),
                               std::string("abc"), std::string("name.with-dots_1")}) {
    EXPECT_EQ(internal::Base64UrlDecode(Base64UrlEncode(s)), s);
  }
  EXPECT_EQ(internal::Base64UrlDecode("YQ"), "a");
  EXPECT_EQ(internal::Base64UrlDecode("YR"), std::nullopt);  // non-zero padding bits
  EXPECT_EQ(internal::Base64UrlDecode("Y"), std::nullopt);
  EXPECT_EQ(internal::Base64UrlDecode("YQ=="), std::nullopt);
  EXPECT_EQ(internal::Base64UrlDecode("Y+"), std::nullopt);
}

}  // namespace
}  // namespace strongroom::vault
