// Base32 TOTP seeds (RFC 4648 section 6) as authenticator apps and providers
// write them: any case, grouped with spaces, with or without '=' padding.
#pragma once

#include <string_view>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom::model::internal {

// Returns the canonical form of `seed`: uppercase, no spaces, no padding.
// Fails (INVALID_ARGUMENT "invalid_totp_secret") when a character is outside
// the alphabet, '=' appears before the end, the length cannot be the encoding of
// whole bytes, or the seed decodes to fewer than 80 bits (RFC 4226 section 4,
// R6: the shared secret must be at least 128 bits, 160 recommended; 80 bits is
// the floor real providers use). The message never contains the seed.
Result<SecretString> NormalizeTotpSeed(std::string_view seed);

// Decodes a seed (any form NormalizeTotpSeed accepts) to the HMAC key with
// liboath's decoder, the one the code generator uses.
Result<SecretBytes> DecodeTotpSeed(std::string_view seed);

// Initialises liboath once per process (thread-safe).
Status EnsureOathInitialized();

}  // namespace strongroom::model::internal
