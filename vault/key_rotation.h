// Key lifecycle use cases (SPEC 11): master-key status, rotation and
// retirement, identity KEK rotation, and the key-state sync every process
// (server and admin CLI) runs so that it wraps new KEKs under the database's
// active master key.
//
// What is protected: the availability of every credential across a rotation.
// Nothing is re-encrypted: a master-key rotation rewraps identity KEKs (one
// identity per store write, compare-and-set, so a concurrent KEK rotation or
// delete is never overwritten); a KEK rotation rewraps DEKs (one credential
// per store transaction). Both are idempotent and resumable: a rerun after an
// interruption (kill -9) picks up what is left. Servers keep serving
// throughout: KEKs name the master key that wraps them, credentials name the
// KEK version that wraps their DEK, and the store refuses a credential
// written under a KEK version that is no longer current (vault/vault.cc
// re-reads the identity and seals again).
//
// Thread safety: stateless functions; the store and key manager are the
// caller's and must be safe for the calls made.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "model/credential.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault {

// Seeds the database's key state with the key manager's active label (the
// configured hsm.master_key_label) if it has none, then makes the key manager
// wrap new KEKs under the database's active master key. Returns that label.
// Errors of the store, or of the key manager finding the key on the token.
Result<std::string> SyncMasterKeys(store::CredentialStore& store, kms::KeyManager& keys,
                                   const Clock& clock);

// One line of `master-key status`.
struct MasterKeyStatus {
  std::string label;
  model::MasterKeyState state = model::MasterKeyState::kActive;
  std::int64_t keks = 0;  // identity KEKs (current or previous) wrapped under it
};
// Every known master key, oldest first.
Result<std::vector<MasterKeyStatus>> MasterKeyStatuses(store::CredentialStore& store);

struct RotationOptions {
  bool dry_run = false;  // count what would be rewrapped; change nothing
  // Told after each identity (master key) or credential (KEK) rewrapped:
  // (done, total). Optional.
  std::function<void(std::int64_t done, std::int64_t total)> progress;
  // Tests: stop with ABORTED after this many rewraps, as a kill would (< 0: never).
  std::int64_t stop_after = -1;
};

struct MasterKeyRotation {
  std::string label;
  std::int64_t identities = 0;  // identities in the database
  std::int64_t pending = 0;     // whose KEKs were (or, in a dry run, would be) rewrapped
  std::int64_t rewrapped = 0;
};
// Makes `new_label` (a pair already on the token) the active master key,
// then rewraps every identity KEK not yet under it. FAILED_PRECONDITION
// ("hsm_key_not_found", "hsm_key_invalid") if the token has no usable pair;
// ("master_key_retired") for a retired label.
Result<MasterKeyRotation> RotateMasterKey(store::CredentialStore& store, kms::KeyManager& keys,
                                          std::string_view new_label,
                                          const RotationOptions& options, const Clock& clock);

// Marks `label` retired: the store's refusals (active, KEKs still under it:
// FAILED_PRECONDITION naming the count; unknown: NOT_FOUND). Destroying the
// pair on the token is the caller's (kms::DestroyMasterKeyPair), after this.
Status RetireMasterKey(store::CredentialStore& store, std::string_view label, const Clock& clock);

struct KekRotation {
  std::string identity;
  std::int32_t kek_version = 0;  // the new KEK's version
  bool resumed = false;          // finished a rotation an earlier run began
  std::int64_t pending = 0;      // credentials under the previous KEK when this run began
  std::int64_t rewrapped = 0;
};
// A new KEK for identity `name` (version + 1, under the active master key);
// every DEK of the identity is rewrapped under it, then the old KEK is
// dropped. If a previous run was interrupted, finishes that rotation instead
// of starting another. NOT_FOUND for an unknown identity.
Result<KekRotation> RotateIdentityKek(store::CredentialStore& store, kms::KeyManager& keys,
                                      std::string_view name, const RotationOptions& options,
                                      const Clock& clock);

}  // namespace strongroom::vault
