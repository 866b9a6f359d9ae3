// The end-to-end suite of issues 2 and 4 against real `strongroom serve`
// processes, on every backend (see e2e_suite.h).
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_suite.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;

json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

void ExpectError(const HttpResponse& r, long status, const std::string& error) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type").value_or(""), "application/json") << r.body;
  json body = Body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body.size(), 2u) << r.body;
  EXPECT_EQ(body["error"], error) << r.body;
  EXPECT_TRUE(body["message"].is_string()) << r.body;
}

namespace {

void Expect401(const HttpResponse& r) {
  ExpectError(r, 401, "unauthorized");
  EXPECT_EQ(r.Header("www-authenticate").value_or(""), "Bearer");
}

struct SharedServer {
  std::unique_ptr<E2eVault> vault;
  std::unique_ptr<ServerProcess> server;
  std::string error;  // why it did not start
};
SharedServer* shared = nullptr;

}  // namespace

void E2eTest::TearDownTestSuite() {
  delete shared;  // stops the server, then removes the vault
  shared = nullptr;
}

void E2eTest::SetUp() {
  if (shared == nullptr) {
    shared = new SharedServer();
    shared->vault = GetParam().new_vault(&shared->error);
    if (shared->vault != nullptr) {
      shared->server = shared->vault->NewServer();
      if (!shared->server->Start(&shared->error)) shared->server.reset();
    }
  }
  ASSERT_NE(shared->server, nullptr) << shared->error;
  client_ = std::make_unique<HttpClient>(shared->server->base_url());
  key_ = shared->server->dev_key();
  ASSERT_FALSE(key_.empty());
}

HttpResponse E2eTest::Put(const std::string& name, const json& body, const std::string& key) {
  return client_->PutJson("/v0/vault/" + name, body.dump(), key.empty() ? key_ : key);
}

HttpResponse E2eTest::Get(const std::string& name, const std::string& key) {
  return client_->Get("/v0/vault/" + name, key.empty() ? key_ : key);
}

ServerProcess& E2eTest::server() { return *shared->server; }
E2eVault& E2eTest::vault() { return *shared->vault; }

namespace {

TEST_P(E2eTest, SpecExampleStoreReadList) {
  json body = {{"type", "API_KEY"},
               {"data", {{"key", "sk_live_spec_example"}}},
               {"metadata", {{"service", "stripe"}}}};
  HttpResponse put = Put("stripe", body);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Header("content-type"), "application/json");
  json summary = Body(put);
  EXPECT_EQ(summary["created"], true);
  EXPECT_EQ(summary["name"], "stripe");
  EXPECT_EQ(summary["type"], "API_KEY");
  EXPECT_EQ(summary["metadata"], (json{{"service", "stripe"}}));
  EXPECT_EQ(summary["version"], 1);
  EXPECT_FALSE(summary.contains("data"));
  // Field order is the wire contract (SPEC 5).
  EXPECT_EQ(put.body.find("{\"credentialId\":"), 0u) << put.body;
  const std::vector<std::string> order = {
      "credentialId",  "name",      "type",      "metadata", "expiresAt", "lastUsedAt",
      "lastRotatedAt", "createdAt", "updatedAt", "version",  "created"};
  std::size_t last = 0;
  for (const auto& field : order) {
    std::size_t at = put.body.find("\"" + field + "\":");
    ASSERT_NE(at, std::string::npos) << field;
    EXPECT_GE(at, last) << field;
    last = at;
  }

  HttpResponse got = Get("stripe");
  ASSERT_EQ(got.status, 200) << got.body;
  json full = Body(got);
  EXPECT_EQ(full["data"], (json{{"key", "sk_live_spec_example"}}));
  EXPECT_EQ(full["metadata"], (json{{"service", "stripe"}}));
  EXPECT_EQ(full["credentialId"], summary["credentialId"]);

  HttpResponse list = client_->Get("/v0/vault", key_);
  ASSERT_EQ(list.status, 200) << list.body;
  json listed = Body(list);
  ASSERT_TRUE(listed["credentials"].is_array());
  EXPECT_EQ(listed["count"], listed["credentials"].size());
  EXPECT_TRUE(listed.contains("nextCursor"));
  bool found = false;
  for (const auto& c : listed["credentials"]) {
    EXPECT_FALSE(c.contains("data")) << c.dump();
    if (c["name"] == "stripe") {
      found = true;
      EXPECT_EQ(c["metadata"], (json{{"service", "stripe"}}));
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(list.body.find("sk_live_spec_example"), std::string::npos);
}

TEST_P(E2eTest, EveryTypeRoundTrips) {
  const std::string seed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
  // Nothing of a card or an address is redacted (SPEC 5).
  const json card = {{"cardholder", "A Person"},
                     {"number", "4111 1111 1111 1111"},
                     {"expMonth", "9"},
                     {"expYear", "2030"},
                     {"cvc", "123"},
                     {"zip", "94105"}};
  const json address = {{"name", "A Person"},    {"line1", "1 Main St"},  {"line2", "Apt 2"},
                        {"city", "Springfield"}, {"state", "IL"},         {"postcode", "62701"},
                        {"country", "US"},       {"phone", "+1 555 0100"}};
  struct Case {
    std::string name;
    json body;
    json expected_data;
  };
  std::vector<Case> cases = {
      {"rt-login",
       {{"type", "LOGIN"},
        {"data", {{"password", "pw-1"}}},
        {"metadata", {{"uri", "https://x"}, {"username", "u"}}}},
       {{"password", "pw-1"}}},
      {"rt-login-2fa",
       {{"type", "LOGIN"}, {"data", {{"password", "pw-2"}, {"totp", seed}}}},
       {{"password", "pw-2"}, {"totp", "[REDACTED]"}}},
      {"rt-apikey", {{"type", "API_KEY"}, {"data", {{"key", "k-1"}}}}, {{"key", "k-1"}}},
      {"rt-apikey-pair",
       {{"type", "API_KEY"}, {"data", {{"clientId", "cid"}, {"secret", "cs"}}}},
       {{"clientId", "cid"}, {"secret", "cs"}}},
      {"rt-oauth",
       {{"type", "OAUTH"},
        {"data", {{"accessToken", "at"}, {"refreshToken", "rt"}}},
        {"metadata", {{"provider", "github"}, {"scopes", {"repo", "user"}}}}},
       {{"accessToken", "at"}, {"refreshToken", "rt"}}},
      {"rt-totp",
       {{"type", "TOTP"},
        {"data", {{"secret", seed}, {"backupCodes", {"b1", "b2"}}}},
        {"metadata", {{"issuer", "ACME"}, {"digits", 6}, {"period", 30}, {"algorithm", "SHA1"}}}},
       {{"secret", "[REDACTED]"},
        {"backupCodes", {"b1", "b2"}},
        {"usedBackupCodes", json::array()}}},
      {"rt-ssh",
       {{"type", "SSH_KEY"},
        {"data", {{"privateKey", "-----BEGIN-----"}, {"passphrase", "pp"}}},
        {"metadata", {{"keyType", "ed25519"}}}},
       {{"privateKey", "-----BEGIN-----"}, {"passphrase", "pp"}}},
      {"rt-db",
       {{"type", "DATABASE"},
        {"data", {{"connectionString", "postgres://x"}}},
        {"metadata", {{"engine", "postgres"}, {"port", 5432}}}},
       {{"connectionString", "postgres://x"}}},
      {"rt-smtp",
       {{"type", "SMTP"},
        {"data", {{"password", "smtp-pw"}}},
        {"metadata", {{"host", "mail"}, {"encryption", "tls"}}}},
       {{"password", "smtp-pw"}}},
      {"rt-aws",
       {{"type", "AWS"},
        {"data", {{"secretAccessKey", "sak"}, {"sessionToken", "st"}}},
        {"metadata", {{"accessKeyId", "AKIA"}, {"region", "eu-west-1"}}}},
       {{"secretAccessKey", "sak"}, {"sessionToken", "st"}}},
      {"rt-cert",
       {{"type", "CERTIFICATE"},
        {"data", {{"privateKey", "pk"}}},
        {"metadata", {{"domain", "example.com"}}}},
       {{"privateKey", "pk"}}},
      {"rt-card",
       {{"type", "CARD"}, {"data", card}, {"metadata", {{"brand", "visa"}, {"last4", "1111"}}}},
       card},
      {"rt-address",
       {{"type", "SHIPPING_ADDRESS"}, {"data", address}, {"metadata", {{"label", "home"}}}},
       address},
      {"rt-custom",
       {{"type", "CUSTOM"},
        {"data", {{"anything", "goes"}, {"more", "x"}}},
        {"metadata", {{"team", "infra"}, {"on", true}}}},
       {{"anything", "goes"}, {"more", "x"}}},
      {"rt-extra",
       {{"type", "LOGIN"}, {"data", {{"password", "p"}, {"recovery", "r"}}}},
       {{"password", "p"}, {"recovery", "r"}}},
  };
  for (const auto& c : cases) {
    HttpResponse put = Put(c.name, c.body);
    ASSERT_EQ(put.status, 200) << c.name << ": " << put.body;
    HttpResponse got = Get(c.name);
    ASSERT_EQ(got.status, 200) << c.name << ": " << got.body;
    json full = Body(got);
    EXPECT_EQ(full["type"], c.body["type"]) << c.name;
    EXPECT_EQ(full["data"], c.expected_data) << c.name;
    EXPECT_EQ(full["metadata"], c.body.contains("metadata") ? c.body["metadata"] : json(nullptr))
        << c.name;
  }
}

TEST_P(E2eTest, EachValidationRuleHasItsCode) {
  struct Case {
    std::string why;
    std::string raw_body;
    std::string code;
  };
  auto j = [](const json& v) { return v.dump(); };
  const std::vector<Case> cases = {
      {"not an object", "[1,2]", "invalid_request"},
      {"no type", j({{"data", {{"key", "k"}}}}), "invalid_type"},
      {"unknown type", j({{"type", "PASSWORD"}, {"data", {{"key", "k"}}}}), "invalid_type"},
      {"lowercase type", j({{"type", "api_key"}, {"data", {{"key", "k"}}}}), "invalid_type"},
      {"no data", j({{"type", "CUSTOM"}}), "invalid_data"},
      {"data not object", j({{"type", "CUSTOM"}, {"data", "x"}}), "invalid_data"},
      {"empty data", j({{"type", "CUSTOM"}, {"data", json::object()}}), "invalid_data"},
      {"secret not string", j({{"type", "LOGIN"}, {"data", {{"password", 5}}}}), "invalid_field"},
      {"backupCodes not strings",
       j({{"type", "TOTP"}, {"data", {{"secret", "JBSWY3DPEHPK3PXP"}, {"backupCodes", {1, 2}}}}}),
       "invalid_field"},
      {"login without password", j({{"type", "LOGIN"}, {"data", {{"user", "u"}}}}),
       "missing_field"},
      {"api key without key", j({{"type", "API_KEY"}, {"data", {{"clientId", "c"}}}}),
       "missing_field"},
      {"oauth without accessToken", j({{"type", "OAUTH"}, {"data", {{"refreshToken", "r"}}}}),
       "missing_field"},
      {"totp without secret", j({{"type", "TOTP"}, {"data", {{"backupCodes", {"a"}}}}}),
       "missing_field"},
      {"ssh without privateKey", j({{"type", "SSH_KEY"}, {"data", {{"passphrase", "p"}}}}),
       "missing_field"},
      {"database without either", j({{"type", "DATABASE"}, {"data", {{"user", "u"}}}}),
       "missing_field"},
      {"smtp without password", j({{"type", "SMTP"}, {"data", {{"user", "u"}}}}), "missing_field"},
      {"aws without secretAccessKey", j({{"type", "AWS"}, {"data", {{"sessionToken", "s"}}}}),
       "missing_field"},
      {"cert without privateKey", j({{"type", "CERTIFICATE"}, {"data", {{"chain", "c"}}}}),
       "missing_field"},
      {"metadata not object", j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"metadata", "x"}}),
       "invalid_metadata"},
      {"metadata nested object",
       j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"metadata", {{"x", {{"y", 1}}}}}}),
       "invalid_metadata"},
      {"metadata array of numbers",
       j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"metadata", {{"x", {1, 2}}}}}),
       "invalid_metadata"},
      {"password in metadata",
       j({{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"metadata", {{"password", "p"}}}}),
       "secret_in_metadata"},
      {"accessToken in metadata",
       j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"metadata", {{"accessToken", "t"}}}}),
       "secret_in_metadata"},
      {"totp seed not base32", j({{"type", "TOTP"}, {"data", {{"secret", "not base32!"}}}}),
       "invalid_totp_secret"},
      {"totp seed too short", j({{"type", "TOTP"}, {"data", {{"secret", "JBSWY3DP"}}}}),
       "invalid_totp_secret"},
      {"data.totp not base32", j({{"type", "LOGIN"}, {"data", {{"password", "p"}, {"totp", "1"}}}}),
       "invalid_totp_secret"},
      {"totp algorithm",
       j({{"type", "TOTP"},
          {"data", {{"secret", "JBSWY3DPEHPK3PXP"}}},
          {"metadata", {{"algorithm", "MD5"}}}}),
       "invalid_totp_algorithm"},
      {"totp digits",
       j({{"type", "TOTP"},
          {"data", {{"secret", "JBSWY3DPEHPK3PXP"}}},
          {"metadata", {{"digits", 7}}}}),
       "invalid_totp_digits"},
      {"totp period",
       j({{"type", "TOTP"},
          {"data", {{"secret", "JBSWY3DPEHPK3PXP"}}},
          {"metadata", {{"period", 0}}}}),
       "invalid_totp_period"},
      {"expiresAt not RFC 3339",
       j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"expiresAt", "tomorrow"}}),
       "invalid_expires_at"},
      {"expiresAt a number", j({{"type", "CUSTOM"}, {"data", {{"a", "b"}}}, {"expiresAt", 5}}),
       "invalid_expires_at"},
      {"bad JSON", "{\"type\":", "invalid_json"},
  };
  for (const auto& c : cases) {
    HttpResponse r = client_->PutJson("/v0/vault/validation-case", c.raw_body, key_);
    SCOPED_TRACE(c.why);
    ExpectError(r, 400, c.code);
  }
  const json ok = {{"type", "CUSTOM"}, {"data", {{"a", "b"}}}};
  for (const std::string& bad_name :
       {std::string("-leading-dash"), std::string(".dot"), std::string(129, 'n'),
        std::string("sp%20ace"), std::string("sl%2Fash"), std::string("uni%C3%A9")}) {
    SCOPED_TRACE(bad_name);
    ExpectError(Put(bad_name, ok), 400, "invalid_name");
  }
  EXPECT_EQ(Put(std::string(128, 'n'), ok).status, 200);
  EXPECT_EQ(Put("A1._-z", ok).status, 200);
  ExpectError(Get("validation-case"), 404, "not_found");  // nothing was stored
}

TEST_P(E2eTest, BodyLimitAndContentType) {
  const std::string ok = R"({"type":"CUSTOM","data":{"a":"b"}})";
  std::string big = R"({"type":"CUSTOM","data":{"a":")" + std::string(64 * 1024, 'x') + "\"}}";
  ExpectError(client_->PutJson("/v0/vault/big", big, key_), 413, "payload_too_large");
  std::string fits = R"({"type":"CUSTOM","data":{"a":")";
  fits += std::string(64 * 1024 - fits.size() - 3, 'x') + "\"}}";
  ASSERT_EQ(fits.size(), 64u * 1024);
  EXPECT_EQ(client_->PutJson("/v0/vault/big", fits, key_).status, 200);
  const std::string auth = "Authorization: Bearer " + key_;
  ExpectError(client_->Send("PUT", "/v0/vault/ct", {auth}, ok), 415, "unsupported_media_type");
  ExpectError(client_->Send("PUT", "/v0/vault/ct", {auth, "Content-Type: text/plain"}, ok), 415,
              "unsupported_media_type");
  ExpectError(client_->Send("PUT", "/v0/vault/ct",
                            {auth, "Content-Type: application/x-www-form-urlencoded"}, ok),
              415, "unsupported_media_type");
  EXPECT_EQ(
      client_
          ->Send("PUT", "/v0/vault/ct", {auth, "Content-Type: application/json; charset=utf-8"}, ok)
          .status,
      200);
}

TEST_P(E2eTest, UnknownRouteAndWrongMethod) {
  ExpectError(client_->Get("/v0/nothing", key_), 404, "not_found");
  ExpectError(client_->Get("/", key_), 404, "not_found");
  ExpectError(client_->Get("/v0/vault/a/b/c", key_), 404, "not_found");
  HttpResponse r = client_->Send("PATCH", "/v0/vault/x", {"Authorization: Bearer " + key_});
  ExpectError(r, 405, "method_not_allowed");
  EXPECT_TRUE(r.Header("allow").has_value());
  ExpectError(client_->Send("POST", "/v0/vault", {"Authorization: Bearer " + key_}), 405,
              "method_not_allowed");
  ExpectError(client_->Send("GET", "/v0/vault/x/totp/backup", {"Authorization: Bearer " + key_}),
              405, "method_not_allowed");
  ExpectError(client_->Send("POST", "/v0/vault/x/totp", {"Authorization: Bearer " + key_}), 405,
              "method_not_allowed");
  HttpResponse health = client_->Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health), (json{{"status", "ok"}}));
  HttpResponse ready = client_->Get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(Body(ready)["hsm"], "ok");
  EXPECT_EQ(Body(ready)["store"], "ok");
}

namespace {
// The value of strongroom_hsm_operations_total in a GET /metrics body, or -1.
long long HsmOperations(const HttpResponse& metrics) {
  const std::string kName = "\nstrongroom_hsm_operations_total ";
  const std::string body = "\n" + metrics.body;
  std::size_t at = body.find(kName);
  if (at == std::string::npos) return -1;
  return std::stoll(body.substr(at + kName.size()));
}
}  // namespace

// Issue 6: zero HSM operations per warm request, read from the server's own
// counter. GET /metrics needs no key and costs no HSM call itself.
TEST_P(E2eTest, WarmGetsMakeNoHsmOperations) {
  ASSERT_EQ(Put("hsm-warm", json{{"type", "API_KEY"}, {"data", {{"key", "k-123"}}}}).status, 200);
  ASSERT_EQ(Get("hsm-warm").status, 200);  // the identity's KEK is now unwrapped
  HttpResponse metrics = client_->Get("/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.body;
  EXPECT_EQ(metrics.Header("content-type").value_or(""), "text/plain");
  const long long before = HsmOperations(metrics);
  ASSERT_GE(before, 0) << metrics.body;
  for (int i = 0; i < 100; ++i) ASSERT_EQ(Get("hsm-warm").status, 200);
  EXPECT_EQ(HsmOperations(client_->Get("/metrics")), before);
  // /readyz probes the HSM session: one operation per call.
  ASSERT_EQ(client_->Get("/readyz").status, 200);
  EXPECT_EQ(HsmOperations(client_->Get("/metrics")), before + 1);
}

TEST_P(E2eTest, ExpiredCredentialAnswers410AndIsListed) {
  json body = {{"type", "TOTP"},
               {"data", {{"secret", "JBSWY3DPEHPK3PXPJBSWY3DP"}, {"backupCodes", {"x"}}}},
               {"expiresAt", "2020-01-01T00:00:00Z"}};
  ASSERT_EQ(Put("expired-one", body).status, 200);
  ExpectError(Get("expired-one"), 410, "expired");
  ExpectError(client_->Get("/v0/vault/expired-one/totp", key_), 410, "expired");
  ExpectError(client_->Post("/v0/vault/expired-one/totp/backup", key_), 410, "expired");
  json listed = Body(client_->Get("/v0/vault?limit=1000", key_));
  bool found = false;
  for (const auto& c : listed["credentials"]) {
    if (c["name"] == "expired-one") {
      found = true;
      EXPECT_EQ(c["expiresAt"], "2020-01-01T00:00:00.000Z");
    }
  }
  EXPECT_TRUE(found);
}

TEST_P(E2eTest, AuthFailuresAndScopes) {
  Expect401(client_->Get("/v0/vault"));
  Expect401(client_->Get("/v0/vault", "garbage"));
  Expect401(client_->Get("/v0/vault", "sr_0123456789abcdef_" + std::string(43, 'A')));
  Expect401(client_->Send("GET", "/v0/vault", {"Authorization: Basic dXNlcjpwYXNz"}));
  Expect401(client_->PutJson("/v0/vault/x", R"({"type":"CUSTOM","data":{"a":"b"}})", "nope"));

  std::string revoked = server().CreateKey("dev", {"vault:read"});
  ASSERT_FALSE(revoked.empty());
  EXPECT_EQ(client_->Get("/v0/vault", revoked).status, 200);
  auto revoke = server().Admin({"key", "revoke", revoked.substr(3, 16)});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  Expect401(client_->Get("/v0/vault", revoked));

  std::string expiring = server().CreateKey("dev", {"vault:read"}, "1s");
  ASSERT_FALSE(expiring.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Expect401(client_->Get("/v0/vault", expiring));

  ASSERT_EQ(Put("scoped", {{"type", "CUSTOM"}, {"data", {{"a", "b"}}}}).status, 200);
  std::string reader = server().CreateKey("dev", {"vault:read"});
  std::string writer = server().CreateKey("dev", {"vault:write"});
  ASSERT_FALSE(reader.empty());
  ASSERT_FALSE(writer.empty());
  ExpectError(Put("scoped", {{"type", "CUSTOM"}, {"data", {{"a", "c"}}}}, reader), 403,
              "insufficient_scope");
  ExpectError(client_->Delete("/v0/vault/scoped", reader), 403, "insufficient_scope");
  EXPECT_EQ(Get("scoped", reader).status, 200);
  ExpectError(Get("scoped", writer), 403, "insufficient_scope");
  ExpectError(client_->Get("/v0/vault", writer), 403, "insufficient_scope");
  EXPECT_EQ(Put("scoped", {{"type", "CUSTOM"}, {"data", {{"a", "d"}}}}, writer).status, 200);
  EXPECT_EQ(client_->Delete("/v0/vault/scoped", writer).status, 204);
}

}  // namespace
}  // namespace strongroom::e2e
