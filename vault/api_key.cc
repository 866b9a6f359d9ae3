#include "vault/api_key.h"

#include <cctype>

#include <openssl/evp.h>

#include "base/random.h"
#include "store/credential_store.h"
#include "vault/internal/base64url.h"

namespace strongroom::vault {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

Result<GeneratedApiKey> GenerateApiKey() {
  SR_ASSIGN_OR_RETURN(std::string key_id, RandomHex(kKeyIdHexChars / 2));
  SR_ASSIGN_OR_RETURN(SecretBytes secret, RandomSecretBytes(32));
  // Base64UrlEncode returns a plain std::string; wipe it once copied.
  std::string encoded = Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
  GeneratedApiKey out;
  out.key_id = key_id;
  out.key.Append(kApiKeyPrefix);
  out.key.Append(key_id);
  out.key.Append("_");
  out.key.Append(encoded);
  SecureWipe(encoded.data(), encoded.size());
  return out;
}

std::optional<std::string> ParseApiKeyId(std::string_view key) {
  if (key.size() != kApiKeyChars || key.substr(0, kApiKeyPrefix.size()) != kApiKeyPrefix) {
    return std::nullopt;
  }
  std::string_view key_id = key.substr(kApiKeyPrefix.size(), kKeyIdHexChars);
  for (char c : key_id) {
    if (!IsLowerHex(c)) return std::nullopt;
  }
  if (key[kApiKeyPrefix.size() + kKeyIdHexChars] != '_') return std::nullopt;
  for (char c : key.substr(kApiKeyPrefix.size() + kKeyIdHexChars + 1)) {
    if (internal::Base64UrlValue(c) < 0) return std::nullopt;
  }
  return std::string(key_id);
}

std::vector<std::uint8_t> HashApiKey(std::string_view key) {
  std::vector<std::uint8_t> digest(32);
  unsigned int len = 0;
  // Fetched once: an implicit fetch per call (EVP_sha256()) showed up in the
  // warm-GET profile. Never freed; lives as long as the default provider. If
  // the fetch ever failed, fall back to the implicit fetch on every call.
  static EVP_MD* const fetched = ::EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
  const EVP_MD* sha256 = fetched != nullptr ? fetched : ::EVP_sha256();
  if (::EVP_Digest(key.data(), key.size(), digest.data(), &len, sha256, nullptr) != 1 ||
      len != digest.size()) {
    // Cannot happen with the default provider; an empty hash never matches a stored one.
    digest.clear();
  }
  return digest;
}

Status InvalidApiKeyError() { return UnauthenticatedError("invalid or missing API key"); }

Result<Principal> CheckApiKey(const model::ApiKeyRecord& record, std::string_view key,
                              UnixMillis now) {
  std::vector<std::uint8_t> hash = HashApiKey(key);
  const auto& stored = record.key_hash;
  bool match = hash.size() == stored.size() && !hash.empty() &&
               ConstantTimeEquals(
                   std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()),
                   std::string_view(reinterpret_cast<const char*>(stored.data()), stored.size()));
  if (!match) return InvalidApiKeyError();
  // Any stored revocation is final (SPEC 4), whatever its time says: a
  // revocation written by a host whose clock runs ahead must not leave the
  // key working here until our clock catches up.
  if (record.revoked_at) return InvalidApiKeyError();
  if (record.expires_at && *record.expires_at <= now) return InvalidApiKeyError();
  return Principal{record.identity_id, record.key_id, record.scopes};
}

Result<Principal> AuthenticateApiKey(store::CredentialStore& store, std::string_view key,
                                     UnixMillis now) {
  std::optional<std::string> key_id = ParseApiKeyId(key);
  if (!key_id) return InvalidApiKeyError();
  Result<model::ApiKeyRecord> record = store.GetApiKey(*key_id);
  if (!record.ok()) {
    if (record.status().code() == StatusCode::kNotFound) return InvalidApiKeyError();
    return record.status();
  }
  return CheckApiKey(*record, key, now);
}

std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

}  // namespace strongroom::vault
