// KeyManager: the key hierarchy of SPEC 7 behind one small interface.
//
//   master key (RSA-3072, in the HSM, never leaves it)
//     └─ identity KEK (AES-256, stored wrapped with RSA-OAEP-SHA256)
//          └─ credential DEK (AES-256, fresh per write, stored wrapped with AES-KWP, RFC 5649)
//               └─ data (AES-256-GCM, 96-bit random nonce, AAD = identity|name|type|version)
//
// What is protected: credential plaintext and every key below the master key.
// From whom: anyone holding the database (or its backups) without the HSM.
// How: only the HSM can unwrap a KEK; unwrapped KEKs, and a bounded cache of
// recently used unwrapped DEKs, live in locked memory in this process that is
// wiped on eviction (Evict, or cache replacement) and on destruction
// (kms/key_manager_impl.h); any other plaintext DEK exists only for the
// duration of one call.
//
// Master keys (SPEC 11): the key manager knows one or more master key pairs by
// label. One is ACTIVE: new KEKs (NewKek, NewWrappedKek, RewrapKek) are
// wrapped under it. A KEK is always unwrapped under the label it names
// (KekRef::master_key_label), so KEKs wrapped under a previous master key keep
// opening during and after a rotation. Unwrapped KEKs are cached by
// (identity, KEK version): rewrapping a KEK under another master key does not
// change it, and a rotated KEK has a new version, so no cached key is ever
// stale.
//
// HSM faults (SPEC 11): operations served from cached keys need no HSM call
// and keep working while the HSM is down; those that need it fail with
// UNAVAILABLE "hsm_unavailable" (503 + Retry-After at the API) until the key
// manager has re-initialised PKCS#11 by itself. A PIN the token rejects is
// reported, never retried.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom::kms {

using Bytes = std::vector<std::uint8_t>;

// What the key manager needs to find (or unwrap) an identity's KEK.
struct KekRef {
  std::int64_t identity_id = 0;
  std::int32_t kek_version = 1;
  // Not owned; must outlive the call. Required: with a cold cache a null
  // pointer is INVALID_ARGUMENT.
  const Bytes* wrapped_kek = nullptr;
  // Label of the master key `wrapped_kek` is wrapped under; empty means the
  // key manager's initial label (HsmParams::master_key_label). Not owned.
  std::string_view master_key_label;
};

// A KEK wrapped under a master key, and that key's label (store both).
struct WrappedKek {
  Bytes wrapped;
  std::string master_key_label;
};

// Sealed credential data.
struct Envelope {
  Bytes ciphertext;   // nonce(12) || ciphertext || tag(16)
  Bytes wrapped_dek;  // RFC 5649 AES-256 key wrap with padding under the KEK
};

// Builds the AEAD additional data that binds a ciphertext to its row:
// identity, name, type and version, length-prefixed so no two tuples collide.
std::string CredentialAad(std::int64_t identity_id, std::string_view name, std::string_view type,
                          std::int64_t version);

// Counts of the key caches since start (SPEC 14 key_cache metrics). A KEK
// lookup that finds no unwrapped KEK is a miss (an HSM unwrap follows unless a
// concurrent caller's lands first); a DEK lookup in Open likewise.
struct KeyCacheCounts {
  std::uint64_t kek_hits = 0;
  std::uint64_t kek_misses = 0;
  std::uint64_t dek_hits = 0;
  std::uint64_t dek_misses = 0;
};

// Told the wall time of each call the key manager makes to its master key in
// the HSM (KEK unwrap, KEK wrap, the CheckHsm probe), e.g. for a histogram.
// Called on the calling thread, possibly concurrently: must be thread-safe.
class HsmObserver {
 public:
  virtual ~HsmObserver() = default;
  virtual void ObserveHsmCall(double seconds) = 0;
};

class KeyManager {
 public:
  virtual ~KeyManager() = default;

  // A fresh random identity KEK, returned wrapped under the active master
  // public key. Needs no HSM private-key operation. Prefer NewKek, which also
  // says which label that was (the active key may change at any time).
  virtual Result<Bytes> NewWrappedKek() = 0;

  // Encrypts `plaintext` under a fresh DEK wrapped by the identity's KEK.
  virtual Result<Envelope> Seal(const KekRef& kek, std::string_view plaintext,
                                std::string_view aad) = 0;

  // Decrypts an envelope. A tampered, moved or mis-bound ciphertext is
  // DATA_LOSS ("integrity_error"), never garbage.
  virtual Result<SecretBytes> Open(const KekRef& kek, const Envelope& envelope,
                                   std::string_view aad) = 0;

  // Drops (and wipes) the cached KEKs and DEKs of an identity, e.g. when it is
  // deleted or its KEK is rotated.
  virtual void Evict(std::int64_t identity_id) = 0;

  // OK when the HSM session is usable (re-establishing it if it was lost),
  // else UNAVAILABLE "hsm_unavailable". The probe (one HSM call,
  // C_GetSessionInfo) runs at most once a second; calls in between return its
  // cached result (SPEC 5 /readyz).
  virtual Status CheckHsm() = 0;

  // Number of PKCS#11 calls that did work (logins, session opens, finds,
  // unwraps, and the CheckHsm probe) since start.
  virtual std::uint64_t hsm_operations() const = 0;

  // Cache hits and misses since start; a key manager without caches reports zeros.
  virtual KeyCacheCounts cache_counts() const { return {}; }

  // Sets (or, with null, clears) the observer of HSM calls. Not owned; it
  // must outlive the key manager or be cleared first.
  virtual void set_hsm_observer(HsmObserver* observer) { (void)observer; }

  // --- Master keys and rotation (SPEC 11). The defaults suit a fake key
  // manager with a single master key.

  // A fresh random identity KEK wrapped under the active master key, with
  // that key's label.
  virtual Result<WrappedKek> NewKek() {
    Result<Bytes> wrapped = NewWrappedKek();
    if (!wrapped.ok()) return wrapped.status();
    return WrappedKek{std::move(*wrapped), active_master_key_label()};
  }

  // The label new KEKs are wrapped under.
  virtual std::string active_master_key_label() const { return {}; }

  // Finds the key pair `label` on the token (verified like the initial key)
  // and makes it active for new wraps. Idempotent. FAILED_PRECONDITION
  // ("hsm_key_not_found", "hsm_key_invalid") if the token has no usable pair
  // of that label; UNAVAILABLE ("hsm_unavailable") if the HSM is down. The
  // previous active key stays usable for unwrapping.
  virtual Status SetActiveMasterKey(std::string_view label) {
    return FailedPreconditionError("master key \"" + std::string(label) + "\" not supported",
                                   "hsm_key_not_found");
  }

  // Makes the key pair `label` usable for unwrapping without activating it
  // (Open does this by itself for a KEK naming an unknown label). Errors as
  // SetActiveMasterKey.
  virtual Status AddMasterKey(std::string_view label) { return SetActiveMasterKey(label); }

  // The KEK of `kek` (under kek.master_key_label) wrapped again under the
  // active master key: an HSM unwrap when the KEK is not cached, then a
  // software wrap. The KEK itself and its version do not change, so DEKs and
  // caches stay valid.
  virtual Result<WrappedKek> RewrapKek(const KekRef& kek) {
    (void)kek;
    return FailedPreconditionError("master key rotation not supported", "hsm_key_not_found");
  }

  // KEK rotation: the DEK of `wrapped_dek`, unwrapped with `from` and wrapped
  // again with `to` (AES-KWP, RFC 5649); the data is not re-encrypted. `to` is
  // typically a NewKek() under kek_version + 1. DATA_LOSS ("integrity_error")
  // if `wrapped_dek` does not unwrap under `from`.
  virtual Result<Bytes> RewrapDek(const KekRef& from, const KekRef& to, const Bytes& wrapped_dek) {
    (void)from;
    (void)to;
    (void)wrapped_dek;
    return FailedPreconditionError("KEK rotation not supported", "hsm_key_not_found");
  }
};

}  // namespace strongroom::kms
