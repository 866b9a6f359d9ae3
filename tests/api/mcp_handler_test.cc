// McpHandler over a real vault::Vault, SQLite store in a temp dir and a fake
// key manager (tests/api/mcp/mcp_fixture.h).
#include "api/mcp_handler.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "tests/api/mcp/mcp_fixture.h"

namespace strongroom::api {
namespace {

using mcp_test::McpHandlerTest;
using nlohmann::json;

TEST_F(McpHandlerTest, InitializeEchoesSupportedVersion) {
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26"}) {
    json out = Rpc("initialize", json{{"protocolVersion", version},
                                      {"capabilities", json::object()},
                                      {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
    EXPECT_EQ(out["result"]["protocolVersion"], version);
    EXPECT_EQ(out["result"]["serverInfo"]["name"], "strongroom");
    EXPECT_EQ(out["result"]["capabilities"]["tools"]["listChanged"], false);
  }
}

TEST_F(McpHandlerTest, InitializeAnswersLatestForUnknownVersion) {
  json out = Rpc("initialize", json{{"protocolVersion", "2024-11-05"}});
  EXPECT_EQ(out["result"]["protocolVersion"], "2025-11-25");
}

TEST_F(McpHandlerTest, NotificationIsAccepted) {
  McpHttpResponse response =
      Post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", rw_key_);
  EXPECT_EQ(response.status, 202);
  EXPECT_TRUE(response.body.empty());
}

TEST_F(McpHandlerTest, PingAnswersEmptyResult) {
  json out = Rpc("ping", json::object());
  EXPECT_EQ(out["result"], json::object());
}

TEST_F(McpHandlerTest, MissingKeyIs401BeforeJsonRpc) {
  McpHttpRequest request;
  request.method = "POST";
  request.content_type = "application/json";
  request.body = "not json";
  McpHttpResponse response = handler_->Handle(request);
  EXPECT_EQ(response.status, 401);
  json body = json::parse(response.body);
  EXPECT_EQ(body["error"], "unauthorized");
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(response.headers[0].second, "Bearer");
}

TEST_F(McpHandlerTest, GetIs405) {
  McpHttpRequest request;
  request.method = "GET";
  request.authorization = "Bearer x";
  McpHttpResponse response = handler_->Handle(request);
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1u);
  EXPECT_EQ(response.headers[0].first, "Allow");
}

TEST_F(McpHandlerTest, ForeignOriginIs403) {
  McpHttpRequest request;
  request.method = "POST";
  request.authorization = "Bearer x";
  request.origin = "http://evil.example";
  request.host = "127.0.0.1:8700";
  EXPECT_EQ(handler_->Handle(request).status, 403);
  request.origin = "http://127.0.0.1:8700";
  EXPECT_EQ(handler_->Handle(request).status, 401);  // same origin: on to auth
}

TEST_F(McpHandlerTest, ParseErrorIs32700) {
  McpHttpResponse response = Post("{not json", rw_key_);
  EXPECT_EQ(response.status, 400);
  json body = json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], -32700);
  EXPECT_TRUE(body["id"].is_null());
}

TEST_F(McpHandlerTest, WrongJsonRpcVersionIs32600) {
  McpHttpResponse response = Post(R"({"jsonrpc":"1.0","id":3,"method":"ping"})", rw_key_);
  EXPECT_EQ(response.status, 400);
  json body = json::parse(response.body);
  EXPECT_EQ(body["error"]["code"], -32600);
  EXPECT_EQ(body["id"], 3);
}

TEST_F(McpHandlerTest, MissingMethodIs32600) {
  McpHttpResponse response = Post(R"({"jsonrpc":"2.0","id":3})", rw_key_);
  EXPECT_EQ(json::parse(response.body)["error"]["code"], -32600);
}

TEST_F(McpHandlerTest, UnknownMethodIs32601) {
  json out = Rpc("resources/list", json::object());
  EXPECT_EQ(out["error"]["code"], -32601);
}

TEST_F(McpHandlerTest, UnsupportedProtocolHeaderIs400) {
  McpHttpResponse response =
      Post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})", rw_key_, "1999-01-01");
  EXPECT_EQ(response.status, 400);
}

TEST_F(McpHandlerTest, BatchAllowedOnlyFor20250326) {
  const std::string batch = R"([{"jsonrpc":"2.0","id":1,"method":"ping"},)"
                            R"({"jsonrpc":"2.0","method":"notifications/initialized"},)"
                            R"({"jsonrpc":"2.0","id":2,"method":"nope"}])";
  McpHttpResponse old_version = Post(batch, rw_key_, "2025-03-26");
  EXPECT_EQ(old_version.status, 200);
  json replies = json::parse(old_version.body);
  ASSERT_TRUE(replies.is_array());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0]["id"], 1);
  EXPECT_EQ(replies[1]["error"]["code"], -32601);

  McpHttpResponse no_header = Post(batch, rw_key_, "");  // assumed 2025-03-26
  EXPECT_EQ(no_header.status, 200);

  McpHttpResponse new_version = Post(batch, rw_key_, "2025-06-18");
  EXPECT_EQ(new_version.status, 400);
  EXPECT_EQ(json::parse(new_version.body)["error"]["code"], -32600);

  McpHttpResponse only_notifications =
      Post(R"([{"jsonrpc":"2.0","method":"notifications/initialized"}])", rw_key_, "2025-03-26");
  EXPECT_EQ(only_notifications.status, 202);
}

TEST_F(McpHandlerTest, ToolsListFollowsScopes) {
  json all = Rpc("tools/list", json::object());
  ASSERT_EQ(all["result"]["tools"].size(), 6u);
  for (const json& tool : all["result"]["tools"]) {
    EXPECT_EQ(tool["inputSchema"]["type"], "object");
    EXPECT_TRUE(tool["annotations"].contains("readOnlyHint"));
  }
  json read_only = Rpc("tools/list", json::object(), ro_key_);
  ASSERT_EQ(read_only["result"]["tools"].size(), 3u);
  EXPECT_EQ(read_only["result"]["tools"][0]["name"], "vault.list");
  EXPECT_EQ(read_only["result"]["tools"][1]["name"], "vault.get");
  EXPECT_EQ(read_only["result"]["tools"][2]["name"], "vault.totp");
}

TEST_F(McpHandlerTest, StoreGetListDeleteRoundTrip) {
  json stored = CallTool("vault.store", json{{"name", "github"},
                                             {"type", "LOGIN"},
                                             {"data", {{"password", "hunter2"}}},
                                             {"metadata", {{"username", "octo"}}}});
  ASSERT_EQ(stored["result"]["isError"], false) << stored.dump();
  EXPECT_EQ(stored["result"]["structuredContent"]["created"], true);
  EXPECT_EQ(json::parse(stored["result"]["content"][0]["text"].get<std::string>()),
            stored["result"]["structuredContent"]);

  json got = CallTool("vault.get", json{{"name", "github"}});
  ASSERT_EQ(got["result"]["isError"], false) << got.dump();
  EXPECT_EQ(got["result"]["structuredContent"]["data"]["password"], "hunter2");

  json listed = CallTool("vault.list", json::object());
  ASSERT_EQ(listed["result"]["isError"], false) << listed.dump();
  EXPECT_EQ(listed["result"]["structuredContent"]["count"], 1);
  EXPECT_FALSE(listed["result"]["structuredContent"]["credentials"][0].contains("data"));

  json deleted = CallTool("vault.delete", json{{"name", "github"}});
  EXPECT_EQ(deleted["result"]["structuredContent"], (json{{"deleted", true}, {"name", "github"}}));

  json gone = CallTool("vault.get", json{{"name", "github"}});
  EXPECT_EQ(gone["result"]["isError"], true);
  EXPECT_EQ(gone["result"]["structuredContent"]["error"], "not_found");
}

TEST_F(McpHandlerTest, ValidationFailureIsToolError) {
  json out = CallTool("vault.store", json{{"name", "x"}, {"type", "NOPE"}, {"data", {{"a", "b"}}}});
  EXPECT_EQ(out["result"]["isError"], true);
  EXPECT_EQ(out["result"]["structuredContent"]["error"], "invalid_type");
}

TEST_F(McpHandlerTest, ReadOnlyKeyCannotStore) {
  json out = CallTool("vault.store",
                      json{{"name", "x"}, {"type", "CUSTOM"}, {"data", {{"a", "b"}}}}, ro_key_);
  EXPECT_EQ(out["result"]["isError"], true);
  EXPECT_EQ(out["result"]["structuredContent"]["error"], "insufficient_scope");
}

TEST_F(McpHandlerTest, MissingArgumentsAre32602) {
  EXPECT_EQ(Rpc("tools/call", json{{"name", "vault.get"}})["error"]["code"], -32602);
  EXPECT_EQ(CallTool("vault.get", json{{"nam", "x"}})["error"]["code"], -32602);
  EXPECT_EQ(CallTool("vault.get", json{{"name", 5}})["error"]["code"], -32602);
  EXPECT_EQ(Rpc("tools/call", json::object())["error"]["code"], -32602);
  EXPECT_EQ(CallTool("vault.nope", json::object())["error"]["code"], -32602);
}

TEST_F(McpHandlerTest, UnderscoreNames) {
  handler_ = std::make_unique<McpHandler>(vault_.get(), McpOptions{.underscore_names = true});
  json all = Rpc("tools/list", json::object());
  EXPECT_EQ(all["result"]["tools"][3]["name"], "vault_totp_use_backup");
  json listed = CallTool("vault_list", json::object());
  EXPECT_EQ(listed["result"]["isError"], false);
}

TEST_F(McpHandlerTest, BackupCodesPopInOrder) {
  json stored = CallTool(
      "vault.store",
      json{{"name", "otp"},
           {"type", "TOTP"},
           {"data", {{"secret", "JBSWY3DPEHPK3PXPJBSWY3DP"}, {"backupCodes", {"one", "two"}}}}});
  ASSERT_EQ(stored["result"]["isError"], false) << stored.dump();
  json totp = CallTool("vault.totp", json{{"name", "otp"}});
  ASSERT_EQ(totp["result"]["isError"], false) << totp.dump();
  EXPECT_EQ(totp["result"]["structuredContent"]["code"].get<std::string>().size(), 6u);
  EXPECT_EQ(CallTool("vault.totp_use_backup",
                     json{{"name", "otp"}})["result"]["structuredContent"]["code"],
            "one");
  EXPECT_EQ(CallTool("vault.totp_use_backup",
                     json{{"name", "otp"}})["result"]["structuredContent"]["code"],
            "two");
  json empty = CallTool("vault.totp_use_backup", json{{"name", "otp"}});
  EXPECT_EQ(empty["result"]["isError"], true);
  EXPECT_EQ(empty["result"]["structuredContent"]["error"], "no_backup_codes");
}

// SPEC 5a: a JSON-RPC batch holds at most 16 messages.
std::string Batch(int lists, bool with_store) {
  json batch = json::array();
  for (int i = 0; i < lists; ++i) {
    batch.push_back(json{{"jsonrpc", "2.0"},
                         {"id", i},
                         {"method", "tools/call"},
                         {"params", {{"name", "vault.list"}, {"arguments", json::object()}}}});
  }
  if (with_store) {
    batch.push_back(
        json{{"jsonrpc", "2.0"},
             {"id", "store"},
             {"method", "tools/call"},
             {"params",
              {{"name", "vault.store"},
               {"arguments", {{"name", "batched"}, {"type", "CUSTOM"}, {"data", {{"a", "b"}}}}}}}});
  }
  return batch.dump();
}

TEST_F(McpHandlerTest, BatchOf17IsOneInvalidRequestAndRunsNothing) {
  McpHttpResponse lists = Post(Batch(17, false), rw_key_, "2025-03-26");
  EXPECT_EQ(lists.status, 400);
  json body = json::parse(lists.body);
  ASSERT_TRUE(body.is_object()) << lists.body;  // one error, not one per message
  EXPECT_EQ(body["error"]["code"], -32600);
  EXPECT_TRUE(body["id"].is_null());

  McpHttpResponse with_store = Post(Batch(16, true), rw_key_, "2025-03-26");
  EXPECT_EQ(with_store.status, 400);
  EXPECT_EQ(json::parse(with_store.body)["error"]["code"], -32600);
  json listed = CallTool("vault.list", json::object());
  EXPECT_EQ(listed["result"]["structuredContent"]["count"], 0);  // the store did not run
}

TEST_F(McpHandlerTest, BatchOf16IsAnswered) {
  McpHttpResponse response = Post(Batch(15, true), rw_key_, "2025-03-26");
  ASSERT_EQ(response.status, 200) << response.body;
  json replies = json::parse(response.body);
  ASSERT_TRUE(replies.is_array());
  ASSERT_EQ(replies.size(), 16u);
  for (const json& reply : replies) EXPECT_EQ(reply["result"]["isError"], false) << reply.dump();
  EXPECT_EQ(CallTool("vault.list", json::object())["result"]["structuredContent"]["count"], 1);
}

// SPEC 5a: an unexpected failure is -32603 with a generic message, never the
// exception's text (here it holds the plaintext being opened).
TEST_F(McpHandlerTest, ExceptionIsGenericInternalError) {
  json stored = CallTool("vault.store",
                         json{{"name", "x"}, {"type", "LOGIN"}, {"data", {{"password", "pw-42"}}}});
  ASSERT_EQ(stored["result"]["isError"], false) << stored.dump();
  keys_.throw_on_open = true;
  const std::string get = json{{"jsonrpc", "2.0"},
                               {"id", 1},
                               {"method", "tools/call"},
                               {"params", {{"name", "vault.get"}, {"arguments", {{"name", "x"}}}}}}
                              .dump();
  for (const std::string& body : {get, "[" + get + "]"}) {
    McpHttpResponse response = Post(body, rw_key_, body[0] == '[' ? "2025-03-26" : "2025-11-25");
    EXPECT_EQ(response.status, 500);
    json error = json::parse(response.body);
    EXPECT_EQ(error["error"]["code"], -32603);
    EXPECT_EQ(error["error"]["message"], "Internal error");
    EXPECT_EQ(response.body.find("pw-42"), std::string::npos);
    EXPECT_EQ(response.body.find("open failed"), std::string::npos);
  }
}

}  // namespace
}  // namespace strongroom::api
