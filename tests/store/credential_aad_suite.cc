// The vault over each store backend: clear columns of a credential row edited
// in the database behind the vault's back (SPEC 5a, 7), and rows sealed with
// the AAD layout of schema version 2 (before expiresAt and the metadata were
// bound), which must still open and are resealed with the current layout.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kms/key_manager.h"
#include "tests/store/credential_store_suite.h"
#include "tests/store/credential_store_suite_util.h"
#include "tests/vault/fakes.h"
#include "vault/admin.h"
#include "vault/vault.h"

namespace strongroom::store::testing {
namespace {

using nlohmann::json;

constexpr UnixMillis kNow = 1'767'225'600'000;          // 2026-01-01
constexpr UnixMillis kExpiry = kNow + 86'400'000;       // a day later
constexpr char kExpiryText[] = "2026-01-02T00:00:00Z";  // kExpiry
constexpr char kSeed[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

class VaultHarness {
 public:
  explicit VaultHarness(CredentialStore* store) : store_(store), clock_(kNow) {
    vault_ = std::make_unique<vault::Vault>(store, &keys_, &clock_,
                                            vault::VaultOptions{std::chrono::hours(1)});
    auto identity = vault::CreateIdentity(*store, keys_, "alice", clock_);
    EXPECT_TRUE(identity.ok()) << identity.status().ToString();
    if (identity.ok()) identity_ = *identity;
    auto key = vault::CreateApiKey(*store, "alice", model::kScopeRead | model::kScopeWrite,
                                   std::nullopt, clock_);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    if (key.ok()) key_ = std::string(key->key.view());
    auto principal = vault_->Authenticate("Bearer " + key_);
    EXPECT_TRUE(principal.ok()) << principal.status().ToString();
    if (principal.ok()) principal_ = *principal;
  }

  void Put(const std::string& name, const json& body) {
    auto put = vault_->Put(principal_, name, body.dump());
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  // Get through both callers (an authenticated principal and the header fast path).
  void ExpectGetStatus(const std::string& name, StatusCode code, const std::string& error) {
    for (bool by_header : {false, true}) {
      SCOPED_TRACE(by_header ? "by header" : "by principal");
      auto got = by_header ? vault_->Get(vault::Caller::WithAuthorization("Bearer " + key_), name)
                           : vault_->Get(principal_, name);
      SR_EXPECT_ERROR(got, code, error);
    }
  }

  vault::Vault& vault() { return *vault_; }
  const vault::Principal& principal() const { return principal_; }
  const model::Identity& identity() const { return identity_; }
  vault::fakes::FakeKeyManager& keys() { return keys_; }

 private:
  CredentialStore* store_;
  vault::fakes::FakeClock clock_;
  vault::fakes::FakeKeyManager keys_;
  std::unique_ptr<vault::Vault> vault_;
  model::Identity identity_;
  std::string key_;
  vault::Principal principal_;
};

TEST_P(VaultOnStoreTest, ExpiresAtEditedInTheDatabaseIsAnIntegrityError) {
  VaultHarness h(store_.get());
  const json body = {{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"expiresAt", kExpiryText}};
  h.Put("later", body);
  h.Put("never", {{"type", "LOGIN"}, {"data", {{"password", "p"}}}});
  h.Put("extended", body);
  h.Put("expired", body);
  ASSERT_TRUE(h.vault().Get(h.principal(), "later").ok());

  // Removed, set on a credential that had none, moved later, moved earlier.
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET expires_at = NULL WHERE name = 'later'"));
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET expires_at = " + std::to_string(kExpiry) +
                         " WHERE name = 'never'"));
  SR_ASSERT_OK(
      db_->Exec("UPDATE credentials SET expires_at = expires_at + 86400000"
                " WHERE name = 'extended'"));
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET expires_at = 1 WHERE name = 'expired'"));
  for (const char* name : {"later", "never", "extended", "expired"}) {
    SCOPED_TRACE(name);
    h.ExpectGetStatus(name, StatusCode::kDataLoss, "integrity_error");
  }
  SR_EXPECT_ERROR(h.vault().PopBackupCode(h.principal(), "expired"), StatusCode::kDataLoss,
                  "integrity_error");
}

TEST_P(VaultOnStoreTest, TotpParametersEditedInTheDatabaseAreAnIntegrityError) {
  VaultHarness h(store_.get());
  const json body = {{"type", "TOTP"},
                     {"data", {{"secret", kSeed}}},
                     {"metadata", {{"digits", 8}, {"period", 30}, {"algorithm", "SHA1"}}}};
  for (const char* name : {"digits", "period", "algorithm", "unchanged"}) h.Put(name, body);
  auto before = h.vault().Totp(h.principal(), "digits");
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->digits, 8);

  SR_ASSERT_OK(
      db_->Exec("UPDATE credentials SET metadata_json = REPLACE(metadata_json, '\"digits\":8',"
                " '\"digits\":6') WHERE name = 'digits'"));
  SR_ASSERT_OK(
      db_->Exec("UPDATE credentials SET metadata_json = REPLACE(metadata_json, '\"period\":30',"
                " '\"period\":60') WHERE name = 'period'"));
  SR_ASSERT_OK(
      db_->Exec("UPDATE credentials SET metadata_json = REPLACE(metadata_json, 'SHA1', 'SHA512')"
                " WHERE name = 'algorithm'"));
  for (const char* name : {"digits", "period", "algorithm"}) {
    SCOPED_TRACE(name);
    SR_EXPECT_ERROR(h.vault().Totp(h.principal(), name), StatusCode::kDataLoss, "integrity_error");
    h.ExpectGetStatus(name, StatusCode::kDataLoss, "integrity_error");
  }
  auto unchanged = h.vault().Totp(h.principal(), "unchanged");
  ASSERT_TRUE(unchanged.ok()) << unchanged.status().ToString();
  EXPECT_EQ(unchanged->code, before->code);
}

// A row as schema version 2 wrote it: sealed with kms::CredentialAad (layout 1).
MutateOutcome PutLayout1Row(CredentialStore& store, vault::fakes::FakeKeyManager& keys,
                            const model::Identity& identity, const std::string& name,
                            const std::string& data_json) {
  model::StoredCredential row;
  row.credential_id = "cred_" + name;
  row.type = model::CredentialType::kTotp;
  row.metadata_json = R"({"digits":8})";
  row.expires_at = kExpiry;
  row.created_at = row.updated_at = kNow - 1000;
  row.version = 3;
  row.identity_id = identity.id;
  row.name = name;
  row.kek_version = identity.kek_version;
  row.aad_version = 1;
  kms::KekRef kek{identity.id, identity.kek_version, &identity.wrapped_kek};
  auto sealed =
      keys.Seal(kek, data_json, kms::CredentialAad(identity.id, name, "TOTP", row.version));
  EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
  if (sealed.ok()) {
    row.ciphertext = sealed->ciphertext;
    row.wrapped_dek = sealed->wrapped_dek;
  }
  auto written = store.Mutate(identity.id, name, [&](const auto&) { return row; });
  EXPECT_TRUE(written.ok()) << written.status().ToString();
  return written.ok() ? *written : MutateOutcome{};
}

TEST_P(VaultOnStoreTest, Layout1RowsStillOpenAndAreResealedWithTheCurrentLayout) {
  VaultHarness h(store_.get());
  const std::string data = json{{"secret", kSeed}, {"backupCodes", {"a-1", "b-2"}}}.dump();
  PutLayout1Row(*store_, h.keys(), h.identity(), "old-1", data);
  PutLayout1Row(*store_, h.keys(), h.identity(), "old-2", data);
  h.Put("new", {{"type", "LOGIN"}, {"data", {{"password", "p"}}}});

  // Read as they are.
  auto got = h.vault().Get(h.principal(), "old-1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(std::string(got->data.begin(), got->data.end()), data);
  EXPECT_EQ(got->credential.aad_version, 1);
  ASSERT_TRUE(h.vault().Totp(h.principal(), "old-2").ok());

  auto listed = store_->ListLegacyAadCredentials(model::kCurrentAadVersion, 0, "", 10);
  SR_ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].name, "old-1");
  EXPECT_EQ((*listed)[1].name, "old-2");

  auto counts = h.vault().ResealLegacyRows();
  SR_ASSERT_OK(counts);
  EXPECT_EQ(counts->resealed, 2);
  EXPECT_EQ(counts->failed, 0);
  for (const char* name : {"old-1", "old-2"}) {
    SCOPED_TRACE(name);
    auto row = store_->GetCredential(h.identity().id, name);
    SR_ASSERT_OK(row);
    EXPECT_EQ(row->aad_version, model::kCurrentAadVersion);
    EXPECT_EQ(row->version, 3);  // not a user write
    EXPECT_EQ(row->updated_at, kNow - 1000);
    EXPECT_EQ(row->last_rotated_at, std::nullopt);
    auto opened = h.vault().Get(h.principal(), name);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(std::string(opened->data.begin(), opened->data.end()), data);
  }
  auto left = store_->ListLegacyAadCredentials(model::kCurrentAadVersion, 0, "", 10);
  SR_ASSERT_OK(left);
  EXPECT_TRUE(left->empty());
  auto again = h.vault().ResealLegacyRows();
  SR_ASSERT_OK(again);
  EXPECT_EQ(again->resealed, 0);

  // Now bound: an edited expiry no longer passes, nor does a downgrade of the layout.
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET expires_at = NULL WHERE name = 'old-1'"));
  h.ExpectGetStatus("old-1", StatusCode::kDataLoss, "integrity_error");
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET aad_version = 1 WHERE name = 'old-2'"));
  h.ExpectGetStatus("old-2", StatusCode::kDataLoss, "integrity_error");
}

// A layout-1 row that does not open is counted and left alone; the others
// are resealed.
TEST_P(VaultOnStoreTest, ResealSkipsARowThatFailsToOpen) {
  VaultHarness h(store_.get());
  const std::string data = json{{"secret", kSeed}}.dump();
  PutLayout1Row(*store_, h.keys(), h.identity(), "bad", data);
  PutLayout1Row(*store_, h.keys(), h.identity(), "good", data);
  SR_ASSERT_OK(db_->Exec("UPDATE credentials SET version = 4 WHERE name = 'bad'"));
  auto counts = h.vault().ResealLegacyRows();
  SR_ASSERT_OK(counts);
  EXPECT_EQ(counts->resealed, 1);
  EXPECT_EQ(counts->failed, 1);
  auto left = store_->ListLegacyAadCredentials(model::kCurrentAadVersion, 0, "", 10);
  SR_ASSERT_OK(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].name, "bad");
  h.ExpectGetStatus("bad", StatusCode::kDataLoss, "integrity_error");
}

// SPEC 5a: an identity delete removes its keys and credentials on every
// backend (what the files keep afterwards: sqlite_store_test.cc; MySQL: README).
TEST_P(VaultOnStoreTest, IdentityDeleteRemovesItsRows) {
  VaultHarness h(store_.get());
  h.Put("n", {{"type", "LOGIN"}, {"data", {{"password", "p"}}}});
  SR_ASSERT_OK(vault::DeleteIdentity(*store_, h.keys(), "alice"));
  SR_EXPECT_ERROR(store_->GetIdentity(h.identity().id), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->GetCredential(h.identity().id, "n"), StatusCode::kNotFound, "not_found");
  auto keys = store_->ListApiKeys(h.identity().id);
  SR_ASSERT_OK(keys);
  EXPECT_TRUE(keys->empty());
  auto count = store_->CountCredentials(h.identity().id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 0);
}

}  // namespace
}  // namespace strongroom::store::testing
