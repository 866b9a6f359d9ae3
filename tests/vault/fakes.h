// Test doubles for the vault and api tests: a clock, a key manager and a store wrapper
// that can be made to fail. They implement the real interfaces.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "kms/key_manager.h"
#include "store/credential_store.h"

namespace strongroom::vault::fakes {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(UnixMillis now = 1'767'225'600'000) : now_(now) {}  // 2026-01-01
  UnixMillis NowMillis() const override { return now_.load(); }
  void Set(UnixMillis now) { now_ = now; }
  void Advance(UnixMillis ms) { now_ += ms; }

 private:
  std::atomic<UnixMillis> now_;
};

// Not encryption: "seals" by prefixing the AAD and xoring the plaintext, and
// refuses to open under a different AAD (DATA_LOSS), which is the contract the
// vault service relies on. A set `fail` status is returned by every call.
class FakeKeyManager final : public kms::KeyManager {
 public:
  Result<kms::Bytes> NewWrappedKek() override {
    if (auto s = failure()) return *s;
    return kms::Bytes{'k', 'e', 'k'};
  }
  Result<kms::Envelope> Seal(const kms::KekRef& kek, std::string_view plaintext,
                             std::string_view aad) override {
    if (auto s = failure()) return *s;
    if (kek.wrapped_kek == nullptr) return InternalError("no kek");
    kms::Envelope out;
    std::uint32_t n = static_cast<std::uint32_t>(aad.size());
    for (int i = 0; i < 4; ++i) out.ciphertext.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
    out.ciphertext.insert(out.ciphertext.end(), aad.begin(), aad.end());
    for (char c : plaintext) out.ciphertext.push_back(static_cast<std::uint8_t>(c) ^ 0x5a);
    out.wrapped_dek = {'d', 'e', 'k'};
    ++seals;
    return out;
  }
  Result<SecretBytes> Open(const kms::KekRef& /*kek*/, const kms::Envelope& envelope,
                           std::string_view aad) override {
    if (auto s = failure()) return *s;
    ++opens;
    const auto& c = envelope.ciphertext;
    if (c.size() < 4) return DataLossError("short");
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= static_cast<std::uint32_t>(c[i]) << (8 * i);
    if (c.size() < 4 + n ||
        std::string_view(reinterpret_cast<const char*>(c.data()) + 4, n) != aad) {
      return DataLossError("authentication failed");
    }
    SecretBytes out;
    for (std::size_t i = 4 + n; i < c.size(); ++i) out.push_back(c[i] ^ 0x5a);
    return out;
  }
  void Evict(std::int64_t identity_id) override { evicted.push_back(identity_id); }
  Status CheckHsm() override {
    if (auto s = failure()) return *s;
    return Status::Ok();
  }
  std::uint64_t hsm_operations() const override { return 0; }

  void Fail(std::optional<Status> status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }

  std::vector<std::int64_t> evicted;
  std::atomic<int> seals{0};
  std::atomic<int> opens{0};

 private:
  std::optional<Status> failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return fail_;
  }
  std::mutex mu_;
  std::optional<Status> fail_;
};

// Forwards to a real store unless told to fail; counts TouchLastUsed calls.
class FailingStore final : public store::CredentialStore {
 public:
  explicit FailingStore(std::unique_ptr<store::CredentialStore> inner) : inner_(std::move(inner)) {}

  void Fail(std::optional<Status> status) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = std::move(status);
  }
  store::CredentialStore& inner() { return *inner_; }
  std::atomic<int> touch_calls{0};
  // GetCredentialWithKey calls, and how the vault's key check went in them.
  std::atomic<int> keyed_reads{0};
  std::atomic<int> key_checks_passed{0};
  std::atomic<int> key_checks_failed{0};

  Result<model::Identity> CreateIdentity(const model::Identity& identity) override {
    if (auto s = failure()) return *s;
    return inner_->CreateIdentity(identity);
  }
  Result<model::Identity> GetIdentity(std::int64_t id) override {
    if (auto s = failure()) return *s;
    return inner_->GetIdentity(id);
  }
  Result<model::Identity> GetIdentityByName(std::string_view name) override {
    if (auto s = failure()) return *s;
    return inner_->GetIdentityByName(name);
  }
  Result<std::vector<model::Identity>> ListIdentities() override {
    if (auto s = failure()) return *s;
    return inner_->ListIdentities();
  }
  Status DeleteIdentity(std::string_view name) override {
    if (auto s = failure()) return *s;
    return inner_->DeleteIdentity(name);
  }
  Status CreateApiKey(const model::ApiKeyRecord& key) override {
    if (auto s = failure()) return *s;
    return inner_->CreateApiKey(key);
  }
  Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) override {
    if (auto s = failure()) return *s;
    return inner_->GetApiKey(key_id);
  }
  Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) override {
    if (auto s = failure()) return *s;
    return inner_->ListApiKeys(identity_id);
  }
  Status RevokeApiKey(std::string_view key_id, UnixMillis now) override {
    if (auto s = failure()) return *s;
    return inner_->RevokeApiKey(key_id, now);
  }
  Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                std::string_view name) override {
    if (auto s = failure()) return *s;
    return inner_->GetCredential(identity_id, name);
  }
  Result<KeyedCredential> GetCredentialWithKey(std::string_view key_id, std::string_view name,
                                               const KeyCheck& check) override {
    if (auto s = failure()) return *s;
    ++keyed_reads;
    return inner_->GetCredentialWithKey(key_id, name, [&](const model::ApiKeyRecord& key) {
      Status status = check(key);
      (status.ok() ? key_checks_passed : key_checks_failed)++;
      return status;
    });
  }
  Result<std::vector<model::StoredCredential>> ListLegacyAadCredentials(
      std::int32_t aad_version, std::int64_t after_identity_id, std::string_view after_name,
      int limit) override {
    if (auto s = failure()) return *s;
    return inner_->ListLegacyAadCredentials(aad_version, after_identity_id, after_name, limit);
  }
  Result<std::vector<model::StoredCredential>> ListCredentials(std::int64_t identity_id,
                                                               std::string_view after_name,
                                                               int limit) override {
    if (auto s = failure()) return *s;
    return inner_->ListCredentials(identity_id, after_name, limit);
  }
  Result<std::int64_t> CountCredentials(std::int64_t identity_id) override {
    if (auto s = failure()) return *s;
    return inner_->CountCredentials(identity_id);
  }
  Result<store::MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                                      const store::MutateFn& fn) override {
    if (auto s = failure()) return *s;
    return inner_->Mutate(identity_id, name, fn);
  }
  Status DeleteCredential(std::int64_t identity_id, std::string_view name) override {
    if (auto s = failure()) return *s;
    return inner_->DeleteCredential(identity_id, name);
  }
  Result<store::MutateOutcome> MutateAudited(std::int64_t identity_id, std::string_view name,
                                             const store::MutateFn& fn,
                                             store::AuditWrite audit) override {
    if (auto s = failure()) return *s;
    return inner_->MutateAudited(identity_id, name, fn, audit);
  }
  Status DeleteCredentialAudited(std::int64_t identity_id, std::string_view name,
                                 store::AuditWrite audit) override {
    if (auto s = failure()) return *s;
    return inner_->DeleteCredentialAudited(identity_id, name, audit);
  }
  Status AppendAuditEvents(std::vector<store::AuditRecord>* records,
                           store::AuditHashFn hash) override {
    if (auto s = failure()) return *s;
    return inner_->AppendAuditEvents(records, hash);
  }
  Result<std::optional<store::AuditRecord>> LastAuditEvent(std::string_view server) override {
    if (auto s = failure()) return *s;
    return inner_->LastAuditEvent(server);
  }
  Result<std::vector<store::AuditRecord>> ListAuditEvents(const store::AuditQuery& query) override {
    if (auto s = failure()) return *s;
    return inner_->ListAuditEvents(query);
  }
  Status AppendAuditCheckpoint(const store::AuditCheckpointRecord& checkpoint) override {
    if (auto s = failure()) return *s;
    return inner_->AppendAuditCheckpoint(checkpoint);
  }
  Result<std::vector<store::AuditCheckpointRecord>> ListAuditCheckpoints() override {
    if (auto s = failure()) return *s;
    return inner_->ListAuditCheckpoints();
  }
  Status TouchLastUsed(const std::vector<Touch>& touches) override {
    ++touch_calls;
    if (auto s = failure()) return *s;
    return inner_->TouchLastUsed(touches);
  }
  Status Ping() override {
    if (auto s = failure()) return *s;
    return inner_->Ping();
  }
  Result<std::vector<model::MasterKeyRecord>> ListMasterKeys() override {
    if (auto s = failure()) return *s;
    return inner_->ListMasterKeys();
  }
  Status SeedMasterKey(std::string_view label, UnixMillis now) override {
    if (auto s = failure()) return *s;
    return inner_->SeedMasterKey(label, now);
  }
  Status ActivateMasterKey(std::string_view label, UnixMillis now) override {
    if (auto s = failure()) return *s;
    return inner_->ActivateMasterKey(label, now);
  }
  Status RetireMasterKey(std::string_view label, UnixMillis now) override {
    if (auto s = failure()) return *s;
    return inner_->RetireMasterKey(label, now);
  }
  Status UpdateIdentityKeks(const model::Identity& expected,
                            const model::Identity& updated) override {
    if (auto s = failure()) return *s;
    return inner_->UpdateIdentityKeks(expected, updated);
  }
  Status FinishKekRotation(std::int64_t identity_id, std::int32_t previous_kek_version) override {
    if (auto s = failure()) return *s;
    return inner_->FinishKekRotation(identity_id, previous_kek_version);
  }

 private:
  std::optional<Status> failure() {
    std::lock_guard<std::mutex> lock(mu_);
    return fail_;
  }
  std::unique_ptr<store::CredentialStore> inner_;
  std::mutex mu_;
  std::optional<Status> fail_;
};

}  // namespace strongroom::vault::fakes
