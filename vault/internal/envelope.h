// Sealing and opening a credential row's data (SPEC 7), with the vault's error
// mapping: an unreachable HSM is UNAVAILABLE [hsm_unavailable]; any other
// failure to open is DATA_LOSS [integrity_error] (the data may have been
// tampered with or moved to another row: the AAD binds it to the row).
//
// Thread safety: stateless; the key manager must be safe for concurrent use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "base/secret_json.h"
#include "kms/key_manager.h"
#include "model/credential.h"

namespace strongroom::vault::internal {

// The additional data (AAD) binds a sealed envelope to its row, so a
// ciphertext moved to another row, or a row whose clear fields were edited in
// the database, fails to open (DATA_LOSS [integrity_error]). Layouts, by
// model::StoredCredential::aad_version:
//   1 (kms::CredentialAad): identity id, name, type, version. Rows written
//     before schema step 3; still opened, and resealed by the vault.
//   2 (current): "strongroom/aad/v2" || u64 identity_id || u32 len || name ||
//     u32 len || type || u64 version || u8 has_expiry || u64 expires_at (0
//     when none) || u32 len || metadata_json, integers big-endian. The whole
//     metadata text is bound, not only the TOTP parameters (algorithm,
//     digits, period) kept there: every clear field that changes what a read
//     answers is covered, and no JSON is parsed to compute it (SPEC 5a, 7).
std::string CredentialAadV2(const model::StoredCredential& row);

// The KEK of `identity` that wraps the DEKs naming `kek_version`: the
// current one or, while a KEK rotation runs, the previous one. nullopt if the
// identity as read has neither (it is stale: re-read it).
std::optional<kms::KekRef> KekFor(const model::Identity& identity, std::int32_t kek_version);

// The status of a read or write made with a stale identity (a KEK rotation
// ran since it was read): FAILED_PRECONDITION "kek_rotated", as the store's.
Status KekRotatedError();
bool IsKekRotated(const Status& status);

// Seals `plaintext` (the data object as JSON text) for `row` under the
// identity's current KEK with the current AAD layout: sets row->kek_version,
// aad_version, ciphertext and wrapped_dek. The AAD is computed from the row's
// identity, name, type, version, expires_at and metadata_json, so those must
// be final.
Status SealInto(kms::KeyManager& keys, const model::Identity& identity, std::string_view plaintext,
                model::StoredCredential* row);

// The decrypted data text of `row` (sealed under the identity's KEK of
// row.kek_version, with the AAD layout of row.aad_version). Logs failures by credential id, never
// data. KekRotatedError if `identity` has no KEK of that version.
Result<SecretBytes> OpenRow(kms::KeyManager& keys, const model::Identity& identity,
                            const model::StoredCredential& row);

// `plain` parsed as the data object (DATA_LOSS if it is not one).
Result<SecretJson> ParseData(const SecretBytes& plain);

}  // namespace strongroom::vault::internal
