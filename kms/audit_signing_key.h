// The audit checkpoint signing key (SPEC 12): an ECDSA P-256 key pair on the
// PKCS#11 token, found by label, whose private half never leaves the token.
//
// Signing is CKM_ECDSA (PKCS#11 v2.40 Current Mechanisms 2.3.1) over the
// SHA-256 digest of the message, computed in software: the token returns the
// raw r||s, 32 bytes each. audit::EcdsaRawToDer turns it into the DER that
// checkpoints carry (kms/ does not depend on audit/; the adapter to
// audit::CheckpointSigner lives in app/checkpoint_signer.h).
//
// Faults: the same as the master key's (SPEC 11, kms/internal/pkcs11_connection.h):
// a lost session or device re-initialises PKCS#11 and retries once, then the
// key is DOWN (UNAVAILABLE "hsm_unavailable", fail fast, back-off) and comes
// back by itself; a rejected PIN is FAILED until restart.
//
// Thread safety: all methods may be called concurrently (signing is
// serialised on the key's one session).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strongroom::kms {

struct HsmParams;  // kms/pkcs11.h

class AuditSigningKey {
 public:
  virtual ~AuditSigningKey() = default;

  // The raw ECDSA P-256 signature (r||s, 64 bytes) of SHA-256(message), made
  // on the token. UNAVAILABLE ("hsm_unavailable") while the HSM cannot be
  // reached.
  virtual Result<std::string> SignSha256(std::string_view message) = 0;
  // The public key: the uncompressed point 0x04 || X || Y (65 bytes), read
  // from CKA_EC_POINT when the key was opened. audit::P256PublicKeyPem makes
  // the PEM of it.
  virtual const std::string& public_point() const = 0;
  virtual const std::string& label() const = 0;
  // PKCS#11 calls that did work so far.
  virtual std::uint64_t operations() const = 0;
};

// Loads the module, finds the token, logs in and finds the EC P-256 key pair
// `label` (CKO_PRIVATE_KEY, CKK_EC, sensitive, not extractable, may sign; the
// CKO_PUBLIC_KEY of that label holds the point). Never creates keys: a missing
// token or key is FAILED_PRECONDITION naming module, token and label
// ("hsm_token_not_found", "hsm_key_not_found"), an unusable key
// "hsm_key_invalid"; a wrong PIN "HSM login failed: CKR_PIN_INCORRECT".
// params.master_key_label is not used.
Result<std::unique_ptr<AuditSigningKey>> OpenAuditSigningKey(const HsmParams& params,
                                                             std::string_view label);

// Dev mode, tests and the key ceremony: creates the EC P-256 key pair `label`
// on the (already initialised) token if it has no private key of that label
// (private: sensitive, not extractable, private, sign only). Idempotent.
// Returns true if it created the pair.
Result<bool> ProvisionAuditSigningKey(const HsmParams& params, std::string_view label);

}  // namespace strongroom::kms
