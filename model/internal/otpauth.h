// otpauth:// URIs, the way providers hand over TOTP seeds (the Key Uri Format of
// Google Authenticator: otpauth://totp/Issuer:account?secret=...&issuer=...).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "model/totp.h"

namespace strongroom::model::internal {

struct OtpauthUri {
  SecretString secret;                 // base32 seed, normalised (see NormalizeTotpSeed)
  std::optional<std::string> issuer;   // `issuer` parameter, else the label prefix
  std::optional<std::string> account;  // label after "Issuer:", or the whole label
  std::optional<TotpAlgorithm> algorithm;
  std::optional<int> digits;
  std::optional<int> period;
};

// Parses an otpauth://totp/ URI. Every failure is INVALID_ARGUMENT
// "invalid_otpauth_uri" with a message naming the part at fault, never its value:
// wrong scheme, hotp or other type, bad percent-encoding or UTF-8, a missing,
// duplicated or malformed parameter (secret must be a base32 seed of >= 80 bits,
// algorithm SHA1/SHA256/SHA512, digits 6 or 8, period 1..3600).
// Unknown parameters (image, counter, ...) are ignored.
Result<OtpauthUri> ParseOtpauthUri(std::string_view uri);

}  // namespace strongroom::model::internal
