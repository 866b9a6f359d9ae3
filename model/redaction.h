// What a GET returns of a credential's decrypted data (SPEC 5).
//
// TOTP seeds never leave the vault: `data.secret` of a TOTP credential and
// `data.totp` of any credential come back as "[REDACTED]" (as does any
// `otpauthUri`, which embeds a seed). Everything else, including backupCodes and
// usedBackupCodes, is returned as stored: the caller is authorised for it. A
// TOTP credential always has both code lists in its output, as empty arrays
// when it has none, so clients can read them without a presence check.
//
// Thread safety: stateless.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "model/credential.h"

namespace strongroom::model {

inline constexpr std::string_view kRedacted = "[REDACTED]";

// Returns a copy of `data` (the decrypted data object) with the seeds redacted
// and, for a TOTP credential, any missing backupCodes/usedBackupCodes added as
// []. A `data` that is not an object is returned unchanged.
nlohmann::json RedactData(CredentialType type, const nlohmann::json& data);

// The same over stored text, for the hot read path. `stored` is a data object
// as model::ParseCredentialInput wrote it (nlohmann::json::dump, which parsing
// and dumping again reproduces byte for byte). Appends to `out` exactly
// RedactData(type, json::parse(stored)).dump(-1, ' ', false, replace). When no
// redacted field can be present (not a TOTP credential and neither "totp" nor
// "otpauthUri" anywhere in the text) the stored text is appended as it is,
// without a DOM; otherwise it is parsed, redacted and dumped (any temporary
// text is wiped). Returns false, appending nothing, if `stored` is not a JSON
// object.
bool AppendRedactedData(std::string* out, CredentialType type, std::string_view stored);

}  // namespace strongroom::model
