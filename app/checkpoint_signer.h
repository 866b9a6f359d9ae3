// The audit checkpoint signer of a server (SPEC 12): audit::CheckpointSigner over
// the HSM's ECDSA P-256 key (kms::AuditSigningKey), plus what `admin audit
// public-key` prints.
//
// kms/ does not depend on audit/ (SPEC 2), so the adapter lives here: it turns
// the token's raw r||s into the DER that checkpoints carry (audit::EcdsaRawToDer)
// and the CKA_EC_POINT into a PEM public key (audit::P256PublicKeyPem).
//
// Thread safety: HsmCheckpointSigner may be used from any thread (signing is
// serialised on the key's session).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "audit/checkpoint.h"
#include "base/result.h"
#include "config/config.h"

namespace strongroom::kms {
class AuditSigningKey;
}

namespace strongroom::app {

// SPEC 12's default for audit.signing_key_label (also the dev token's key).
inline constexpr char kDefaultSigningKeyLabel[] = "strongroom-audit";

class HsmCheckpointSigner final : public audit::CheckpointSigner {
 public:
  // Takes an opened key. Verifies one probe signature against the key's public
  // point first (FAILED_PRECONDITION "hsm_key_invalid" if the public key object
  // does not match the private key: every checkpoint would fail to verify).
  static Result<std::unique_ptr<HsmCheckpointSigner>> Create(
      std::unique_ptr<kms::AuditSigningKey> key);
  ~HsmCheckpointSigner() override;

  // DER ECDSA-SHA256 signature of `message`, made on the HSM.
  Result<std::string> Sign(std::string_view message) override;
  // The public key, PEM SubjectPublicKeyInfo (what `admin audit public-key` prints).
  const std::string& public_key_pem() const { return public_key_pem_; }
  const kms::AuditSigningKey& key() const { return *key_; }

 private:
  HsmCheckpointSigner(std::unique_ptr<kms::AuditSigningKey> key, std::string pem);

  std::unique_ptr<kms::AuditSigningKey> key_;
  std::string public_key_pem_;
};

// Reads the PIN (hsm.pin_env / hsm.pin_file), opens the key `signing_key_label`
// on the configured token and checks it (HsmCheckpointSigner::Create). Never
// creates keys: a missing key is FAILED_PRECONDITION naming module, token and
// label, like a missing master key. The error never holds the PIN.
Result<std::unique_ptr<HsmCheckpointSigner>> OpenHsmCheckpointSigner(
    const config::HsmConfig& hsm, std::string_view signing_key_label);

// The server's checkpoint signer (what the checkpoint writer signs with):
// OpenHsmCheckpointSigner as the audit interface.
Result<std::unique_ptr<audit::CheckpointSigner>> MakeCheckpointSigner(
    const config::HsmConfig& hsm, std::string_view signing_key_label);

}  // namespace strongroom::app
