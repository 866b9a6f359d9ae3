// Vault: authentication, authorization, the read use cases and the lifecycle.
// The write use cases (Put, Delete, PopBackupCode) are in vault_write.cc.
#include "vault/vault.h"

#include <algorithm>
#include <charconv>
#include <iterator>
#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "base/secret_json.h"
#include "kms/key_manager.h"
#include "model/totp.h"
#include "model/validation.h"
#include "store/credential_store.h"
#include "vault/internal/audit_sink.h"
#include "vault/internal/base64url.h"
#include "vault/internal/envelope.h"
#include "vault/internal/expiry.h"
#include "vault/internal/identity_cache.h"
#include "vault/internal/maintenance.h"
#include "vault/internal/touch_batcher.h"
#include "vault/key_rotation.h"

namespace strongroom::vault {
namespace {

constexpr int kMaxListLimit = 1000;

std::uint32_t ScopeOf(Operation operation) {
  switch (operation) {
    case Operation::kList:
    case Operation::kGet:
    case Operation::kTotp:
      return model::kScopeRead;
    case Operation::kPut:
    case Operation::kDelete:
    case Operation::kPopBackupCode:
      return model::kScopeWrite;
  }
  return model::kScopeRead | model::kScopeWrite;  // unreachable: both, to fail closed
}

// The page size, or nullopt for no limit (every credential).
Result<std::optional<int>> ParseLimit(std::optional<std::string_view> text) {
  if (!text) return std::optional<int>();
  int limit = 0;
  const char* first = text->data();
  const char* last = first + text->size();
  auto [ptr, ec] = std::from_chars(first, last, limit);
  bool digits_only = !text->empty() && (*text)[0] != '-' && (*text)[0] != '+';
  if (!digits_only || ec != std::errc() || ptr != last || limit < 1 || limit > kMaxListLimit) {
    return InvalidArgumentError("limit must be an integer from 1 to 1000", "invalid_limit");
  }
  return std::optional<int>(limit);
}

// The name after which a page starts: the one its cursor encodes.
Result<std::string> ParseCursor(std::optional<std::string_view> cursor) {
  if (!cursor) return std::string();
  std::optional<std::string> decoded = internal::Base64UrlDecode(*cursor);
  if (!decoded || decoded->empty() || !model::ValidateName(*decoded).ok()) {
    return InvalidArgumentError("cursor is not a nextCursor from a previous page",
                                "invalid_cursor");
  }
  return std::move(*decoded);
}

}  // namespace

Status Authorize(const Principal& principal, Operation operation) {
  if (Allows(principal, operation)) return Status::Ok();
  return PermissionDeniedError("API key lacks the " + model::ScopeNames(ScopeOf(operation)) +
                               " scope");
}

bool Allows(const Principal& principal, Operation operation) {
  const std::uint32_t needed = ScopeOf(operation);
  return (principal.scopes & needed) == needed;
}

Vault::Vault(store::CredentialStore* store, kms::KeyManager* keys, const Clock* clock,
             VaultOptions options)
    : store_(*store),
      keys_(*keys),
      clock_(*clock),
      touches_(std::make_unique<internal::TouchBatcher>(store)),
      identities_(std::make_unique<internal::IdentityCache>(store, keys)) {
  SyncKeyState().IgnoreError();  // logged; the poll tries again
  std::vector<internal::Maintenance::Task> tasks;
  tasks.push_back({options.touch_flush_interval, [this] {
                     touches_->Flush();
                     ResealOnStartup();
                   }});
  tasks.push_back({options.key_state_poll_interval, [this] { SyncKeyState().IgnoreError(); }});
  tasks.push_back({options.identity_sweep_interval, [this] { identities_->ForgetDeleted(); }});
  maintenance_ =
      std::make_unique<internal::Maintenance>(options.touch_flush_interval, std::move(tasks));
  audit_ = std::make_unique<internal::AuditSink>(store, options.audit);
  if (options.audit.mode == AuditMode::kAsync) {
    std::vector<internal::Maintenance::Task> flush;
    flush.push_back({std::chrono::milliseconds(250), [this] { audit_->Flush(); }});
    audit_flusher_ =
        std::make_unique<internal::Maintenance>(std::chrono::milliseconds(250), std::move(flush));
  }
}

Status Vault::SyncKeyState() {
  Result<std::string> active = SyncMasterKeys(store_, keys_, clock_);
  if (!active.ok()) {
    spdlog::warn("key state: {}", active.status().ToString());
    return active.status();
  }
  std::lock_guard<std::mutex> lock(active_label_mu_);
  if (*active != active_label_) {
    if (!active_label_.empty()) spdlog::info("master key {} is now active", *active);
    active_label_ = *active;
  }
  return Status::Ok();
}

Result<store::MutateOutcome> Vault::MutateSealed(std::int64_t identity_id, std::string_view name,
                                                 const store::MutateFn& fn,
                                                 std::shared_ptr<const model::Identity>* identity,
                                                 store::AuditRecord* record) {
  auto mutate = [&] {
    if (record == nullptr) return store_.Mutate(identity_id, name, fn);
    return store_.MutateAudited(identity_id, name, fn, store::AuditWrite{record, &AuditRecordHash});
  };
  SR_ASSIGN_OR_RETURN(*identity, identities_->Get(identity_id));
  Result<store::MutateOutcome> written = mutate();
  if (!internal::IsKekRotated(written.status())) return written;
  SR_ASSIGN_OR_RETURN(*identity, identities_->Refresh(identity_id));
  return mutate();
}

Vault::~Vault() {
  Shutdown();
  if (hsm_observer_) keys_.set_hsm_observer(nullptr);
}

void Vault::Shutdown() {
  maintenance_->Stop();
  touches_->Flush();
  if (audit_flusher_) audit_flusher_->Stop();
  audit_->Flush();
}

void Vault::FlushTouches() { touches_->Flush(); }
void Vault::ForgetDeletedIdentities() { identities_->ForgetDeleted(); }
std::uint64_t Vault::HsmOperations() const { return keys_.hsm_operations(); }

Vault::KeyCacheCounts Vault::KeyCacheStatistics() const {
  const kms::KeyCacheCounts counts = keys_.cache_counts();
  return {counts.kek_hits, counts.kek_misses, counts.dek_hits, counts.dek_misses};
}

namespace {
class FunctionHsmObserver final : public kms::HsmObserver {
 public:
  explicit FunctionHsmObserver(std::function<void(double)> observe)
      : observe_(std::move(observe)) {}
  void ObserveHsmCall(double seconds) override { observe_(seconds); }

 private:
  std::function<void(double)> observe_;
};
}  // namespace

void Vault::ObserveHsmCalls(std::function<void(double seconds)> observe) {
  if (!observe) {
    keys_.set_hsm_observer(nullptr);
    hsm_observer_.reset();
    return;
  }
  auto observer = std::make_unique<FunctionHsmObserver>(std::move(observe));
  keys_.set_hsm_observer(observer.get());
  hsm_observer_ = std::move(observer);  // the previous one (if any) is no longer called
}

Readiness Vault::CheckReadiness() {
  Status store_status = store_.Ping();
  Status hsm_status = keys_.CheckHsm();
  if (!store_status.ok()) spdlog::warn("readiness: store: {}", store_status.ToString());
  if (!hsm_status.ok()) spdlog::warn("readiness: hsm: {}", hsm_status.ToString());
  return Readiness{store_status.ok(), hsm_status.ok()};
}

Result<Principal> Vault::AuthenticateUnaudited(std::string_view authorization_header) {
  std::optional<std::string_view> token = BearerToken(authorization_header);
  if (!token) return InvalidApiKeyError();
  return AuthenticateApiKey(store_, *token, clock_.NowMillis());
}

Result<CallerIdentity> Vault::WhoamiUnaudited(const Caller& caller, internal::AuditFacts* facts) {
  Principal authenticated;
  const Principal* principal = caller.principal();
  if (principal == nullptr) {
    SR_ASSIGN_OR_RETURN(authenticated, AuthenticateUnaudited(caller.authorization_header()));
    principal = &authenticated;
    facts->identity_id = principal->identity_id;
  }
  // A key or identity deleted since it was checked is as good as unknown.
  auto unknown_as_401 = [](const Status& status) {
    return status.code() == StatusCode::kNotFound ? InvalidApiKeyError() : status;
  };
  CallerIdentity out;
  Result<model::ApiKeyRecord> key = store_.GetApiKey(principal->key_id);
  if (!key.ok()) return unknown_as_401(key.status());
  Result<model::Identity> identity = store_.GetIdentity(principal->identity_id);
  if (!identity.ok()) return unknown_as_401(identity.status());
  out.key = std::move(*key);
  out.identity = std::move(*identity);
  out.key.key_hash.clear();
  out.identity.wrapped_kek.clear();
  return out;
}

Result<Page> Vault::ListUnaudited(const Principal& principal,
                                  std::optional<std::string_view> limit_text,
                                  std::optional<std::string_view> cursor) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kList));
  SR_ASSIGN_OR_RETURN(std::optional<int> limit, ParseLimit(limit_text));
  SR_ASSIGN_OR_RETURN(std::string after, ParseCursor(cursor));
  Page page;
  // Chunks of at most kMaxListLimit rows (+1 to see whether more follow).
  for (;;) {
    const int wanted = limit ? *limit - static_cast<int>(page.credentials.size()) : kMaxListLimit;
    const int chunk = std::min(wanted, kMaxListLimit);
    SR_ASSIGN_OR_RETURN(std::vector<model::StoredCredential> rows,
                        store_.ListCredentials(principal.identity_id, after, chunk + 1));
    const bool more = rows.size() > static_cast<std::size_t>(chunk);
    if (more) rows.resize(static_cast<std::size_t>(chunk));
    if (!rows.empty()) after = rows.back().name;
    std::move(rows.begin(), rows.end(), std::back_inserter(page.credentials));
    if (!more) break;
    if (limit && static_cast<int>(page.credentials.size()) >= *limit) {
      page.next_cursor = Base64UrlEncode(after);
      break;
    }
  }
  for (auto& row : page.credentials) touches_->Overlay(&row);
  return page;
}

// The key and the credential in one store read, with the errors of
// Authenticate + Authorize + a plain read, in that order. The store runs the
// key check (hash, expiry, revocation, scope) before it looks the name up, so
// a wrong key takes the same path whether the name exists or not (SPEC 4).
Result<model::StoredCredential> Vault::LoadForKey(std::string_view header, std::string_view name,
                                                  UnixMillis* now, internal::AuditFacts* facts) {
  std::optional<std::string_view> token = BearerToken(header);
  std::optional<std::string> key_id;
  if (token) key_id = ParseApiKeyId(*token);
  if (!key_id) return InvalidApiKeyError();
  const store::CredentialStore::KeyCheck check = [&](const model::ApiKeyRecord& key) -> Status {
    SR_ASSIGN_OR_RETURN(Principal principal, CheckApiKey(key, *token, clock_.NowMillis()));
    facts->identity_id = principal.identity_id;
    return Authorize(principal, Operation::kGet);
  };
  Result<store::CredentialStore::KeyedCredential> read =
      store_.GetCredentialWithKey(*key_id, name, check);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) return InvalidApiKeyError();
    return read.status();
  }
  // The request's time is taken after the row was read, so a use recorded
  // now never precedes the creation of the row read.
  *now = clock_.NowMillis();
  SR_RETURN_IF_ERROR(read->credential_status);  // a corrupt row, only after 401/403
  if (!read->credential) return NotFoundError("credential not found");
  return std::move(*read->credential);
}

// The credential, if it exists and belongs to the caller, overlaid with
// pending uses. `*now` gets the request's time. Expiry is checked by the
// caller once the row has opened: an edited expires_at is a corrupt row
// (integrity_error), not an expiry.
Result<model::StoredCredential> Vault::Load(const Caller& caller, std::string_view name,
                                            UnixMillis* now, internal::AuditFacts* facts) {
  if (caller.principal() == nullptr) {
    SR_ASSIGN_OR_RETURN(model::StoredCredential row,
                        LoadForKey(caller.authorization_header(), name, now, facts));
    touches_->Overlay(&row);
    return row;
  }
  // Get and Totp need the same scope.
  SR_RETURN_IF_ERROR(Authorize(*caller.principal(), Operation::kGet));
  *now = clock_.NowMillis();
  Result<model::StoredCredential> row = store_.GetCredential(caller.principal()->identity_id, name);
  if (!row.ok()) {
    if (row.status().code() == StatusCode::kNotFound) return NotFoundError("credential not found");
    return row.status();
  }
  touches_->Overlay(&*row);
  return row;
}

Result<SecretBytes> Vault::Open(const model::StoredCredential& row) {
  SR_ASSIGN_OR_RETURN(auto identity, identities_->Get(row.identity_id));
  Result<SecretBytes> plain = internal::OpenRow(keys_, *identity, row);
  if (!internal::IsKekRotated(plain.status())) return plain;
  // The row names a KEK version the cached identity lacks: re-read it.
  SR_ASSIGN_OR_RETURN(identity, identities_->Refresh(row.identity_id));
  return internal::OpenRow(keys_, *identity, row);
}

Result<OpenedCredential> Vault::LoadAndOpen(const Caller& caller, std::string_view name,
                                            UnixMillis* now, internal::AuditFacts* facts) {
  OpenedCredential out;
  for (int attempt = 0;; ++attempt) {
    SR_ASSIGN_OR_RETURN(out.credential, Load(caller, name, now, facts));
    facts->credential_id = out.credential.credential_id;
    facts->version = out.credential.version;
    Result<SecretBytes> data = Open(out.credential);
    // A row read just before a KEK rotation rewrapped it and dropped its old
    // KEK names a version the identity no longer has: read the row again.
    if (internal::IsKekRotated(data.status())) {
      if (attempt == 0) continue;
      return DataLossError("stored credential names a KEK its identity does not have");
    }
    SR_ASSIGN_OR_RETURN(out.data, std::move(data));
    // Expiry only once the row has opened: an edited expires_at is an
    // integrity error, not an expiry.
    SR_RETURN_IF_ERROR(internal::CheckNotExpired(out.credential, *now));
    return out;
  }
}

Result<OpenedCredential> Vault::GetUnaudited(const Caller& caller, std::string_view name,
                                             UnixMillis* now, internal::AuditFacts* facts) {
  return LoadAndOpen(caller, name, now, facts);
}

Result<TotpReading> Vault::TotpUnaudited(const Caller& caller, std::string_view name,
                                         UnixMillis* now, internal::AuditFacts* facts) {
  SR_ASSIGN_OR_RETURN(OpenedCredential opened, LoadAndOpen(caller, name, now, facts));
  const model::StoredCredential& row = opened.credential;
  SR_ASSIGN_OR_RETURN(SecretJson data, internal::ParseData(opened.data));
  SR_ASSIGN_OR_RETURN(SecretString seed, model::FindTotpSeed(row.type, *data));
  nlohmann::json metadata =
      nlohmann::json::parse(row.metadata_json, nullptr, /*allow_exceptions=*/false);
  model::TotpParams params = model::TotpParams::FromMetadata(metadata);
  SR_ASSIGN_OR_RETURN(model::TotpCode code, model::GenerateTotp(seed.view(), params, *now));
  TotpReading out;
  out.code = std::move(code.code);
  out.remaining = code.remaining;
  out.backup_codes_remaining = model::UnusedBackupCodeCount(*data);
  out.digits = params.digits;
  out.period = params.period;
  return out;
}

}  // namespace strongroom::vault
