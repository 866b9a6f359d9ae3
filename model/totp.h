// TOTP codes (RFC 6238 over RFC 4226, via liboath) and single-use backup codes.
//
// Seeds are secrets: they arrive here already decrypted and leave only as codes.
// Nothing in this header puts a seed or a backup code into a Status message.
//
// Thread safety: every function is safe to call concurrently (liboath is
// initialised once, under std::call_once). PopBackupCode mutates its argument:
// the caller serialises access to one credential (SPEC 5: the store's
// read-modify-write transaction around it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "base/secret.h"
#include "model/credential.h"

namespace strongroom::model {

// The HMAC of RFC 6238 section 1.2.
enum class TotpAlgorithm { kSha1, kSha256, kSha512 };

// "SHA1", "SHA256", "SHA512".
std::string_view TotpAlgorithmName(TotpAlgorithm algorithm);
// Case-insensitive: "sha256" -> kSha256. nullopt for anything else.
std::optional<TotpAlgorithm> ParseTotpAlgorithm(std::string_view name);

inline constexpr int kMaxTotpPeriodSeconds = 3600;

// How codes are generated for one credential; its metadata carries them (SPEC 3).
struct TotpParams {
  TotpAlgorithm algorithm = TotpAlgorithm::kSha1;
  int digits = 6;   // 6 or 8
  int period = 30;  // seconds, 1..kMaxTotpPeriodSeconds (RFC 6238 "X")

  // Reads metadata.algorithm/digits/period; missing or unusable values (there are
  // none in validated metadata) take the defaults SHA1/6/30. `metadata` may be
  // null or any JSON value.
  static TotpParams FromMetadata(const nlohmann::json& metadata);
};

struct TotpCode {
  std::string code;   // zero-padded to `digits`
  int remaining = 0;  // seconds left in the current time step, 1..period
};

// RFC 6238 TOTP with T0 = 0 for the time `now`. Errors (INVALID_ARGUMENT):
// invalid_totp_secret (bad base32, under 80 bits), invalid_totp_digits,
// invalid_totp_period; negative `now` is invalid_request.
Result<TotpCode> GenerateTotp(std::string_view seed_base32, const TotpParams& params,
                              UnixMillis now);

// RFC 4226 HOTP (HMAC-SHA1, dynamic truncation) for `counter`; digits 6..8.
// Exposed for known-answer tests of the underlying generator.
Result<std::string> GenerateHotp(std::string_view seed_base32, std::uint64_t counter, int digits);

// The TOTP seed of a credential: `data.secret` of a TOTP credential, else
// `data.totp` (any type, SPEC 3). INVALID_ARGUMENT "not_totp" when there is none.
Result<SecretString> FindTotpSeed(CredentialType type, const nlohmann::json& data);

// Number of unused backup codes in `data.backupCodes` (0 when absent).
std::size_t UnusedBackupCodeCount(const nlohmann::json& data);

struct BackupPop {
  std::string code;           // the code handed out
  std::size_t remaining = 0;  // unused codes left after this one
};

// Moves the first unused backup code (data.backupCodes[0]) to the end of
// data.usedBackupCodes (created if absent), so usedBackupCodes stays in
// hand-out order (SPEC 5). On error `data` is unchanged.
// Errors: INVALID_ARGUMENT "not_totp" (the credential has no TOTP seed: neither a
// TOTP credential nor one carrying data.totp); FAILED_PRECONDITION
// "no_backup_codes" (none left).
Result<BackupPop> PopBackupCode(CredentialType type, nlohmann::json& data);

}  // namespace strongroom::model
