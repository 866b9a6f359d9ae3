// McpHandler over a real vault::Vault, SQLite store in a temp dir and a fake
// key manager (no HSM: the MCP face does not care how data is sealed).
#include "api/mcp_handler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "kms/key_manager.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "vault/admin.h"
#include "vault/vault.h"

namespace strongroom::api {
namespace {

using nlohmann::json;

// Seals by copying: enough for a face test, and obviously not encryption.
class FakeKeyManager final : public kms::KeyManager {
 public:
  Result<kms::Bytes> NewWrappedKek() override { return kms::Bytes(32, 0x42); }
  Result<kms::Envelope> Seal(const kms::KekRef& /*kek*/, std::string_view plaintext,
                             std::string_view /*aad*/) override {
    kms::Envelope out;
    out.ciphertext.assign(plaintext.begin(), plaintext.end());
    out.wrapped_dek.assign(40, 0x17);
    return out;
  }
  Result<SecretBytes> Open(const kms::KekRef& /*kek*/, const kms::Envelope& envelope,
                           std::string_view /*aad*/) override {
    return SecretBytes(envelope.ciphertext.begin(), envelope.ciphertext.end());
  }
  void Evict(std::int64_t /*identity_id*/) override {}
  Status CheckHsm() override { return Status::Ok(); }
  std::uint64_t hsm_operations() const override { return 0; }
};

class McpHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("mcp_handler_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "vault.db").string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto identity = vault::CreateIdentity(*store_, keys_, "dev", Clock::Real());
    ASSERT_TRUE(identity.ok()) << identity.status().ToString();
    rw_key_ = NewKey(model::kScopeRead | model::kScopeWrite);
    ro_key_ = NewKey(model::kScopeRead);
    vault_ = std::make_unique<vault::Vault>(store_.get(), &keys_, &Clock::Real());
    handler_ = std::make_unique<McpHandler>(vault_.get(), McpOptions{});
  }

  void TearDown() override {
    handler_.reset();
    if (vault_) vault_->Shutdown();
    vault_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string NewKey(std::uint32_t scopes) {
    auto key = vault::CreateApiKey(*store_, "dev", scopes, std::nullopt, Clock::Real());
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return key.ok() ? std::string(key->key.view()) : std::string();
  }

  McpHttpResponse Post(const std::string& body, const std::string& key,
                       const std::string& version = "2025-11-25") {
    authorization_ = "Bearer " + key;
    McpHttpRequest request;
    request.method = "POST";
    request.authorization = authorization_;
    request.accept = "application/json, text/event-stream";
    request.content_type = "application/json";
    request.protocol_version = version;
    request.body = body;
    return handler_->Handle(request);
  }

  // Posts one request and returns the parsed JSON-RPC response.
  json Rpc(const std::string& method, const json& params, const std::string& key = "") {
    json message{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}};
    McpHttpResponse response = Post(message.dump(), key.empty() ? rw_key_ : key);
    EXPECT_EQ(response.status, 200) << response.body;
    json out = json::parse(response.body, nullptr, false);
    EXPECT_EQ(out["id"], 7);
    return out;
  }

  json CallTool(const std::string& name, const json& arguments, const std::string& key = "") {
    return Rpc("tools/call", json{{"name", name}, {"arguments", arguments}}, key);
  }

  std::filesystem::path dir_;
  FakeKeyManager keys_;
  std::unique_ptr<store::CredentialStore> store_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<McpHandler> handler_;
  std::string rw_key_;
  std::string ro_key_;
  std::string authorization_;
};

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

}  // namespace
}  // namespace strongroom::api
