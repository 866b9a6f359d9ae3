// What a GET returns of a credential's decrypted data (SPEC 5).
//
// TOTP seeds never leave the vault: `data.secret` of a TOTP credential and
// `data.totp` of any credential come back as "[REDACTED]" (as does any
// `otpauthUri`, which embeds a seed). Everything else, including backupCodes and
// usedBackupCodes, is returned as stored: the caller is authorised for it.
//
// Thread safety: stateless.
#pragma once

#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "model/credential.h"

namespace strongroom::model {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Returns a copy of `data` (the decrypted data object) with the seeds redacted.
// A `data` that is not an object is returned unchanged.
nlohmann::json RedactData(CredentialType type, const nlohmann::json& data);

}  // namespace strongroom::model
