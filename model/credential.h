// Credential types and records shared by every layer (SPEC 3, 4, 5).
//
// A credential is a plaintext summary (name, type, metadata, times, version)
// plus `data`, the secret fields, which only ever leave the vault service as
// ciphertext (to the store) or as JSON (to an authorised caller).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"

namespace strongroom::model {

enum class CredentialType {
  kLogin,
  kApiKey,
  kOauth,
  kTotp,
  kSshKey,
  kDatabase,
  kSmtp,
  kAws,
  kCertificate,
  kCard,
  kShippingAddress,
  kCustom,
};

// Every type, in enum order (the order of the SPEC 3 table), for callers that
// enumerate them (schemas, documentation, tests).
std::span<const CredentialType> AllCredentialTypes();
// "LOGIN", "API_KEY", ... exactly as on the wire.
std::string_view TypeName(CredentialType type);
// Parses a wire type name; nullopt for anything else (case-sensitive).
std::optional<CredentialType> ParseType(std::string_view name);

// Scopes an API key may hold (SPEC 4), as a bit set.
enum Scope : std::uint32_t {
  kScopeRead = 1u << 0,   // vault:read
  kScopeWrite = 1u << 1,  // vault:write
};
std::optional<Scope> ParseScope(std::string_view name);  // "vault:read" -> kScopeRead
std::string ScopeNames(std::uint32_t scopes);            // "vault:read vault:write"

// An identity: owns credentials and API keys; its KEK is stored wrapped under
// the master key.
struct Identity {
  std::int64_t id = 0;
  std::string name;
  std::vector<std::uint8_t> wrapped_kek;  // RSA-OAEP(SHA-256) under the master public key
  std::int32_t kek_version = 1;
  UnixMillis created_at = 0;
  // Label of the master key `wrapped_kek` is wrapped under (SPEC 11); empty
  // only in a database not yet seeded with its key state.
  std::string master_key_label;
  // While a KEK rotation is in progress (SPEC 11), the KEK being replaced:
  // credentials not yet rewrapped still name its version. Version 0: none.
  std::vector<std::uint8_t> previous_wrapped_kek;
  std::int32_t previous_kek_version = 0;
  std::string previous_master_key_label;
};

// A master key pair's state in the database (SPEC 11): the active key wraps
// new KEKs; a previous one still unwraps the KEKs not yet rewrapped; a
// retired one wraps nothing and may be destroyed on the token.
enum class MasterKeyState { kActive, kPrevious, kRetired };
std::string_view MasterKeyStateName(MasterKeyState state);  // "active", ...

struct MasterKeyRecord {
  std::string label;
  MasterKeyState state = MasterKeyState::kActive;
  UnixMillis created_at = 0;
  std::optional<UnixMillis> activated_at;
  std::optional<UnixMillis> retired_at;
};

// An API key as stored: never the key itself, only its SHA-256.
struct ApiKeyRecord {
  std::string key_id;  // public identifier, 16 hex chars
  std::int64_t identity_id = 0;
  std::vector<std::uint8_t> key_hash;  // SHA-256 of the full key string
  std::uint32_t scopes = 0;
  std::optional<UnixMillis> expires_at;
  std::optional<UnixMillis> revoked_at;
  UnixMillis created_at = 0;
};

// The layout of the additional data a credential's data is sealed with
// (vault/internal/envelope.h): 1 bound identity, name, type and version; 2 also
// binds expiresAt and the metadata text (which holds the TOTP parameters).
// Rows sealed with an older layout are resealed by the vault (Vault::ResealLegacyRows).
inline constexpr std::int32_t kCurrentAadVersion = 2;

// A credential row as the store keeps it: plaintext summary + ciphertext.
struct StoredCredential {
  std::string credential_id;  // stable for the life of the name
  std::int64_t identity_id = 0;
  std::string name;
  CredentialType type = CredentialType::kCustom;
  std::string metadata_json;  // "null" or a JSON object, plaintext by design
  std::optional<UnixMillis> expires_at;
  std::optional<UnixMillis> last_used_at;
  std::optional<UnixMillis> last_rotated_at;
  UnixMillis created_at = 0;
  UnixMillis updated_at = 0;
  std::int64_t version = 0;  // counts writes; bound into the AEAD additional data
  // Envelope (SPEC 7). Empty in list results.
  std::vector<std::uint8_t> ciphertext;   // nonce(12) || ciphertext || tag(16)
  std::vector<std::uint8_t> wrapped_dek;  // AES-256-KWP under the identity KEK
  std::int32_t kek_version = 1;
  std::int32_t aad_version = kCurrentAadVersion;  // the AAD layout the envelope was sealed with
};

}  // namespace strongroom::model
