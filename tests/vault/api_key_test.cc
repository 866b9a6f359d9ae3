// vault::CheckApiKey: the one place a presented key is checked against its
// stored record (hash, revocation, expiry).
#include "vault/api_key.h"

#include <gtest/gtest.h>

#include <string>

#include "model/credential.h"

namespace strongroom::vault {
namespace {

model::ApiKeyRecord RecordFor(const std::string& key) {
  model::ApiKeyRecord record;
  record.key_id = *ParseApiKeyId(key);
  record.identity_id = 7;
  record.key_hash = HashApiKey(key);
  record.scopes = model::kScopeRead;
  return record;
}

TEST(ApiKeyTest, RevocationTimeAheadOfTheClockStillRevokes) {
  Result<GeneratedApiKey> key = GenerateApiKey();
  ASSERT_TRUE(key.ok());
  model::ApiKeyRecord record = RecordFor(std::string(key->key.view()));
  const UnixMillis now = 1'800'000'000'000;
  ASSERT_TRUE(CheckApiKey(record, key->key.view(), now).ok());
  // Revoked by a host whose clock is an hour ahead of ours.
  record.revoked_at = now + 3'600'000;
  Result<Principal> checked = CheckApiKey(record, key->key.view(), now);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.status().code(), StatusCode::kUnauthenticated);
  record.revoked_at = now - 1;
  EXPECT_EQ(CheckApiKey(record, key->key.view(), now).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(ApiKeyTest, ExpiryStillUsesTheClock) {
  Result<GeneratedApiKey> key = GenerateApiKey();
  ASSERT_TRUE(key.ok());
  model::ApiKeyRecord record = RecordFor(std::string(key->key.view()));
  const UnixMillis now = 1'800'000'000'000;
  record.expires_at = now + 1000;
  EXPECT_TRUE(CheckApiKey(record, key->key.view(), now).ok());
  EXPECT_EQ(CheckApiKey(record, key->key.view(), now + 1000).status().code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace strongroom::vault
