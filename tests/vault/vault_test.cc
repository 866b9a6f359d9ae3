// vault::Vault's use cases over the real SQLite store and a fake key manager
// and clock: domain values and exact errors. The rendered bodies are tested in
// tests/api/render_test.cc.
#include "vault/vault.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "tests/vault/vault_fixture.h"

namespace strongroom::vault {
namespace {

using nlohmann::json;
using testing::ExpectError;

class VaultTest : public testing::VaultFixture {
 protected:
  // The opened data as a document.
  static json Data(const OpenedCredential& opened) {
    return json::parse(opened.data.begin(), opened.data.end());
  }
  static std::string Time(const std::optional<UnixMillis>& t) {
    return t ? FormatRfc3339(*t) : "null";
  }
  std::vector<std::string> Names(const Page& page) {
    std::vector<std::string> names;
    for (const auto& c : page.credentials) names.push_back(c.name);
    return names;
  }
};

TEST_F(VaultTest, AuthenticateRejectsEveryBadKeyAlike) {
  std::string good = Key("alice", model::kScopeRead);
  std::string revoked = Key("alice", model::kScopeRead);
  ASSERT_TRUE(RevokeApiKey(*store_, revoked.substr(3, 16), clock_).ok());
  std::string expiring = Key("alice", model::kScopeRead, 1);
  clock_.Advance(1000);
  std::string wrong_secret = good.substr(0, good.size() - 1) + (good.back() == 'A' ? "B" : "A");
  std::string unknown_id = "sr_0000000000000000" + good.substr(19);
  for (const std::string& header :
       {std::string(), std::string("Bearer"), std::string("Bearer "), std::string("Basic abc"),
        std::string("Bearer garbage"), "Token " + good, "Bearer " + wrong_secret,
        "Bearer " + unknown_id, "Bearer " + revoked, "Bearer " + expiring,
        "Bearer " + good + "x"}) {
    auto result = vault_->Authenticate(header);
    ASSERT_FALSE(result.ok()) << header;
    ExpectError(result.status(), StatusCode::kUnauthenticated, "unauthorized");
    EXPECT_EQ(result.status().message(), "invalid or missing API key");
  }
  auto ok = vault_->Authenticate("bearer " + good);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->key_id, good.substr(3, 16));
  EXPECT_EQ(ok->scopes, model::kScopeRead);
}

TEST_F(VaultTest, ScopesAreEnforced) {
  Principal reader = Auth(Key("alice", model::kScopeRead));
  Principal writer = Auth(Key("alice", model::kScopeWrite));
  Put(alice_, "stripe", ApiKeyBody());
  ExpectError(TryPut(reader, "x", ApiKeyBody()).status(), StatusCode::kPermissionDenied,
              "insufficient_scope");
  ExpectError(vault_->Delete(reader, "stripe"), StatusCode::kPermissionDenied,
              "insufficient_scope");
  ExpectError(vault_->PopBackupCode(reader, "stripe").status(), StatusCode::kPermissionDenied,
              "insufficient_scope");
  ExpectError(vault_->Get(writer, "stripe").status(), StatusCode::kPermissionDenied,
              "insufficient_scope");
  ExpectError(vault_->List(writer, std::nullopt, std::nullopt).status(),
              StatusCode::kPermissionDenied, "insufficient_scope");
  ExpectError(vault_->Totp(writer, "stripe").status(), StatusCode::kPermissionDenied,
              "insufficient_scope");
  EXPECT_TRUE(vault_->Get(reader, "stripe").ok());
  // The one scope check, as the faces see it.
  EXPECT_TRUE(Allows(reader, Operation::kGet));
  EXPECT_FALSE(Allows(reader, Operation::kPut));
  ExpectError(Authorize(writer, Operation::kList), StatusCode::kPermissionDenied,
              "insufficient_scope");
  EXPECT_EQ(Authorize(reader, Operation::kPut).message(), "API key lacks the vault:write scope");
}

TEST_F(VaultTest, PutCreatesThenReplaces) {
  PutOutcome created = Put(alice_, "stripe", ApiKeyBody());
  const model::StoredCredential& c = created.credential;
  EXPECT_TRUE(created.created);
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.name, "stripe");
  EXPECT_EQ(c.type, model::CredentialType::kApiKey);
  EXPECT_EQ(json::parse(c.metadata_json), (json{{"service", "stripe"}}));
  EXPECT_FALSE(c.last_used_at.has_value());
  EXPECT_FALSE(c.last_rotated_at.has_value());
  EXPECT_FALSE(c.expires_at.has_value());
  EXPECT_EQ(c.created_at, clock_.NowMillis());
  EXPECT_EQ(c.credential_id.rfind("cred_", 0), 0u);

  clock_.Advance(5000);
  PutOutcome replaced = Put(alice_, "stripe", ApiKeyBody("sk_live_456"));
  EXPECT_FALSE(replaced.created);
  EXPECT_EQ(replaced.credential.version, 2);
  EXPECT_EQ(replaced.credential.credential_id, c.credential_id);
  EXPECT_EQ(replaced.credential.created_at, c.created_at);
  EXPECT_EQ(replaced.credential.last_rotated_at, clock_.NowMillis());
  EXPECT_EQ(replaced.credential.updated_at, clock_.NowMillis());
  auto got = vault_->Get(alice_, "stripe");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Data(*got), (json{{"key", "sk_live_456"}}));
}

TEST_F(VaultTest, PutValidates) {
  ExpectError(TryPut(alice_, "bad name", ApiKeyBody()).status(), StatusCode::kInvalidArgument,
              "invalid_name");
  ExpectError(TryPut(alice_, "-x", ApiKeyBody()).status(), StatusCode::kInvalidArgument,
              "invalid_name");
  ExpectError(TryPut(alice_, std::string(129, 'a'), ApiKeyBody()).status(),
              StatusCode::kInvalidArgument, "invalid_name");
  auto bad_type = TryPut(alice_, "x", json{{"type", "NOPE"}, {"data", {{"k", "v"}}}});
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vault_->List(alice_, std::nullopt, std::nullopt)->credentials.size(), 0u);
}

// The body's JSON syntax is checked here (the faces check media type and
// size), after the scope and before the name.
TEST_F(VaultTest, PutChecksJsonSyntax) {
  for (const char* bad : {"", "{", "{\"a\":}", "nul"}) {
    ExpectError(vault_->Put(alice_, "x", bad).status(), StatusCode::kInvalidArgument,
                "invalid_json");
    ExpectError(vault_->Put(alice_, "bad name", bad).status(), StatusCode::kInvalidArgument,
                "invalid_json");
  }
  Principal reader = Auth(Key("alice", model::kScopeRead));
  ExpectError(vault_->Put(reader, "x", "{").status(), StatusCode::kPermissionDenied,
              "insufficient_scope");
  EXPECT_TRUE(vault_->Put(alice_, "x", std::string(98, ' ') + ApiKeyBody().dump()).ok());
}

TEST_F(VaultTest, GetRecordsUseAndListDoesNot) {
  Put(alice_, "stripe", ApiKeyBody());
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok());
  EXPECT_FALSE(listed->credentials[0].last_used_at.has_value());
  EXPECT_TRUE(listed->credentials[0].ciphertext.empty());  // summaries only

  clock_.Advance(1000);
  const std::string used_at = FormatRfc3339(clock_.NowMillis());
  auto got = vault_->Get(alice_, "stripe");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(Time(got->credential.last_used_at), used_at);  // the get reports itself
  EXPECT_EQ(Data(*got)["key"], "sk_live_123");
  EXPECT_EQ(json::parse(got->credential.metadata_json)["service"], "stripe");

  // Before the batch is flushed, reads overlay the pending use.
  clock_.Advance(1000);
  listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ(Time(listed->credentials[0].last_used_at), used_at);
  EXPECT_EQ(store_->touch_calls, 0);
  vault_->FlushTouches();
  EXPECT_EQ(store_->touch_calls, 1);
  auto row = store_->inner().GetCredential(alice_.identity_id, "stripe");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(FormatRfc3339(*row->last_used_at), used_at);
  // Listing again changes nothing.
  listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ(Time(listed->credentials[0].last_used_at), used_at);
  vault_->FlushTouches();
  EXPECT_EQ(store_->touch_calls, 1);  // nothing pending, no write
}

TEST_F(VaultTest, FailedTouchFlushIsRetried) {
  Put(alice_, "stripe", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "stripe").ok());
  store_->Fail(UnavailableError("down", "store_unavailable"));
  vault_->FlushTouches();
  store_->Fail(std::nullopt);
  vault_->FlushTouches();
  auto row = store_->inner().GetCredential(alice_.identity_id, "stripe");
  ASSERT_TRUE(row.ok());
  EXPECT_TRUE(row->last_used_at.has_value());
}

TEST_F(VaultTest, DeleteDropsPendingUse) {
  Put(alice_, "stripe", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "stripe").ok());
  ASSERT_TRUE(vault_->Delete(alice_, "stripe").ok());
  ExpectError(vault_->Delete(alice_, "stripe"), StatusCode::kNotFound, "not_found");
  PutOutcome again = Put(alice_, "stripe", ApiKeyBody());
  EXPECT_TRUE(again.created);
  EXPECT_EQ(again.credential.version, 1);
  EXPECT_FALSE(again.credential.last_used_at.has_value());
  vault_->FlushTouches();
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_FALSE(listed->credentials[0].last_used_at.has_value());
}

TEST_F(VaultTest, IdentitiesAreIsolated) {
  Put(alice_, "stripe", ApiKeyBody());
  ExpectError(vault_->Get(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->Get(bob_, "missing").status(), StatusCode::kNotFound, "not_found");
  EXPECT_EQ(vault_->Get(bob_, "stripe").status().message(),
            vault_->Get(bob_, "missing").status().message());
  ExpectError(vault_->Delete(bob_, "stripe"), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->Totp(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->PopBackupCode(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  EXPECT_EQ(vault_->List(bob_, std::nullopt, std::nullopt)->credentials.size(), 0u);
  // Bob's own credential of the same name is a different one.
  PutOutcome bobs = Put(bob_, "stripe", ApiKeyBody("bob"));
  EXPECT_TRUE(bobs.created);
  EXPECT_EQ(Data(*vault_->Get(alice_, "stripe"))["key"], "sk_live_123");
}

TEST_F(VaultTest, ListPaginates) {
  for (const char* name : {"e", "a", "c", "b", "d"}) Put(alice_, name, ApiKeyBody());
  auto page = vault_->List(alice_, "2", std::nullopt);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Names(*page), (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(page->next_cursor.has_value());
  std::vector<std::string> names;
  std::optional<std::string> cursor;
  do {
    auto next =
        vault_->List(alice_, "2", cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
    ASSERT_TRUE(next.ok());
    for (const auto& name : Names(*next)) names.push_back(name);
    cursor = next->next_cursor;
  } while (cursor);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  auto all = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ(all->credentials.size(), 5u);
  EXPECT_FALSE(all->next_cursor.has_value());
  auto exact = vault_->List(alice_, "5", std::nullopt);
  EXPECT_FALSE(exact->next_cursor.has_value());

  for (const char* bad : {"0", "1001", "-1", "+5", "abc", "", "1.5", "99999999999999"}) {
    ExpectError(vault_->List(alice_, bad, std::nullopt).status(), StatusCode::kInvalidArgument,
                "invalid_limit");
  }
  for (const char* bad : {"!!!", "a", "", "IA"}) {
    ExpectError(vault_->List(alice_, std::nullopt, bad).status(), StatusCode::kInvalidArgument,
                "invalid_cursor");
  }
  EXPECT_TRUE(vault_->List(alice_, "1000", std::nullopt).ok());
}

}  // namespace
}  // namespace strongroom::vault
