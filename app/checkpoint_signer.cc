// The HSM checkpoint signer. See app/checkpoint_signer.h.
#include "app/checkpoint_signer.h"

#include "app/vault_setup.h"
#include "kms/audit_signing_key.h"
#include "kms/pkcs11.h"

namespace strongroom::app {
namespace {

// Signed once when the key is opened; not a checkpoint message (those start
// with "strongroom-audit/"), so the probe cannot be replayed as one.
constexpr std::string_view kProbeMessage = "strongroom audit signing key probe\n";

}  // namespace

HsmCheckpointSigner::HsmCheckpointSigner(std::unique_ptr<kms::AuditSigningKey> key, std::string pem)
    : key_(std::move(key)), public_key_pem_(std::move(pem)) {}

HsmCheckpointSigner::~HsmCheckpointSigner() = default;

Result<std::unique_ptr<HsmCheckpointSigner>> HsmCheckpointSigner::Create(
    std::unique_ptr<kms::AuditSigningKey> key) {
  Result<std::string> pem = audit::P256PublicKeyPem(key->public_point());
  if (!pem.ok()) {
    return FailedPreconditionError("HSM audit signing key \"" + key->label() +
                                       "\" has an unusable public key: " + pem.status().message(),
                                   "hsm_key_invalid");
  }
  std::unique_ptr<HsmCheckpointSigner> signer(new HsmCheckpointSigner(std::move(key), *pem));
  // A public key object that does not belong to the private key would make
  // every checkpoint unverifiable: prove the pair once, before any is signed.
  SR_ASSIGN_OR_RETURN(std::string probe, signer->Sign(kProbeMessage));
  SR_ASSIGN_OR_RETURN(audit::CheckpointKey public_key, audit::CheckpointKey::FromPem(*pem));
  if (!public_key.VerifyMessage(kProbeMessage, probe)) {
    return FailedPreconditionError("HSM audit signing key \"" + signer->key_->label() +
                                       "\": public key does not match the private key",
                                   "hsm_key_invalid");
  }
  return signer;
}

Result<std::string> HsmCheckpointSigner::Sign(std::string_view message) {
  SR_ASSIGN_OR_RETURN(std::string raw, key_->SignSha256(message));
  return audit::EcdsaRawToDer(raw);
}

Result<std::unique_ptr<HsmCheckpointSigner>> OpenHsmCheckpointSigner(
    const config::HsmConfig& hsm, std::string_view signing_key_label) {
  SR_ASSIGN_OR_RETURN(kms::HsmParams params, HsmParamsOf(hsm));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::AuditSigningKey> key,
                      kms::OpenAuditSigningKey(params, signing_key_label));
  return HsmCheckpointSigner::Create(std::move(key));
}

Result<std::unique_ptr<audit::CheckpointSigner>> MakeCheckpointSigner(
    const config::HsmConfig& hsm, std::string_view signing_key_label) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<audit::CheckpointSigner> signer,
                      OpenHsmCheckpointSigner(hsm, signing_key_label));
  return signer;
}

}  // namespace strongroom::app
