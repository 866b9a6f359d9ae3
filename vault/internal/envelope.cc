#include "vault/internal/envelope.h"

#include <utility>

#include <spdlog/spdlog.h>

#include "kms/key_manager.h"

namespace strongroom::vault::internal {
namespace {

std::string AadFor(const model::StoredCredential& c) {
  return kms::CredentialAad(c.identity_id, c.name, model::TypeName(c.type), c.version);
}

// The key manager reports an unreachable HSM as UNAVAILABLE with a generic
// reason; name the HSM so clients and operators see which dependency failed.
Status TagHsm(const Status& status) {
  if (status.code() == StatusCode::kUnavailable) {
    return UnavailableError(status.message(), "hsm_unavailable");
  }
  return status;
}

// A decrypt failure is an integrity error whatever the key manager called it,
// except when the HSM itself is unreachable (then the data may be fine).
Status MapOpenError(const Status& status) {
  if (status.code() == StatusCode::kUnavailable) return TagHsm(status);
  if (status.code() == StatusCode::kDataLoss) return status;
  return DataLossError("stored credential failed its integrity check");
}

}  // namespace

Status SealInto(kms::KeyManager& keys, const model::Identity& identity, std::string_view plaintext,
                model::StoredCredential* row) {
  row->kek_version = identity.kek_version;
  kms::KekRef kek{identity.id, identity.kek_version, &identity.wrapped_kek};
  Result<kms::Envelope> envelope = keys.Seal(kek, plaintext, AadFor(*row));
  if (!envelope.ok()) return TagHsm(envelope.status());
  row->ciphertext = std::move(envelope->ciphertext);
  row->wrapped_dek = std::move(envelope->wrapped_dek);
  return Status::Ok();
}

Result<SecretBytes> OpenRow(kms::KeyManager& keys, const model::Identity& identity,
                            const model::StoredCredential& row) {
  kms::KekRef kek{identity.id, row.kek_version, &identity.wrapped_kek};
  kms::Envelope envelope{row.ciphertext, row.wrapped_dek};
  Result<SecretBytes> plain = keys.Open(kek, envelope, AadFor(row));
  if (!plain.ok()) {
    Status status = MapOpenError(plain.status());
    spdlog::error("decrypting credential {} of identity {} failed: {}", row.credential_id,
                  row.identity_id, plain.status().ToString());
    return status;
  }
  return plain;
}

Result<SecretJson> ParseData(const SecretBytes& plain) {
  SecretJson data(nlohmann::json::parse(plain.begin(), plain.end(), nullptr,
                                        /*allow_exceptions=*/false));
  if (!data->is_object()) return DataLossError("stored credential is not a JSON object");
  return data;
}

}  // namespace strongroom::vault::internal
