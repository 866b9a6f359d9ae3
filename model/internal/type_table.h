// The one table of credential types (SPEC 3): wire names, secret data fields and
// required fields. TypeName/ParseType, validation and the metadata secret-name
// check all read it, so a new type or field is added in exactly one place.
#pragma once

#include <array>
#include <span>
#include <string_view>

#include "model/credential.h"

namespace strongroom::model::internal {

// Fields of `data` that are secret for one type. Unused slots are empty.
using FieldList = std::array<std::string_view, 4>;
// One way to satisfy "required": every non-empty name in the list must be a
// non-empty string. Unused slots are empty.
using RequiredSet = std::array<std::string_view, 2>;

struct TypeInfo {
  CredentialType type;
  std::string_view wire_name;
  FieldList secret_fields;
  // Alternatives: the data is complete when any one set is fully present. All
  // empty (CUSTOM) means "at least one non-empty pair".
  std::array<RequiredSet, 2> required_any_of;
};

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

// True when `name` is the name of a secret field of any type (or `totp`).
// Compared case-insensitively and ignoring '_' and '-', so "Private_Key" and
// "access-token" are caught as well as "privateKey".
bool IsSecretFieldName(std::string_view name);

// True for backupCodes and usedBackupCodes, the data fields that are arrays of
// strings rather than strings.
bool IsCodeListField(std::string_view name);

}  // namespace strongroom::model::internal
