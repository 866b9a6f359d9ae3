// Administrative use cases behind `strongroom admin` and dev-mode setup (SPEC 4, 8):
// identities and API keys. The server's request path never calls these.
//
// API keys look like "sr_<key_id>_<secret>": key_id is 16 hex chars (public,
// shown by `key list`), secret is 43 base64url chars (256 random bits). Only
// SHA-256 of the whole key is stored; the key is shown once, at creation.
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

namespace strongroom::api {

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

// Parses a duration like "90s", "15m", "12h", "30d" into seconds; nullopt if malformed or <= 0.
std::optional<std::int64_t> ParseDuration(std::string_view text);

}  // namespace strongroom::api
