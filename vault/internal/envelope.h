// Sealing and opening a credential row's data (SPEC 7), with the vault's error
// mapping: an unreachable HSM is UNAVAILABLE [hsm_unavailable]; any other
// failure to open is DATA_LOSS [integrity_error] (the data may have been
// tampered with or moved to another row: the AAD binds it to the row).
//
// Thread safety: stateless; the key manager must be safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "base/secret_json.h"
#include "kms/key_manager.h"
#include "model/credential.h"

namespace strongroom::vault::internal {

// The KEK of `identity` that wraps the DEKs naming `kek_version`: the
// current one or, while a KEK rotation runs, the previous one. nullopt if the
// identity as read has neither (it is stale: re-read it).
std::optional<kms::KekRef> KekFor(const model::Identity& identity, std::int32_t kek_version);

// The status of a read or write made with a stale identity (a KEK rotation
// ran since it was read): FAILED_PRECONDITION "kek_rotated", as the store's.
Status KekRotatedError();
bool IsKekRotated(const Status& status);

// Seals `plaintext` (the data object as JSON text) for `row` under the
// identity's current KEK: sets row->kek_version, ciphertext and wrapped_dek.
// The AAD is computed from the row's identity, name, type and version, so
// those must be final.
Status SealInto(kms::KeyManager& keys, const model::Identity& identity, std::string_view plaintext,
                model::StoredCredential* row);

// The decrypted data text of `row` (sealed under the identity's KEK of
// row.kek_version). Logs failures by credential id, never data.
// KekRotatedError if `identity` has no KEK of that version.
Result<SecretBytes> OpenRow(kms::KeyManager& keys, const model::Identity& identity,
                            const model::StoredCredential& row);

// `plain` parsed as the data object (DATA_LOSS if it is not one).
Result<SecretJson> ParseData(const SecretBytes& plain);

}  // namespace strongroom::vault::internal
