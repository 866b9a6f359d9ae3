// Administrative use cases behind `strongroom admin` and dev-mode setup (SPEC 4, 8):
// identities and API keys. The server's request path never calls these; the
// CLI (app/) prints what they return.
//
// API keys are made and checked by vault/api_key.h; the key is shown once, at
// creation, and only its hash is stored.
//
// Thread safety: stateless functions; the store and key manager are the
// caller's and must be safe for the calls made.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/secret.h"
#include "model/credential.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault {

// Creates an identity with a fresh wrapped KEK. INVALID_ARGUMENT for a bad
// name (same rule as credential names), ALREADY_EXISTS if taken.
Result<model::Identity> CreateIdentity(store::CredentialStore& store, kms::KeyManager& keys,
                                       std::string_view name, const Clock& clock);
// Deletes an identity with its keys and credentials and evicts its KEK
// (crypto-shredding). NOT_FOUND if unknown.
Status DeleteIdentity(store::CredentialStore& store, kms::KeyManager& keys, std::string_view name);

struct NewApiKey {
  std::string key_id;
  SecretString key;  // the full key, to be shown once
  std::optional<UnixMillis> expires_at;
};
// Creates an API key for identity `identity_name` with `scopes` (model::Scope
// bits, non-zero) valid for `ttl_seconds` (nullopt: no expiry).
Result<NewApiKey> CreateApiKey(store::CredentialStore& store, std::string_view identity_name,
                               std::uint32_t scopes, std::optional<std::int64_t> ttl_seconds,
                               const Clock& clock);
Result<std::vector<model::ApiKeyRecord>> ListApiKeys(store::CredentialStore& store,
                                                     std::string_view identity_name);
Status RevokeApiKey(store::CredentialStore& store, std::string_view key_id, const Clock& clock);

// Whether `key` is a valid key (well formed, known, hash matching, neither
// revoked nor expired now) of identity `identity_id`: the dev-mode check of a
// saved key. Store failures other than NOT_FOUND are returned.
Result<bool> IsValidApiKeyOf(store::CredentialStore& store, std::string_view key,
                             std::int64_t identity_id, const Clock& clock);

// Parses a duration like "90s", "15m", "12h", "30d" into seconds; nullopt if malformed or <= 0.
std::optional<std::int64_t> ParseDuration(std::string_view text);

}  // namespace strongroom::vault
