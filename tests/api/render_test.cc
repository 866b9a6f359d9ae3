// The SPEC 5 bodies rendered from the vault's values: field order and shapes,
// and the text renderings (REST list and GET) byte for byte equal to the
// documents MCP uses.
#include "api/render.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/vault/vault_fixture.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using vault::Caller;
using vault::testing::ExpectError;

class RenderTest : public vault::testing::VaultFixture {
 protected:
  Result<ordered_json> GetJson(const vault::Principal& who, const std::string& name) {
    return ToJson(vault_->Get(who, name));
  }
  Result<std::string> GetText(const std::string& header, const std::string& name) {
    auto opened = vault_->Get(Caller::WithAuthorization(header), name);
    if (!opened.ok()) return opened.status();
    return CredentialText(*opened);
  }
};

TEST_F(RenderTest, WhoamiBodyIsTheLoomalShape) {
  vault::CallerIdentity me;
  me.identity.id = 42;
  me.identity.name = "agent-7";
  me.identity.created_at = 1'767'225'600'000;
  me.key.key_id = "0123456789abcdef";
  me.key.scopes = model::kScopeRead | model::kScopeWrite;
  EXPECT_EQ(DumpBody(WhoamiJson(me)),
            R"({"identityId":"42","name":"agent-7","displayName":"agent-7","email":null,)"
            R"("type":"AGENT","purpose":null,"scopes":["vault:read","vault:write"],)"
            R"("keyId":"0123456789abcdef","keyExpiresAt":null,)"
            R"("createdAt":"2026-01-01T00:00:00.000Z","wallet":null})");
  me.key.scopes = model::kScopeWrite;
  me.key.expires_at = 1'767'225'601'500;
  ordered_json body = WhoamiJson(me);
  EXPECT_EQ(body["scopes"], (json{"vault:write"}));
  EXPECT_EQ(body["keyExpiresAt"], "2026-01-01T00:00:01.500Z");
  me.key.scopes = 0;
  EXPECT_EQ(WhoamiJson(me)["scopes"], json::array());
}

TEST_F(RenderTest, PutBodyIsSummaryPlusCreated) {
  ordered_json created = *ToJson(TryPut(alice_, "stripe", ApiKeyBody()));
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
  ordered_json replaced = *ToJson(TryPut(alice_, "stripe", ApiKeyBody("sk_live_456")));
  EXPECT_EQ(replaced["created"], false);
  EXPECT_EQ(replaced["lastRotatedAt"], FormatRfc3339(clock_.NowMillis()));
  auto got = GetJson(alice_, "stripe");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["data"], (ordered_json{{"key", "sk_live_456"}}));
  EXPECT_FALSE(
      ListJson(*vault_->List(alice_, std::nullopt, std::nullopt))["credentials"][0].contains(
          "data"));
}

// The REST list renders text without a DOM; it must be the document byte for byte.
TEST_F(RenderTest, ListTextIsListDumped) {
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
      ASSERT_TRUE(listed.ok());
      ordered_json document = ListJson(*listed);
      EXPECT_EQ(ListText(*listed), DumpBody(document)) << "limit " << limit << " page " << page;
      if (document["nextCursor"].is_null()) break;
      cursor = document["nextCursor"].get<std::string>();
    }
  }
  auto empty = vault_->List(bob_, std::nullopt, std::nullopt);
  EXPECT_EQ(ListText(*empty), DumpBody(ListJson(*empty)));  // empty page
  EXPECT_EQ(DumpBody(ListJson(*empty)), R"({"credentials":[],"count":0,"nextCursor":null})");
}

// The REST GET (key and credential in one store read, text rendering) answers
// exactly what Authenticate + Get rendered as a document and dumped would.
TEST_F(RenderTest, GetTextIsAuthenticatePlusGetDumped) {
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
    auto expected = GetJson(alice_, name);
    ASSERT_TRUE(expected.ok()) << name;
    auto text = GetText("Bearer " + key, name);
    ASSERT_TRUE(text.ok()) << name << ": " << text.status().ToString();
    EXPECT_EQ(*text, DumpBody(*expected)) << name;
  }
  auto otp = json::parse(*GetText("Bearer " + key, "otp"));
  EXPECT_EQ(otp["data"]["secret"], "[REDACTED]");
  EXPECT_EQ((*GetJson(alice_, "otp"))["data"]["secret"], "[REDACTED]");
  auto login = json::parse(*GetText("Bearer " + key, "login"));
  EXPECT_EQ(login["data"]["totp"], "[REDACTED]");
  EXPECT_EQ(login["data"]["otpauthUri"], "[REDACTED]");
  EXPECT_EQ(login["data"]["password"], "p");
  // The text records the use like the document: the list shows it after a flush.
  clock_.Advance(1000);
  auto got = json::parse(*GetText("Bearer " + key, "stripe"));
  vault_->FlushTouches();
  ordered_json listed = *ToJson(vault_->List(alice_, std::nullopt, std::nullopt));
  for (const auto& item : listed["credentials"]) {
    if (item["name"] == "stripe") {
      EXPECT_EQ(item["lastUsedAt"], got["lastUsedAt"]);
    }
  }
  ExpectError(GetText("Bearer nope", "stripe").status(), StatusCode::kUnauthenticated,
              "unauthorized");
}

TEST_F(RenderTest, TotpBackupAndReadinessBodies) {
  Put(alice_, "otp", TotpBody({"first", "second"}));
  clock_.Set(59'000);  // RFC 6238 appendix B: T = 59 s, SHA1, 8 digits -> 94287082
  const ordered_json totp = *ToJson(vault_->Totp(alice_, "otp"));
  EXPECT_EQ(totp, (ordered_json{{"code", "94287082"},
                                {"remaining", 1},
                                {"backupCodesRemaining", 2},
                                {"digits", 8},
                                {"period", 30}}));
  const std::string key = Key("alice", model::kScopeRead);
  EXPECT_EQ(DumpBody(*ToJson(vault_->Totp(Caller::WithAuthorization("Bearer " + key), "otp"))),
            DumpBody(totp));
  EXPECT_EQ(*ToJson(vault_->PopBackupCode(alice_, "otp")),
            (ordered_json{{"code", "first"}, {"remaining", 1}, {"backupCodesRemaining", 1}}));
  ExpectError(ToJson(vault_->PopBackupCode(bob_, "otp")).status(), StatusCode::kNotFound,
              "not_found");
  EXPECT_EQ(ReadinessJson(vault_->CheckReadiness()),
            (ordered_json{{"status", "ready"}, {"store", "ok"}, {"hsm", "ok"}}));
  keys_.Fail(UnavailableError("HSM session open failed: CKR_DEVICE_ERROR"));
  EXPECT_EQ(ReadinessJson(vault_->CheckReadiness()),
            (ordered_json{{"status", "unavailable"}, {"store", "ok"}, {"hsm", "unavailable"}}));
  keys_.Fail(std::nullopt);
}

}  // namespace
}  // namespace strongroom::api
