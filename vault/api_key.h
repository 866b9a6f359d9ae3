// API keys (SPEC 4): the one module that makes, reads and checks them, used by
// the server (vault::Vault::Authenticate) and by the admin CLI alike.
//
// An API key is "sr_<key_id>_<secret>": key_id is 16 lowercase hex characters
// (the public handle, stored in clear and shown by `key list`), secret is 43
// unpadded base64url characters (256 bits from the CSPRNG). Only SHA-256 of the
// whole key string is stored, so a database dump does not let anyone
// authenticate; hashes are compared in constant time. Nothing here logs or
// echoes a key, and every failure to authenticate is the same UNAUTHENTICATED
// "invalid or missing API key", so a caller learns nothing about which check
// failed.
//
// Thread safety: stateless; safe to call concurrently.
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

namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault {

inline constexpr std::string_view kApiKeyPrefix = "sr_";
inline constexpr std::size_t kKeyIdHexChars = 16;
inline constexpr std::size_t kSecretChars = 43;
inline constexpr std::size_t kApiKeyChars = 3 + kKeyIdHexChars + 1 + kSecretChars;

// Where a request came from, as the face saw it: the audit event's
// `requestId` and `remote` (SPEC 12). Empty fields are recorded as null.
struct RequestContext {
  std::string request_id;
  std::string remote;  // client address
};

// Who is calling: the identity an API key belongs to and what the key may do,
// and the request it came with (Vault::Authenticate fills it in).
struct Principal {
  std::int64_t identity_id = 0;
  std::string key_id;        // public key id, safe to log
  std::uint32_t scopes = 0;  // model::Scope bits
  RequestContext context;
};

// A fresh key id (8 random bytes as hex) and full key string.
struct GeneratedApiKey {
  std::string key_id;
  SecretString key;
};
Result<GeneratedApiKey> GenerateApiKey();

// Returns the key id of a well-formed key string, nullopt otherwise. Checks the
// shape only (prefix, lengths, alphabets).
std::optional<std::string> ParseApiKeyId(std::string_view key);

// SHA-256 of the whole key string (empty only if the digest failed, which never
// matches a stored hash).
std::vector<std::uint8_t> HashApiKey(std::string_view key);

// The same UNAUTHENTICATED status for every authentication failure.
Status InvalidApiKeyError();

// The principal of `record` if `key` is its key (constant-time hash comparison)
// and it is not revoked (any stored revocation, whatever its time) nor expired at `now`;
// InvalidApiKeyError otherwise.
Result<Principal> CheckApiKey(const model::ApiKeyRecord& record, std::string_view key,
                              UnixMillis now);

// Parses `key`, reads its record and checks it (CheckApiKey). Malformed or
// unknown keys are InvalidApiKeyError; store failures are returned as they
// are (UNAVAILABLE is not disguised as 401).
Result<Principal> AuthenticateApiKey(store::CredentialStore& store, std::string_view key,
                                     UnixMillis now);

// The key of an Authorization header value "Bearer <key>" (scheme
// case-insensitive, surrounding blanks ignored), or nullopt for any other shape.
std::optional<std::string_view> BearerToken(std::string_view authorization_header);

}  // namespace strongroom::vault
