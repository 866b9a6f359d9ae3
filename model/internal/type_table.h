// The one table of credential types (SPEC 3): wire names, required fields and
// the secret field names refused as metadata keys. TypeName/ParseType,
// validation and the metadata secret-name check all read it, so a new type or
// field is added in exactly one place.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include "model/credential.h"

namespace strongroom::model::internal {

// One way to satisfy "required": every non-empty name in the list must be a
// non-empty string. Unused slots are empty.
using RequiredSet = std::array<std::string_view, 5>;

struct TypeInfo {
  CredentialType type;
  std::string_view wire_name;
  // Alternatives: the data is complete when any one set is fully present. All
  // empty (CUSTOM) means "at least one non-empty pair".
  std::array<RequiredSet, 2> required_any_of;
  // A data field that is secret on this type only and so is refused as a
  // metadata key of this type alone (CARD: "number"). Empty for most types.
  std::string_view type_secret_name;
};

// How many types there are (SPEC 3: twelve).
inline constexpr std::size_t kTypeCount = 12;

// Every type, in enum order.
std::span<const TypeInfo> AllTypes();
// The row for `type`.
const TypeInfo& InfoFor(CredentialType type);

// `data.totp`: a TOTP seed any credential type may carry (SPEC 3).
inline constexpr std::string_view kTotpField = "totp";
// `data.secret` of a TOTP credential is its seed.
inline constexpr std::string_view kTotpSecretField = "secret";
inline constexpr std::string_view kBackupCodesField = "backupCodes";
inline constexpr std::string_view kUsedBackupCodesField = "usedBackupCodes";
inline constexpr std::string_view kOtpauthUriField = "otpauthUri";
// CARD data fields with a format (SPEC 3).
inline constexpr std::string_view kCardNumberField = "number";
inline constexpr std::string_view kCardExpMonthField = "expMonth";
inline constexpr std::string_view kCardExpYearField = "expYear";

// True when `name` may not be a metadata key of a `type` credential because it
// names a secret field (SPEC 3): password, key, secret, totp, privateKey,
// passphrase, accessToken, refreshToken, connectionString, secretAccessKey,
// sessionToken, backupCodes, usedBackupCodes, otpauthUri, token, cvc,
// clientSecret on every type, plus the type's own `type_secret_name` (number
// on a CARD). Compared case-insensitively and ignoring '_' and '-', so
// "Private_Key", "access-token" and "OTPAUTHURI" are caught as well as
// "privateKey".
bool IsSecretFieldName(std::string_view name, CredentialType type);

// True for backupCodes and usedBackupCodes, the data fields that are arrays of
// strings rather than strings.
bool IsCodeListField(std::string_view name);

}  // namespace strongroom::model::internal
