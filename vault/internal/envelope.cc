#include "vault/internal/envelope.h"

#include <cstdint>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "kms/key_manager.h"

namespace strongroom::vault::internal {
namespace {

void PutU64(std::string* out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void PutField(std::string* out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(n >> shift));
  out->append(field);
}

}  // namespace

std::string CredentialAadV2(const model::StoredCredential& c) {
  std::string out = "strongroom/aad/v2";
  out.reserve(out.size() + 8 + 4 + c.name.size() + 4 + 16 + 8 + 1 + 8 + 4 + c.metadata_json.size());
  PutU64(&out, static_cast<std::uint64_t>(c.identity_id));
  PutField(&out, c.name);
  PutField(&out, model::TypeName(c.type));
  PutU64(&out, static_cast<std::uint64_t>(c.version));
  out.push_back(c.expires_at ? '\x01' : '\x00');
  PutU64(&out, static_cast<std::uint64_t>(c.expires_at.value_or(0)));
  PutField(&out, c.metadata_json);
  return out;
}

namespace {

Result<std::string> AadFor(const model::StoredCredential& c) {
  switch (c.aad_version) {
    case 1:
      return kms::CredentialAad(c.identity_id, c.name, model::TypeName(c.type), c.version);
    case 2:
      return CredentialAadV2(c);
    default:
      return DataLossError("stored credential has an unknown AAD layout");
  }
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

std::optional<kms::KekRef> KekFor(const model::Identity& identity, std::int32_t kek_version) {
  if (kek_version == identity.kek_version) {
    return kms::KekRef{identity.id, kek_version, &identity.wrapped_kek, identity.master_key_label};
  }
  if (kek_version != 0 && kek_version == identity.previous_kek_version) {
    return kms::KekRef{identity.id, kek_version, &identity.previous_wrapped_kek,
                       identity.previous_master_key_label};
  }
  return std::nullopt;
}

Status KekRotatedError() {
  return FailedPreconditionError("the identity's KEK was rotated", "kek_rotated");
}

bool IsKekRotated(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition && status.error_code() == "kek_rotated";
}

Status SealInto(kms::KeyManager& keys, const model::Identity& identity, std::string_view plaintext,
                model::StoredCredential* row) {
  row->kek_version = identity.kek_version;
  row->aad_version = model::kCurrentAadVersion;
  const kms::KekRef kek{identity.id, identity.kek_version, &identity.wrapped_kek,
                        identity.master_key_label};
  Result<kms::Envelope> envelope = keys.Seal(kek, plaintext, CredentialAadV2(*row));
  if (!envelope.ok()) return TagHsm(envelope.status());
  row->ciphertext = std::move(envelope->ciphertext);
  row->wrapped_dek = std::move(envelope->wrapped_dek);
  return Status::Ok();
}

Result<SecretBytes> OpenRow(kms::KeyManager& keys, const model::Identity& identity,
                            const model::StoredCredential& row) {
  std::optional<kms::KekRef> kek = KekFor(identity, row.kek_version);
  if (!kek) return KekRotatedError();
  kms::Envelope envelope{row.ciphertext, row.wrapped_dek};
  Result<std::string> aad = AadFor(row);
  Result<SecretBytes> plain = aad.ok() ? keys.Open(*kek, envelope, *aad) : aad.status();
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
