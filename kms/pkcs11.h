// Opening the PKCS#11 master key, and provisioning tokens for dev mode and tests.
//
// Any PKCS#11 module works (SoftHSM2, network HSMs). For SoftHSM2 the caller sets
// SOFTHSM2_CONF in the environment before the first call that loads the module.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "kms/key_manager.h"

namespace strongroom::kms {

struct HsmParams {
  std::string module_path;  // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;
  SecretString pin;              // user PIN
  std::string master_key_label;  // the initial (and, alone, the active) master key
  // Back-off between re-initialisations while the HSM is down (SPEC 11): the
  // first retry waits retry_initial, each failed one doubles it up to retry_max.
  std::chrono::milliseconds retry_initial{100};
  std::chrono::milliseconds retry_max{5000};
};

// Loads the module, finds the token by label, logs in, finds the RSA master
// key pair by label, and returns a KeyManager over it. Never creates keys:
// a missing token or key is FAILED_PRECONDITION naming module, token and label;
// a wrong PIN is a one-line error ("HSM login failed: CKR_PIN_INCORRECT").
Result<std::unique_ptr<KeyManager>> OpenKeyManager(const HsmParams& params);

// Dev mode and tests only: initialises a token with `token_label` on a free
// slot if none has that label yet (SO PIN and user PIN set), then creates the
// RSA-3072 master key pair (private: sensitive, not extractable, private) if
// none has `master_key_label`. Idempotent. Returns true if anything was created.
Result<bool> ProvisionToken(const HsmParams& params, const SecretString& so_pin);

// `master-key retire --destroy` (SPEC 11): destroys both halves of the RSA
// pair `label` on the token of `params` (C_DestroyObject), in a session of its
// own. OK if neither half is there (destroyed already). The caller must have
// made sure no KEK is wrapped under it any more. FAILED_PRECONDITION for a
// missing token or a rejected login or destroy.
Status DestroyMasterKeyPair(const HsmParams& params, std::string_view label);

}  // namespace strongroom::kms
