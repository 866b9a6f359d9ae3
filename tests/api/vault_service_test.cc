// VaultService over the real SQLite store and a fake key manager and clock.
#include "api/vault_service.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "api/admin.h"
#include "model/credential.h"
#include "tests/api/fakes.h"
#include "tests/testing/server_process.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

class VaultServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = store::OpenSqliteStore(dir_.path() + "/vault.db");
    ASSERT_TRUE(inner.ok()) << inner.status().ToString();
    store_ = std::make_unique<fakes::FailingStore>(std::move(inner).value());
    // A long interval: tests flush explicitly.
    vault_ = std::make_unique<VaultService>(store_.get(), &keys_, &clock_,
                                            VaultServiceOptions{std::chrono::hours(1)});
    ASSERT_TRUE(CreateIdentity(*store_, keys_, "alice", clock_).ok());
    ASSERT_TRUE(CreateIdentity(*store_, keys_, "bob", clock_).ok());
    alice_ = Auth(Key("alice", model::kScopeRead | model::kScopeWrite));
    bob_ = Auth(Key("bob", model::kScopeRead | model::kScopeWrite));
  }

  std::string Key(const std::string& identity, std::uint32_t scopes,
                  std::optional<std::int64_t> ttl = std::nullopt) {
    auto key = CreateApiKey(*store_, identity, scopes, ttl, clock_);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? std::string(key->key.view()) : "";
  }

  Principal Auth(const std::string& key) {
    auto principal = vault_->Authenticate("Bearer " + key);
    EXPECT_TRUE(principal.ok()) << principal.status().ToString();
    return principal.ok() ? *principal : Principal{};
  }

  ordered_json Put(const Principal& who, const std::string& name, const json& body) {
    auto result = vault_->Put(who, name, body);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? *result : ordered_json();
  }

  static json ApiKeyBody(const std::string& key = "sk_live_123") {
    return {{"type", "API_KEY"}, {"data", {{"key", key}}}, {"metadata", {{"service", "stripe"}}}};
  }

  static json TotpBody(std::vector<std::string> backup = {}) {
    // RFC 6238 appendix B SHA1 seed "12345678901234567890".
    json data = {{"secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}};
    if (!backup.empty()) data["backupCodes"] = backup;
    return {{"type", "TOTP"}, {"data", data}, {"metadata", {{"digits", 8}}}};
  }

  strongroom::testing::TempDir dir_;
  fakes::FakeClock clock_;
  fakes::FakeKeyManager keys_;
  std::unique_ptr<fakes::FailingStore> store_;
  std::unique_ptr<VaultService> vault_;
  Principal alice_, bob_;
};

void ExpectError(const Status& status, StatusCode code, const std::string& error_code) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_EQ(status.error_code(), error_code) << status.ToString();
}

TEST_F(VaultServiceTest, AuthenticateRejectsEveryBadKeyAlike) {
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

TEST_F(VaultServiceTest, ScopesAreEnforced) {
  Principal reader = Auth(Key("alice", model::kScopeRead));
  Principal writer = Auth(Key("alice", model::kScopeWrite));
  Put(alice_, "stripe", ApiKeyBody());
  ExpectError(vault_->Put(reader, "x", ApiKeyBody()).status(), StatusCode::kPermissionDenied,
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
}

TEST_F(VaultServiceTest, PutCreatesThenReplaces) {
  ordered_json created = Put(alice_, "stripe", ApiKeyBody());
  std::vector<std::string> keys;
  for (auto& [k, v] : created.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"credentialId", "name", "type", "metadata", "expiresAt",
                                            "lastUsedAt", "lastRotatedAt", "createdAt", "updatedAt",
                                            "version", "created"}));
  EXPECT_EQ(created["created"], true);
  EXPECT_EQ(created["version"], 1);
  EXPECT_EQ(created["name"], "stripe");
  EXPECT_EQ(created["type"], "API_KEY");
  EXPECT_EQ(created["metadata"], (ordered_json{{"service", "stripe"}}));
  EXPECT_TRUE(created["lastUsedAt"].is_null());
  EXPECT_TRUE(created["lastRotatedAt"].is_null());
  EXPECT_TRUE(created["expiresAt"].is_null());
  EXPECT_EQ(created["createdAt"], FormatRfc3339(clock_.NowMillis()));
  EXPECT_EQ(created["credentialId"].get<std::string>().rfind("cred_", 0), 0u);

  clock_.Advance(5000);
  ordered_json replaced = Put(alice_, "stripe", ApiKeyBody("sk_live_456"));
  EXPECT_EQ(replaced["created"], false);
  EXPECT_EQ(replaced["version"], 2);
  EXPECT_EQ(replaced["credentialId"], created["credentialId"]);
  EXPECT_EQ(replaced["createdAt"], created["createdAt"]);
  EXPECT_EQ(replaced["lastRotatedAt"], FormatRfc3339(clock_.NowMillis()));
  EXPECT_EQ(replaced["updatedAt"], FormatRfc3339(clock_.NowMillis()));
  auto got = vault_->Get(alice_, "stripe");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"], (ordered_json{{"key", "sk_live_456"}}));
}

TEST_F(VaultServiceTest, PutValidates) {
  ExpectError(vault_->Put(alice_, "bad name", ApiKeyBody()).status(), StatusCode::kInvalidArgument,
              "invalid_name");
  ExpectError(vault_->Put(alice_, "-x", ApiKeyBody()).status(), StatusCode::kInvalidArgument,
              "invalid_name");
  ExpectError(vault_->Put(alice_, std::string(129, 'a'), ApiKeyBody()).status(),
              StatusCode::kInvalidArgument, "invalid_name");
  auto bad_type = vault_->Put(alice_, "x", json{{"type", "NOPE"}, {"data", {{"k", "v"}}}});
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vault_->List(alice_, std::nullopt, std::nullopt)->at("count"), 0);
}

TEST_F(VaultServiceTest, GetRecordsUseAndListDoesNot) {
  Put(alice_, "stripe", ApiKeyBody());
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE((*listed)["credentials"][0]["lastUsedAt"].is_null());
  EXPECT_FALSE((*listed)["credentials"][0].contains("data"));

  clock_.Advance(1000);
  const std::string used_at = FormatRfc3339(clock_.NowMillis());
  auto got = vault_->Get(alice_, "stripe");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["lastUsedAt"], used_at);  // the get reports itself
  EXPECT_EQ((*got)["data"]["key"], "sk_live_123");
  EXPECT_EQ((*got)["metadata"]["service"], "stripe");

  // Before the batch is flushed, reads overlay the pending use.
  clock_.Advance(1000);
  listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ((*listed)["credentials"][0]["lastUsedAt"], used_at);
  EXPECT_EQ(store_->touch_calls, 0);
  vault_->FlushTouches();
  EXPECT_EQ(store_->touch_calls, 1);
  auto row = store_->inner().GetCredential(alice_.identity_id, "stripe");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(FormatRfc3339(*row->last_used_at), used_at);
  // Listing again changes nothing.
  listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ((*listed)["credentials"][0]["lastUsedAt"], used_at);
  vault_->FlushTouches();
  EXPECT_EQ(store_->touch_calls, 1);  // nothing pending, no write
}

// The REST list renders text without a DOM; it must be List's body byte for byte.
TEST_F(VaultServiceTest, ListTextIsListDumped) {
  auto dumped = [](const ordered_json& body) {
    return body.dump(-1, ' ', false, json::error_handler_t::replace);
  };
  Put(alice_, "a-plain", ApiKeyBody());
  Put(alice_, "b-meta",
      json{{"type", "API_KEY"},
           {"data", {{"key", "k"}}},
           {"metadata",
            {{"zeta", "z"},
             {"alpha", "caf\u00e9 \"quoted\" \\ back\nline \u2603 \U0001F600 \x01"},
             {"n", -12},
             {"f", 1.5e-7},
             {"big", 18446744073709551615ULL},
             {"b", true},
             {"tags", {"x", "y"}}}},
           {"expiresAt", "2099-01-02T03:04:05Z"}});
  Put(alice_, "c-null-meta",
      json{{"type", "API_KEY"}, {"data", {{"key", "k"}}}, {"metadata", nullptr}});
  Put(alice_, "c-null-meta", ApiKeyBody("rotated"));  // lastRotatedAt, version 2
  Put(alice_, "d-totp",
      json{{"type", "TOTP"},
           {"data", {{"otpauthUri", "otpauth://totp/Ex:me?secret=JBSWY3DPEHPK3PXP&issuer=Ex"}}}});
  Put(alice_, "e.dots_and-dashes", ApiKeyBody());
  clock_.Advance(1000);
  ASSERT_TRUE(vault_->Get(alice_, "a-plain").ok());  // a pending use is overlaid in both

  for (const char* limit : {"1", "2", "100"}) {
    std::optional<std::string> cursor;
    for (int page = 0; page < 10; ++page) {
      std::optional<std::string_view> cursor_view;
      if (cursor) cursor_view = *cursor;
      auto listed = vault_->List(alice_, std::string_view(limit), cursor_view);
      auto text = vault_->ListText(alice_, std::string_view(limit), cursor_view);
      ASSERT_TRUE(listed.ok());
      ASSERT_TRUE(text.ok());
      EXPECT_EQ(*text, dumped(*listed)) << "limit " << limit << " page " << page;
      if ((*listed)["nextCursor"].is_null()) break;
      cursor = (*listed)["nextCursor"].get<std::string>();
    }
  }
  EXPECT_EQ(*vault_->ListText(bob_, std::nullopt, std::nullopt),
            dumped(*vault_->List(bob_, std::nullopt, std::nullopt)));  // empty page
  ExpectError(vault_->ListText(alice_, std::string_view("0"), std::nullopt).status(),
              StatusCode::kInvalidArgument, "invalid_limit");
}

TEST_F(VaultServiceTest, FailedTouchFlushIsRetried) {
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

TEST_F(VaultServiceTest, DeleteDropsPendingUse) {
  Put(alice_, "stripe", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "stripe").ok());
  ASSERT_TRUE(vault_->Delete(alice_, "stripe").ok());
  ExpectError(vault_->Delete(alice_, "stripe"), StatusCode::kNotFound, "not_found");
  ordered_json again = Put(alice_, "stripe", ApiKeyBody());
  EXPECT_EQ(again["created"], true);
  EXPECT_EQ(again["version"], 1);
  vault_->FlushTouches();
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_TRUE((*listed)["credentials"][0]["lastUsedAt"].is_null());
}

TEST_F(VaultServiceTest, IdentitiesAreIsolated) {
  Put(alice_, "stripe", ApiKeyBody());
  ExpectError(vault_->Get(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->Get(bob_, "missing").status(), StatusCode::kNotFound, "not_found");
  EXPECT_EQ(vault_->Get(bob_, "stripe").status().message(),
            vault_->Get(bob_, "missing").status().message());
  ExpectError(vault_->Delete(bob_, "stripe"), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->Totp(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  ExpectError(vault_->PopBackupCode(bob_, "stripe").status(), StatusCode::kNotFound, "not_found");
  EXPECT_EQ(vault_->List(bob_, std::nullopt, std::nullopt)->at("count"), 0);
  // Bob's own credential of the same name is a different one.
  ordered_json bobs = Put(bob_, "stripe", ApiKeyBody("bob"));
  EXPECT_EQ(bobs["created"], true);
  EXPECT_EQ(vault_->Get(alice_, "stripe")->at("data")["key"], "sk_live_123");
}

TEST_F(VaultServiceTest, ListPaginates) {
  for (const char* name : {"e", "a", "c", "b", "d"}) Put(alice_, name, ApiKeyBody());
  auto page = vault_->List(alice_, "2", std::nullopt);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ((*page)["count"], 2);
  EXPECT_EQ((*page)["credentials"][0]["name"], "a");
  EXPECT_EQ((*page)["credentials"][1]["name"], "b");
  ASSERT_TRUE((*page)["nextCursor"].is_string());
  std::vector<std::string> names;
  std::optional<std::string> cursor;
  do {
    auto next =
        vault_->List(alice_, "2", cursor ? std::optional<std::string_view>(*cursor) : std::nullopt);
    ASSERT_TRUE(next.ok());
    for (auto& c : (*next)["credentials"]) names.push_back(c["name"]);
    cursor = (*next)["nextCursor"].is_null()
                 ? std::nullopt
                 : std::optional<std::string>((*next)["nextCursor"].get<std::string>());
  } while (cursor);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  auto all = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ((*all)["count"], 5);
  EXPECT_TRUE((*all)["nextCursor"].is_null());
  auto exact = vault_->List(alice_, "5", std::nullopt);
  EXPECT_TRUE((*exact)["nextCursor"].is_null());

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

TEST_F(VaultServiceTest, ExpiredCredentialsAnswer410ButAreListed) {
  json body = TotpBody({"one"});
  body["expiresAt"] = FormatRfc3339(clock_.NowMillis() + 60'000);
  Put(alice_, "otp", body);
  EXPECT_TRUE(vault_->Get(alice_, "otp").ok());
  clock_.Advance(60'000);
  ExpectError(vault_->Get(alice_, "otp").status(), StatusCode::kExpired, "expired");
  ExpectError(vault_->Totp(alice_, "otp").status(), StatusCode::kExpired, "expired");
  ExpectError(vault_->PopBackupCode(alice_, "otp").status(), StatusCode::kExpired, "expired");
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  EXPECT_EQ((*listed)["count"], 1);
  EXPECT_EQ((*listed)["credentials"][0]["expiresAt"], body["expiresAt"].get<std::string>());
}

TEST_F(VaultServiceTest, TamperedCiphertextIsAnIntegrityError) {
  Put(alice_, "stripe", ApiKeyBody());
  Put(alice_, "other", ApiKeyBody("sk_other"));
  // Move "other"'s envelope onto "stripe": the AAD binds the name, so it must not open.
  auto other = store_->inner().GetCredential(alice_.identity_id, "other");
  ASSERT_TRUE(other.ok());
  auto moved = store_->inner().Mutate(alice_.identity_id, "stripe",
                                      [&](const std::optional<model::StoredCredential>& existing)
                                          -> Result<model::StoredCredential> {
                                        model::StoredCredential row = *existing;
                                        row.ciphertext = other->ciphertext;
                                        row.wrapped_dek = other->wrapped_dek;
                                        return row;
                                      });
  ASSERT_TRUE(moved.ok());
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kDataLoss, "integrity_error");
  ExpectError(vault_->Totp(alice_, "stripe").status(), StatusCode::kDataLoss, "integrity_error");
}

TEST_F(VaultServiceTest, DependencyOutagesAreUnavailable) {
  Put(alice_, "stripe", ApiKeyBody());
  keys_.Fail(UnavailableError("HSM session open failed: CKR_DEVICE_ERROR"));
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kUnavailable, "hsm_unavailable");
  ExpectError(vault_->Put(alice_, "x", ApiKeyBody()).status(), StatusCode::kUnavailable,
              "hsm_unavailable");
  ordered_json ready;
  EXPECT_FALSE(vault_->Ready(&ready));
  EXPECT_EQ(ready,
            (ordered_json{{"status", "unavailable"}, {"store", "ok"}, {"hsm", "unavailable"}}));
  keys_.Fail(std::nullopt);
  EXPECT_TRUE(vault_->Ready(&ready));
  EXPECT_EQ(ready, (ordered_json{{"status", "ready"}, {"store", "ok"}, {"hsm", "ok"}}));
  store_->Fail(UnavailableError("disk gone", "store_unavailable"));
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kUnavailable,
              "store_unavailable");
  EXPECT_FALSE(vault_->Ready(&ready));
  EXPECT_EQ(ready["store"], "unavailable");
}

TEST_F(VaultServiceTest, TotpCodeMatchesRfc6238) {
  Put(alice_, "otp", TotpBody({"a1", "b2"}));
  clock_.Set(59'000);  // RFC 6238 appendix B: T = 59 s, SHA1, 8 digits -> 94287082
  auto code = vault_->Totp(alice_, "otp");
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(*code, (ordered_json{{"code", "94287082"},
                                 {"remaining", 1},
                                 {"backupCodesRemaining", 2},
                                 {"digits", 8},
                                 {"period", 30}}));
  Put(alice_, "plain", ApiKeyBody());
  ExpectError(vault_->Totp(alice_, "plain").status(), StatusCode::kInvalidArgument, "not_totp");
  ExpectError(vault_->PopBackupCode(alice_, "plain").status(), StatusCode::kInvalidArgument,
              "not_totp");
  // Seeds are redacted on get.
  auto got = vault_->Get(alice_, "otp");
  EXPECT_EQ((*got)["data"]["secret"], "[REDACTED]");
}

TEST_F(VaultServiceTest, BackupCodesPopInOrderUntilNoneLeft) {
  ordered_json put = Put(alice_, "otp", TotpBody({"first", "second"}));
  clock_.Advance(1000);
  auto one = vault_->PopBackupCode(alice_, "otp");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(*one, (ordered_json{{"code", "first"}, {"remaining", 1}, {"backupCodesRemaining", 1}}));
  auto two = vault_->PopBackupCode(alice_, "otp");
  EXPECT_EQ(*two,
            (ordered_json{{"code", "second"}, {"remaining", 0}, {"backupCodesRemaining", 0}}));
  ExpectError(vault_->PopBackupCode(alice_, "otp").status(), StatusCode::kFailedPrecondition,
              "no_backup_codes");
  auto got = vault_->Get(alice_, "otp");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["version"], 3);
  EXPECT_EQ((*got)["createdAt"], put["createdAt"]);
  EXPECT_TRUE((*got)["lastRotatedAt"].is_null());
  EXPECT_EQ((*got)["data"]["usedBackupCodes"], (ordered_json{"first", "second"}));
  EXPECT_EQ((*got)["data"]["backupCodes"], ordered_json::array());
  ExpectError(vault_->PopBackupCode(alice_, "missing").status(), StatusCode::kNotFound,
              "not_found");
}

TEST(ParsePutBodyTest, ChecksContentTypeSizeAndSyntax) {
  json out;
  EXPECT_TRUE(ParsePutBody("application/json", "{}", 100, &out).ok());
  EXPECT_TRUE(ParsePutBody("Application/JSON; charset=utf-8", "{}", 100, &out).ok());
  for (const char* bad : {"", "text/plain", "application/jsonx",
                          "application/x-www-form-urlencoded", "application/json-patch+json"}) {
    ExpectError(ParsePutBody(bad, "{}", 100, &out), StatusCode::kUnsupportedMedia,
                "unsupported_media_type");
  }
  ExpectError(ParsePutBody("application/json", std::string(101, ' '), 100, &out),
              StatusCode::kResourceExhausted, "payload_too_large");
  EXPECT_TRUE(ParsePutBody("application/json", std::string(98, ' ') + "{}", 100, &out).ok());
  for (const char* bad : {"", "{", "{\"a\":}", "nul"}) {
    ExpectError(ParsePutBody("application/json", bad, 100, &out), StatusCode::kInvalidArgument,
                "invalid_json");
  }
}

// GetText (the REST GET path: key and credential in one store read, text
// rendering) answers exactly what Authenticate + Get(...).dump() would.
TEST_F(VaultServiceTest, GetTextIsAuthenticatePlusGetDumped) {
  const std::string key = Key("alice", model::kScopeRead | model::kScopeWrite);
  Put(alice_, "stripe", ApiKeyBody("sk_live_\"quoted\"\\ünïcode"));
  Put(alice_, "otp", TotpBody({"11111111", "22222222"}));
  // Fields redacted on any type, and a value that merely mentions one.
  Put(alice_, "login",
      {{"type", "LOGIN"},
       {"data",
        {{"username", "a"},
         {"password", "p"},
         {"totp", "JBSWY3DPEHPK3PXP"},
         {"otpauthUri", "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP"}}}});
  Put(alice_, "mention", ApiKeyBody("the word \"totp\" in a value"));
  Put(alice_, "meta",
      {{"type", "API_KEY"},
       {"data", {{"key", "k"}, {"z", "1.5"}, {"a", "é\u0001"}}},
       {"metadata", {{"b", "2"}, {"a", "1"}}},
       {"expiresAt", "2099-01-02T03:04:05Z"}});
  for (const std::string name : {"stripe", "otp", "login", "mention", "meta"}) {
    clock_.Advance(1000);
    auto expected = vault_->Get(alice_, name);
    ASSERT_TRUE(expected.ok()) << name;
    auto text = vault_->GetText("Bearer " + key, name);
    ASSERT_TRUE(text.ok()) << name << ": " << text.status().ToString();
    EXPECT_EQ(*text, expected->dump(-1, ' ', false, json::error_handler_t::replace)) << name;
  }
  auto otp = json::parse(*vault_->GetText("Bearer " + key, "otp"));
  EXPECT_EQ(otp["data"]["secret"], "[REDACTED]");
  auto login = json::parse(*vault_->GetText("Bearer " + key, "login"));
  EXPECT_EQ(login["data"]["totp"], "[REDACTED]");
  EXPECT_EQ(login["data"]["otpauthUri"], "[REDACTED]");
  EXPECT_EQ(login["data"]["password"], "p");
  // GetText records the use like Get: the list shows it after a flush.
  clock_.Advance(1000);
  auto got = json::parse(*vault_->GetText("Bearer " + key, "stripe"));
  vault_->FlushTouches();
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok());
  for (const auto& item : (*listed)["credentials"]) {
    if (item["name"] == "stripe") {
      EXPECT_EQ(item["lastUsedAt"], got["lastUsedAt"]);
    }
  }
}

TEST_F(VaultServiceTest, GetTextErrorsInAuthenticateThenGetOrder) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  const std::string revoked = Key("alice", model::kScopeRead);
  ASSERT_TRUE(RevokeApiKey(*store_, revoked.substr(3, 16), clock_).ok());
  const std::string expiring = Key("alice", model::kScopeRead, 1);
  Put(alice_, "stripe", ApiKeyBody());
  json soon = ApiKeyBody();
  soon["expiresAt"] = FormatRfc3339(clock_.NowMillis() + 60'000);
  Put(alice_, "soon", soon);
  Put(bob_, "bobs", ApiKeyBody());
  clock_.Advance(61'000);
  const std::string wrong_secret =
      reader.substr(0, reader.size() - 1) + (reader.back() == 'A' ? "B" : "A");
  // Every bad key is the same 401, whether or not the credential exists.
  for (const std::string& header :
       {std::string(), std::string("Bearer garbage"), "Token " + reader, "Bearer " + wrong_secret,
        "Bearer sr_0000000000000000" + reader.substr(19), "Bearer " + revoked,
        "Bearer " + expiring}) {
    for (const std::string name : {"stripe", "missing"}) {
      auto result = vault_->GetText(header, name);
      ASSERT_FALSE(result.ok()) << header;
      ExpectError(result.status(), StatusCode::kUnauthenticated, "unauthorized");
      EXPECT_EQ(result.status().message(), "invalid or missing API key");
    }
  }
  // Scope before existence: a write-only key learns nothing about names.
  for (const std::string name : {"stripe", "missing"}) {
    ExpectError(vault_->GetText("Bearer " + writer, name).status(), StatusCode::kPermissionDenied,
                "insufficient_scope");
  }
  ExpectError(vault_->GetText("Bearer " + reader, "missing").status(), StatusCode::kNotFound,
              "not_found");
  // Another identity's credential of that name is not found, not leaked.
  ExpectError(vault_->GetText("Bearer " + reader, "bobs").status(), StatusCode::kNotFound,
              "not_found");
  ExpectError(vault_->GetText("Bearer " + reader, "soon").status(), StatusCode::kExpired,
              "expired");
  EXPECT_TRUE(vault_->GetText("bearer   " + reader + " ", "stripe").ok());
  // Store outages are not disguised as 401.
  store_->Fail(UnavailableError("down", "store_unavailable"));
  ExpectError(vault_->GetText("Bearer " + reader, "stripe").status(), StatusCode::kUnavailable,
              "store_unavailable");
  store_->Fail(std::nullopt);
}

// TotpWithKey (the REST TOTP path) == Authenticate + Totp, errors included.
TEST_F(VaultServiceTest, TotpWithKeyIsAuthenticatePlusTotp) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  Put(alice_, "otp", TotpBody({"11111111", "22222222"}));
  Put(alice_, "stripe", ApiKeyBody());
  Put(bob_, "bobs-otp", TotpBody());
  auto expected = vault_->Totp(Auth(reader), "otp");
  ASSERT_TRUE(expected.ok());
  auto got = vault_->TotpWithKey("Bearer " + reader, "otp");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->dump(), expected->dump());
  EXPECT_EQ((*got)["backupCodesRemaining"], 2);
  for (const std::string name : {"otp", "missing"}) {
    ExpectError(vault_->TotpWithKey("Bearer nope", name).status(), StatusCode::kUnauthenticated,
                "unauthorized");
    ExpectError(vault_->TotpWithKey("Bearer " + writer, name).status(),
                StatusCode::kPermissionDenied, "insufficient_scope");
  }
  ExpectError(vault_->TotpWithKey("Bearer " + reader, "bobs-otp").status(), StatusCode::kNotFound,
              "not_found");
  auto not_totp = vault_->TotpWithKey("Bearer " + reader, "stripe");
  auto not_totp_expected = vault_->Totp(Auth(reader), "stripe");
  ASSERT_FALSE(not_totp.ok());
  EXPECT_EQ(not_totp.status().ToString(), not_totp_expected.status().ToString());
}

// An identity deleted behind the server's back (the admin CLI is another
// process) has its cached keys wiped here too once the sweep notices.
TEST_F(VaultServiceTest, DeletedIdentitiesAreForgottenAndTheirKeysEvicted) {
  Put(alice_, "a", ApiKeyBody());
  Put(bob_, "b", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  ASSERT_TRUE(vault_->Get(bob_, "b").ok());
  vault_->ForgetDeletedIdentities();
  EXPECT_TRUE(keys_.evicted.empty());  // both still exist
  ASSERT_TRUE(store_->DeleteIdentity("bob").ok());
  vault_->ForgetDeletedIdentities();
  EXPECT_EQ(keys_.evicted, std::vector<std::int64_t>{bob_.identity_id});
  vault_->ForgetDeletedIdentities();  // once only
  EXPECT_EQ(keys_.evicted.size(), 1u);
  EXPECT_TRUE(vault_->Get(alice_, "a").ok());
  // Store outages leave the caches alone.
  store_->Fail(UnavailableError("down", "store_unavailable"));
  vault_->ForgetDeletedIdentities();
  store_->Fail(std::nullopt);
  EXPECT_EQ(keys_.evicted.size(), 1u);
}

// A corrupt row (a type this build does not know) is reported only to a caller
// who passes the key and scope checks: 401 and 403 come first, as before.
TEST_F(VaultServiceTest, CorruptRowIsReportedOnlyAfterKeyAndScope) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  Put(alice_, "bent", ApiKeyBody());
  sqlite3* db = nullptr;
  const std::string path = dir_.path() + "/vault.db";
  ASSERT_EQ(::sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ::sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(::sqlite3_exec(db, "UPDATE credentials SET type = 'BOGUS' WHERE name = 'bent'", nullptr,
                           nullptr, nullptr),
            SQLITE_OK);
  ::sqlite3_close(db);
  for (const std::string name : {"bent", "missing"}) {
    ExpectError(vault_->GetText("Bearer nope", name).status(), StatusCode::kUnauthenticated,
                "unauthorized");
    ExpectError(vault_->GetText("Bearer " + writer, name).status(), StatusCode::kPermissionDenied,
                "insufficient_scope");
  }
  ExpectError(vault_->GetText("Bearer " + reader, "bent").status(), StatusCode::kDataLoss,
              "integrity_error");
  ExpectError(vault_->TotpWithKey("Bearer " + writer, "bent").status(),
              StatusCode::kPermissionDenied, "insufficient_scope");
}

}  // namespace
}  // namespace strongroom::api
