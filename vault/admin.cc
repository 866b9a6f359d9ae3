#include "vault/admin.h"

#include <charconv>
#include <limits>

#include "kms/key_manager.h"
#include "model/validation.h"
#include "store/credential_store.h"
#include "vault/api_key.h"
#include "vault/key_rotation.h"

namespace strongroom::vault {

Result<model::Identity> CreateIdentity(store::CredentialStore& store, kms::KeyManager& keys,
                                       std::string_view name, const Clock& clock) {
  SR_RETURN_IF_ERROR(model::ValidateName(name));
  // Under the database's active master key, whatever the configuration names.
  SR_RETURN_IF_ERROR(SyncMasterKeys(store, keys, clock).status());
  SR_ASSIGN_OR_RETURN(kms::WrappedKek kek, keys.NewKek());
  model::Identity identity;
  identity.name = std::string(name);
  identity.wrapped_kek = std::move(kek.wrapped);
  identity.master_key_label = std::move(kek.master_key_label);
  identity.kek_version = 1;
  identity.created_at = clock.NowMillis();
  return store.CreateIdentity(identity);
}

Status DeleteIdentity(store::CredentialStore& store, kms::KeyManager& keys, std::string_view name) {
  SR_ASSIGN_OR_RETURN(model::Identity identity, store.GetIdentityByName(name));
  SR_RETURN_IF_ERROR(store.DeleteIdentity(name));
  keys.Evict(identity.id);
  return Status::Ok();
}

Result<NewApiKey> CreateApiKey(store::CredentialStore& store, std::string_view identity_name,
                               std::uint32_t scopes, std::optional<std::int64_t> ttl_seconds,
                               const Clock& clock) {
  constexpr std::uint32_t kKnownScopes = model::kScopeRead | model::kScopeWrite;
  if (scopes == 0 || (scopes & ~kKnownScopes) != 0) {
    return InvalidArgumentError("an API key needs at least one known scope", "invalid_scope");
  }
  if (ttl_seconds &&
      (*ttl_seconds <= 0 || *ttl_seconds > std::numeric_limits<std::int64_t>::max() / 1000 / 2)) {
    return InvalidArgumentError("ttl must be positive", "invalid_ttl");
  }
  SR_ASSIGN_OR_RETURN(model::Identity identity, store.GetIdentityByName(identity_name));
  SR_ASSIGN_OR_RETURN(GeneratedApiKey generated, GenerateApiKey());
  UnixMillis now = clock.NowMillis();
  model::ApiKeyRecord record;
  record.key_id = generated.key_id;
  record.identity_id = identity.id;
  record.key_hash = HashApiKey(generated.key.view());
  record.scopes = scopes;
  if (ttl_seconds) record.expires_at = now + *ttl_seconds * 1000;
  record.created_at = now;
  SR_RETURN_IF_ERROR(store.CreateApiKey(record));
  NewApiKey out;
  out.key_id = std::move(generated.key_id);
  out.key = std::move(generated.key);
  out.expires_at = record.expires_at;
  return out;
}

Result<std::vector<model::ApiKeyRecord>> ListApiKeys(store::CredentialStore& store,
                                                     std::string_view identity_name) {
  SR_ASSIGN_OR_RETURN(model::Identity identity, store.GetIdentityByName(identity_name));
  return store.ListApiKeys(identity.id);
}

Status RevokeApiKey(store::CredentialStore& store, std::string_view key_id, const Clock& clock) {
  return store.RevokeApiKey(key_id, clock.NowMillis());
}

Result<bool> IsValidApiKeyOf(store::CredentialStore& store, std::string_view key,
                             std::int64_t identity_id, const Clock& clock) {
  Result<Principal> principal = AuthenticateApiKey(store, key, clock.NowMillis());
  if (principal.ok()) return principal->identity_id == identity_id;
  if (principal.status().code() == StatusCode::kUnauthenticated) return false;
  return principal.status();
}

std::optional<std::int64_t> ParseDuration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  std::string_view digits = text.substr(0, text.size() - 1);
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || value <= 0) return std::nullopt;
  // Bound so that seconds * 1000 (milliseconds) cannot overflow.
  if (value > std::numeric_limits<std::int64_t>::max() / 1000 / 2 / unit) return std::nullopt;
  return value * unit;
}

}  // namespace strongroom::vault
