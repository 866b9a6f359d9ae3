// Randomness from OpenSSL's CSPRNG (RAND_priv_bytes for secrets).
#pragma once

#include <cstddef>
#include <string>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom {

// `n` bytes for key material (RAND_priv_bytes).
Result<SecretBytes> RandomSecretBytes(std::size_t n);
// `n` random bytes rendered as lowercase hex (identifiers, not secrets).
Result<std::string> RandomHex(std::size_t n);
// Unpadded base64url (RFC 4648 section 5) of `data`.
std::string Base64UrlEncode(std::string_view data);
// Lowercase hex of `data`.
std::string HexEncode(std::string_view data);

}  // namespace strongroom
