// API key format, hashing and small encodings shared by admin.cc and the vault service.
//
// An API key is "sr_<key_id>_<secret>": key_id is 16 lowercase hex characters (the
// public handle stored in clear and shown by `key list`), secret is 43 unpadded
// base64url characters (256 bits from the CSPRNG). Only SHA-256 of the whole key
// string is stored, so a database dump does not let anyone authenticate.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom::api::internal {

inline constexpr std::string_view kApiKeyPrefix = "sr_";
inline constexpr std::size_t kKeyIdHexChars = 16;
inline constexpr std::size_t kSecretChars = 43;
inline constexpr std::size_t kApiKeyChars = 3 + kKeyIdHexChars + 1 + kSecretChars;

// A fresh key id (8 random bytes as hex) and full key string.
struct GeneratedApiKey {
  std::string key_id;
  SecretString key;
};
Result<GeneratedApiKey> GenerateApiKey();

// Returns the key id of a well-formed key string, nullopt otherwise. Checks the
// shape only (prefix, lengths, alphabets); never logs or echoes the input.
std::optional<std::string> ParseApiKeyId(std::string_view key);

// SHA-256 of the whole key string.
std::vector<std::uint8_t> HashApiKey(std::string_view key);

// Unpadded base64url (RFC 4648 section 5) decoding; nullopt on any non-canonical input.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace strongroom::api::internal
