// The McpHandler test fixture: a real vault::Vault over a SQLite store in a
// temp dir and a fake key manager (no HSM: the MCP face does not care how data
// is sealed). Shared by the handler's tests in tests/api/.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "api/mcp_handler.h"
#include "kms/key_manager.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "vault/admin.h"
#include "vault/vault.h"

namespace strongroom::api::mcp_test {

using nlohmann::json;

// Seals by copying: enough for a face test, and obviously not encryption.
// With `throw_on_open` set, Open throws an exception whose text holds the
// plaintext (tests that exception text never reaches a client).
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
    if (throw_on_open) {
      throw std::runtime_error("open failed for " +
                               std::string(envelope.ciphertext.begin(), envelope.ciphertext.end()));
    }
    return SecretBytes(envelope.ciphertext.begin(), envelope.ciphertext.end());
  }
  void Evict(std::int64_t /*identity_id*/) override {}
  Status CheckHsm() override { return Status::Ok(); }
  std::uint64_t hsm_operations() const override { return 0; }

  std::atomic<bool> throw_on_open{false};
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

}  // namespace strongroom::api::mcp_test
