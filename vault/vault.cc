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
  tasks.push_back({options.touch_flush_interval, [this] { touches_->Flush(); }});
  tasks.push_back({options.key_state_poll_interval, [this] { SyncKeyState().IgnoreError(); }});
  tasks.push_back({options.identity_sweep_interval, [this] { identities_->ForgetDeleted(); }});
  maintenance_ =
      std::make_unique<internal::Maintenance>(options.touch_flush_interval, std::move(tasks));
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
                                                 std::shared_ptr<const model::Identity>* identity) {
  SR_ASSIGN_OR_RETURN(*identity, identities_->Get(identity_id));
  Result<store::MutateOutcome> written = store_.Mutate(identity_id, name, fn);
  if (!internal::IsKekRotated(written.status())) return written;
  SR_ASSIGN_OR_RETURN(*identity, identities_->Refresh(identity_id));
  return store_.Mutate(identity_id, name, fn);
}

Vault::~Vault() {
  Shutdown();
  if (hsm_observer_) keys_.set_hsm_observer(nullptr);
}

void Vault::Shutdown() {
  maintenance_->Stop();
  touches_->Flush();
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

Result<Principal> Vault::Authenticate(std::string_view authorization_header) {
  std::optional<std::string_view> token = BearerToken(authorization_header);
  if (!token) return InvalidApiKeyError();
  return AuthenticateApiKey(store_, *token, clock_.NowMillis());
}

Result<CallerIdentity> Vault::Whoami(const Caller& caller) {
  Principal authenticated;
  const Principal* principal = caller.principal();
  if (principal == nullptr) {
    SR_ASSIGN_OR_RETURN(authenticated, Authenticate(caller.authorization_header()));
    principal = &authenticated;
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

Result<Page> Vault::List(const Principal& principal, std::optional<std::string_view> limit_text,
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
// Authenticate + Authorize + a plain read, in that order.
Result<model::StoredCredential> Vault::LoadLiveForKey(std::string_view header,
                                                      std::string_view name, UnixMillis* now) {
  std::optional<std::string_view> token = BearerToken(header);
  std::optional<std::string> key_id;
  if (token) key_id = ParseApiKeyId(*token);
  if (!key_id) return InvalidApiKeyError();
  Result<store::CredentialStore::KeyedCredential> read = store_.GetCredentialWithKey(*key_id, name);
  if (!read.ok()) {
    if (read.status().code() == StatusCode::kNotFound) return InvalidApiKeyError();
    return read.status();
  }
  *now = clock_.NowMillis();
  SR_ASSIGN_OR_RETURN(Principal principal, CheckApiKey(read->key, *token, *now));
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kGet));
  SR_RETURN_IF_ERROR(read->credential_status);  // a corrupt row, only after 401/403
  if (!read->credential) return NotFoundError("credential not found");
  SR_RETURN_IF_ERROR(internal::CheckNotExpired(*read->credential, *now));
  return std::move(*read->credential);
}

// The credential, if it exists, belongs to the caller and has not expired,
// overlaid with pending uses. `*now` gets the request's time.
Result<model::StoredCredential> Vault::LoadLive(const Caller& caller, std::string_view name,
                                                UnixMillis* now) {
  if (caller.principal() == nullptr) {
    SR_ASSIGN_OR_RETURN(model::StoredCredential row,
                        LoadLiveForKey(caller.authorization_header(), name, now));
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
  SR_RETURN_IF_ERROR(internal::CheckNotExpired(*row, *now));
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
                                            UnixMillis* now) {
  OpenedCredential out;
  for (int attempt = 0;; ++attempt) {
    SR_ASSIGN_OR_RETURN(out.credential, LoadLive(caller, name, now));
    Result<SecretBytes> data = Open(out.credential);
    // A row read just before a KEK rotation rewrapped it and dropped its old
    // KEK names a version the identity no longer has: read the row again.
    if (internal::IsKekRotated(data.status())) {
      if (attempt == 0) continue;
      return DataLossError("stored credential names a KEK its identity does not have");
    }
    SR_ASSIGN_OR_RETURN(out.data, std::move(data));
    return out;
  }
}

Result<OpenedCredential> Vault::Get(const Caller& caller, std::string_view name) {
  UnixMillis now = 0;
  SR_ASSIGN_OR_RETURN(OpenedCredential out, LoadAndOpen(caller, name, &now));
  model::StoredCredential& row = out.credential;
  touches_->Record(row.identity_id, row.credential_id, now);
  row.last_used_at = std::max(row.last_used_at.value_or(now), now);
  return out;
}

Result<TotpReading> Vault::Totp(const Caller& caller, std::string_view name) {
  UnixMillis now = 0;
  SR_ASSIGN_OR_RETURN(OpenedCredential opened, LoadAndOpen(caller, name, &now));
  const model::StoredCredential& row = opened.credential;
  SR_ASSIGN_OR_RETURN(SecretJson data, internal::ParseData(opened.data));
  SR_ASSIGN_OR_RETURN(SecretString seed, model::FindTotpSeed(row.type, *data));
  nlohmann::json metadata =
      nlohmann::json::parse(row.metadata_json, nullptr, /*allow_exceptions=*/false);
  model::TotpParams params = model::TotpParams::FromMetadata(metadata);
  SR_ASSIGN_OR_RETURN(model::TotpCode code, model::GenerateTotp(seed.view(), params, now));
  touches_->Record(row.identity_id, row.credential_id, now);
  TotpReading out;
  out.code = std::move(code.code);
  out.remaining = code.remaining;
  out.backup_codes_remaining = model::UnusedBackupCodeCount(*data);
  out.digits = params.digits;
  out.period = params.period;
  return out;
}

}  // namespace strongroom::vault
