// A vault::Vault over the real SQLite store and a fake key manager and clock,
// with two identities (alice, bob) holding read+write keys. Shared by the use
// case tests (tests/vault) and the rendering tests (tests/api).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "model/credential.h"
#include "tests/testing/server_process.h"
#include "tests/vault/fakes.h"
#include "vault/admin.h"
#include "vault/vault.h"

namespace strongroom::vault::testing {

inline void ExpectError(const Status& status, StatusCode code, const std::string& error_code) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_EQ(status.error_code(), error_code) << status.ToString();
}

class VaultFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto inner = store::OpenSqliteStore(dir_.path() + "/vault.db");
    ASSERT_TRUE(inner.ok()) << inner.status().ToString();
    store_ = std::make_unique<fakes::FailingStore>(std::move(inner).value());
    // A long interval: tests flush explicitly.
    vault_ =
        std::make_unique<Vault>(store_.get(), &keys_, &clock_, VaultOptions{std::chrono::hours(1)});
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

  // Vault::Put with `body` as JSON text.
  Result<PutOutcome> TryPut(const Principal& who, const std::string& name,
                            const nlohmann::json& body) {
    return vault_->Put(who, name, body.dump());
  }

  PutOutcome Put(const Principal& who, const std::string& name, const nlohmann::json& body) {
    auto result = TryPut(who, name, body);
    EXPECT_TRUE(result.ok()) << result.status().ToString();
    return result.ok() ? std::move(result).value() : PutOutcome{};
  }

  static nlohmann::json ApiKeyBody(const std::string& key = "sk_live_123") {
    return {{"type", "API_KEY"}, {"data", {{"key", key}}}, {"metadata", {{"service", "stripe"}}}};
  }

  static nlohmann::json TotpBody(std::vector<std::string> backup = {}) {
    // RFC 6238 appendix B SHA1 seed "12345678901234567890".
    nlohmann::json data = {{"secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}};
    if (!backup.empty()) data["backupCodes"] = backup;
    return {{"type", "TOTP"}, {"data", data}, {"metadata", {{"digits", 8}}}};
  }

  strongroom::testing::TempDir dir_;
  fakes::FakeClock clock_;
  fakes::FakeKeyManager keys_;
  std::unique_ptr<fakes::FailingStore> store_;
  std::unique_ptr<Vault> vault_;
  Principal alice_, bob_;
};

}  // namespace strongroom::vault::testing
