// api::Server in-process on port 0: routing, error model, headers, keep-alive.
#include "api/server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/api/server_fixture.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"
#include "vault/admin.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using strongroom::testing::HttpClient;
using strongroom::testing::HttpResponse;

class HttpServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    ASSERT_NO_FATAL_FAILURE(StartServer());
    client_ = std::make_unique<HttpClient>("http://127.0.0.1:" + std::to_string(server_->port()));
  }

  static void ExpectJsonError(const HttpResponse& r, long status, const std::string& error) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("content-type").value_or(""), "application/json") << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.size(), 2u) << r.body;
    EXPECT_EQ(body["error"], error) << r.body;
    EXPECT_TRUE(body["message"].is_string()) << r.body;
  }

  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpServerTest, ProbesAnswer) {
  HttpResponse health = client_->Get("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body), (json{{"status", "ok"}}));
  EXPECT_EQ(health.Header("content-type"), "application/json");
  HttpResponse ready = client_->Get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  keys_.Fail(UnavailableError("HSM gone"));
  ready = client_->Get("/readyz");
  EXPECT_EQ(ready.status, 503);
  EXPECT_EQ(json::parse(ready.body)["hsm"], "unavailable");
  EXPECT_EQ(json::parse(ready.body)["store"], "ok");
}

TEST_F(HttpServerTest, UnknownRoutesAndMethods) {
  for (const char* path : {"/", "/v0", "/v0/vault/", "/v0/vault/a/b", "/v0/vault/a/totp/x",
                           "/v1/vault", "/healthz/x", "/v0/vaults"}) {
    ExpectJsonError(client_->Get(path, key_), 404, "not_found");
  }
  HttpResponse r = client_->Send("POST", "/v0/vault/x", {"Authorization: Bearer " + key_});
  ExpectJsonError(r, 405, "method_not_allowed");
  std::string allow = r.Header("allow").value_or("");
  EXPECT_NE(allow.find("GET"), std::string::npos) << allow;
  EXPECT_NE(allow.find("PUT"), std::string::npos) << allow;
  EXPECT_NE(allow.find("DELETE"), std::string::npos) << allow;
  ExpectJsonError(client_->Send("DELETE", "/v0/vault"), 405, "method_not_allowed");
  ExpectJsonError(client_->Send("GET", "/v0/vault/x/totp/backup"), 405, "method_not_allowed");
  ExpectJsonError(client_->Send("PUT", "/healthz"), 405, "method_not_allowed");
  // MCP shares the server and its bearer auth: no key, no JSON-RPC.
  ExpectJsonError(client_->Send("POST", "/mcp"), 401, "unauthorized");
}

TEST_F(HttpServerTest, AuthErrorsCarryWwwAuthenticate) {
  for (const std::vector<std::string>& headers :
       {std::vector<std::string>{}, {"Authorization: Bearer nope"}, {"Authorization: Basic x"}}) {
    HttpResponse r = client_->Send("GET", "/v0/vault", headers);
    ExpectJsonError(r, 401, "unauthorized");
    EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
  }
}

TEST_F(HttpServerTest, PutGetListDeleteRoundTrip) {
  const std::string body =
      R"({"type":"API_KEY","data":{"key":"sk_live_abc"},"metadata":{"service":"stripe"}})";
  HttpResponse put = client_->PutJson("/v0/vault/stripe", body, key_);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Header("content-type"), "application/json");
  EXPECT_EQ(json::parse(put.body)["created"], true);
  HttpResponse got = client_->Get("/v0/vault/stripe", key_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body)["data"]["key"], "sk_live_abc");
  HttpResponse list = client_->Get("/v0/vault?limit=10", key_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(json::parse(list.body)["count"], 1);
  ExpectJsonError(client_->Get("/v0/vault?limit=0", key_), 400, "invalid_limit");
  ExpectJsonError(client_->Get("/v0/vault?cursor=%%%", key_), 400, "invalid_cursor");
  HttpResponse del = client_->Delete("/v0/vault/stripe", key_);
  EXPECT_EQ(del.status, 204);
  EXPECT_TRUE(del.body.empty());
  ExpectJsonError(client_->Get("/v0/vault/stripe", key_), 404, "not_found");
}

TEST_F(HttpServerTest, NamesArePercentDecoded) {
  const std::string body = R"({"type":"CUSTOM","data":{"a":"b"}})";
  ASSERT_EQ(client_->PutJson("/v0/vault/my%2Eapp_1", body, key_).status, 200);
  HttpResponse got = client_->Get("/v0/vault/my.app_1", key_);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body)["name"], "my.app_1");
  ExpectJsonError(client_->PutJson("/v0/vault/a%20b", body, key_), 400, "invalid_name");
  ExpectJsonError(client_->Get("/v0/vault/a%2", key_), 400, "invalid_name");
}

TEST_F(HttpServerTest, BodyChecks) {
  ExpectJsonError(client_->Send("PUT", "/v0/vault/x",
                                {"Authorization: Bearer " + key_, "Content-Type: text/plain"},
                                R"({"type":"CUSTOM","data":{"a":"b"}})"),
                  415, "unsupported_media_type");
  ExpectJsonError(client_->Send("PUT", "/v0/vault/x", {"Authorization: Bearer " + key_},
                                R"({"type":"CUSTOM","data":{"a":"b"}})"),
                  415, "unsupported_media_type");
  EXPECT_EQ(
      client_
          ->Send("PUT", "/v0/vault/x",
                 {"Authorization: Bearer " + key_, "Content-Type: application/json; charset=utf-8"},
                 R"({"type":"CUSTOM","data":{"a":"b"}})")
          .status,
      200);
  std::string big = R"({"type":"CUSTOM","data":{"a":")" + std::string(70 * 1024, 'x') + "\"}}";
  ExpectJsonError(client_->PutJson("/v0/vault/x", big, key_), 413, "payload_too_large");
  ExpectJsonError(client_->PutJson("/v0/vault/x", "{not json", key_), 400, "invalid_json");
}

TEST_F(HttpServerTest, ConnectionsAreKeptAlive) {
  HttpResponse first = client_->Get("/healthz");
  ASSERT_EQ(first.status, 200);
  EXPECT_NE(first.Header("connection").value_or(""), "Close");
  HttpResponse second = client_->Get("/healthz");
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(second.connects, 0) << "the second request opened a new connection";
  HttpResponse closing = client_->Send("GET", "/healthz", {"Connection: close"});
  EXPECT_EQ(closing.Header("connection").value_or(""), "Close");
}

TEST_F(HttpServerTest, StoreOutageIs503WithRetryAfter) {
  store_->Fail(UnavailableError("database is locked at /secret/path", "store_unavailable"));
  HttpResponse r = client_->Get("/v0/vault", "sr_0123456789abcdef_" + std::string(43, 'A'));
  ExpectJsonError(r, 503, "store_unavailable");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(r.body.find("/secret/path"), std::string::npos);
  store_->Fail(std::nullopt);
}

}  // namespace
}  // namespace strongroom::api
