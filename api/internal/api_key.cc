#include "api/internal/api_key.h"

#include <openssl/evp.h>

#include "base/random.h"

namespace strongroom::api::internal {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

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
    if (Base64UrlValue(c) < 0) return std::nullopt;
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

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  // Canonical form only: the unused low bits of the last character must be zero.
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

}  // namespace strongroom::api::internal
