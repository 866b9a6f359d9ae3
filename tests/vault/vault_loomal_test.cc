// Vault::Whoami and the unpaged Vault::List (issue 11, Loomal v0 parity).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/vault/vault_fixture.h"

namespace strongroom::vault {
namespace {

using testing::ExpectError;

class VaultLoomalTest : public testing::VaultFixture {};

TEST_F(VaultLoomalTest, WhoamiIsTheKeysIdentityAndRecord) {
  const std::string reader = Key("alice", model::kScopeRead, /*ttl=*/3600);
  const std::string reader_header = "Bearer " + reader;
  for (const Caller& caller : {Caller(alice_), Caller::WithAuthorization(reader_header)}) {
    auto me = vault_->Whoami(caller);
    ASSERT_TRUE(me.ok()) << me.status().ToString();
    EXPECT_EQ(me->identity.name, "alice");
    EXPECT_EQ(me->identity.id, alice_.identity_id);
    EXPECT_EQ(me->identity.created_at, store_->GetIdentity(alice_.identity_id)->created_at);
    EXPECT_TRUE(me->identity.wrapped_kek.empty());  // nothing a face could leak
    EXPECT_TRUE(me->key.key_hash.empty());
  }
  auto mine = vault_->Whoami(Caller(alice_));
  EXPECT_EQ(mine->key.key_id, alice_.key_id);
  EXPECT_EQ(mine->key.scopes, model::kScopeRead | model::kScopeWrite);
  EXPECT_FALSE(mine->key.expires_at.has_value());
  auto read_only = vault_->Whoami(Caller::WithAuthorization(reader_header));
  EXPECT_EQ(read_only->key.key_id, reader.substr(3, 16));
  EXPECT_EQ(read_only->key.scopes, model::kScopeRead);
  EXPECT_EQ(read_only->key.expires_at, clock_.NowMillis() + 3600 * 1000);
  // No scope is needed, but the key must be valid.
  const std::string writer = Key("bob", model::kScopeWrite);
  EXPECT_TRUE(vault_->Whoami(Caller::WithAuthorization("Bearer " + writer)).ok());
  for (const std::string& header :
       std::vector<std::string>{"", "Bearer", reader_header + "x", "Basic " + reader}) {
    ExpectError(vault_->Whoami(Caller::WithAuthorization(header)).status(),
                StatusCode::kUnauthenticated, "unauthorized");
  }
  clock_.Advance(3601 * 1000);
  ExpectError(vault_->Whoami(Caller::WithAuthorization(reader_header)).status(),
              StatusCode::kUnauthenticated, "unauthorized");
}

// More than two store chunks of 1000: every row, in order, no cursor.
TEST_F(VaultLoomalTest, ListWithoutLimitReturnsEveryCredential) {
  constexpr int kCount = 2003;
  std::vector<std::string> names;
  for (int i = 0; i < kCount; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "c%05d", i);
    names.push_back(name);
    Put(alice_, name, ApiKeyBody());
  }
  auto all = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  std::vector<std::string> listed;
  for (const auto& row : all->credentials) listed.push_back(row.name);
  EXPECT_EQ(listed, names);
  EXPECT_FALSE(all->next_cursor.has_value());

  auto page = vault_->List(alice_, "1000", std::nullopt);
  ASSERT_EQ(page->credentials.size(), 1000u);
  ASSERT_TRUE(page->next_cursor.has_value());
  // A cursor without a limit: everything after it.
  auto rest = vault_->List(alice_, std::nullopt, std::string_view(*page->next_cursor));
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->credentials.size(), static_cast<std::size_t>(kCount - 1000));
  EXPECT_EQ(rest->credentials.front().name, names[1000]);
  EXPECT_FALSE(rest->next_cursor.has_value());
  EXPECT_TRUE(vault_->List(bob_, std::nullopt, std::nullopt)->credentials.empty());
}

}  // namespace
}  // namespace strongroom::vault
