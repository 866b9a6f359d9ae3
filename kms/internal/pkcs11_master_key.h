// Pkcs11MasterKey: the RSA master key pairs on a PKCS#11 token, by label.
//
// What is protected: the RSA private keys, which never leave the token
// (CKA_SENSITIVE, not CKA_EXTRACTABLE: AddKey refuses a key without both), and
// the user PIN, held in a SecretString only to log in again after a fault.
// How: wrapping uses a public key in software (read once when the pair is
// added); unwrapping is C_Decrypt with CKM_RSA_PKCS_OAEP (SHA-256,
// MGF1-SHA-256) inside the token. Tokens that reject SHA-256 OAEP parameters
// (SoftHSM2 2.6 accepts only SHA-1) are detected per key and used through
// CKM_RSA_X_509 instead: the private-key operation stays in the token and the
// OAEP-SHA-256 block is checked in software (constant time). The stored format
// is the same either way, so wrapped KEKs move between HSMs unchanged.
//
// Several pairs (a master-key rotation): each label is found, verified and
// probed once (AddKey; Unwrap adds an unknown label by itself), and re-found
// after every reconnect. Pairs are never dropped while the process runs.
//
// Faults (SPEC 11). A call failing with "session, login or device lost"
// (IsReconnectable) re-initialises PKCS#11 at once: Pkcs11Module::Reinitialize
// (C_Finalize + C_Initialize, once per outage for the whole process), open a
// session, log in, find every key again by label; then the call is retried
// once. If that fails the key is DOWN: calls needing the HSM fail fast with
// UNAVAILABLE "hsm_unavailable" (no HSM call) until a back-off delay has
// passed (retry_initial doubling up to retry_max, reset on success); the first
// call after it tries again, while concurrent callers keep failing fast (one
// re-initialisation at a time). A PIN the token rejects (CKR_PIN_INCORRECT,
// CKR_PIN_LOCKED, ...) or a missing mechanism is FAILED: reported on every
// call and never retried, so the server cannot lock the token's PIN; only a
// restart (with a fixed configuration) leaves it.
//
// Thread safety: one session, guarded by a mutex; unwraps are rare because
// KeyManagerImpl caches KEKs, so serialising them costs nothing. Wrap only
// reads the public keys (a shared lock) and never waits for the HSM.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "kms/internal/aead.h"
#include "kms/internal/master_key.h"
#include "kms/internal/pkcs11_module.h"
#include "kms/pkcs11.h"

namespace strongroom::kms::internal {

class Pkcs11MasterKey final : public MasterKey {
 public:
  // Loads the module, finds the token, logs in and adds the pair
  // params.master_key_label (AddKey's checks, plus one wrap/unwrap round trip
  // proving the pair matches). See OpenKeyManager for the error contract.
  static Result<std::unique_ptr<Pkcs11MasterKey>> Open(const HsmParams& params);

  Pkcs11MasterKey(const Pkcs11MasterKey&) = delete;
  Pkcs11MasterKey& operator=(const Pkcs11MasterKey&) = delete;
  ~Pkcs11MasterKey() override = default;

  const std::string& initial_label() const override { return params_.master_key_label; }
  Status AddKey(std::string_view label) override;
  Result<Bytes> Wrap(std::string_view label, std::span<const std::uint8_t> key) const override;
  Result<SecretBytes> Unwrap(std::string_view label,
                             std::span<const std::uint8_t> wrapped) override;
  // C_GetSessionInfo on the session (one counted HSM operation), recovering
  // if the session was lost; fails fast while DOWN (before the back-off
  // delay) or FAILED. While healthy it never waits for an HSM call in flight
  // (a slow unwrap): it reports healthy without probing.
  Status Check() override;
  std::uint64_t operations() const override { return ops_.load(std::memory_order_relaxed); }

  // True if the token does raw RSA for `label` and the OAEP block is checked
  // in software (false for an unknown label).
  bool software_oaep(std::string_view label) const;

 private:
  enum class Health { kHealthy, kDown, kFailed };
  struct KeyPair {
    explicit KeyPair(RsaOaepPublicKey key) : public_key(std::move(key)) {}
    const RsaOaepPublicKey public_key;
    bool software_oaep = false;                        // set before the pair is published
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;  // guarded by mu_
  };
  using CallLock = std::shared_lock<std::shared_mutex>;

  Pkcs11MasterKey(HsmParams params, std::shared_ptr<Pkcs11Module> module)
      : params_(std::move(params)), module_(std::move(module)), backoff_(params_.retry_initial) {}

  // Takes mu_ (unless `lock` owns it already) for a call that needs the HSM,
  // or explains why not: FAILED, or DOWN before its retry time, or another
  // thread re-initialising. Recovers first if DOWN and the retry time has passed.
  Status Enter(std::unique_lock<std::mutex>* lock, CallLock* calls);
  // Re-initialises PKCS#11 and reconnects; on failure marks the key DOWN
  // (with back-off) or FAILED. Needs mu_; `calls` is released around
  // Pkcs11Module::Reinitialize.
  Status RecoverLocked(CallLock* calls);
  // Opens a session on the token, logs in and finds the private key of every
  // added pair. Needs mu_ and the call lock.
  Status ConnectLocked();
  // Finds, verifies and probes the pair `label`; publishes it in keys_.
  Status LoadKeyLocked(const std::string& label);
  Result<SecretBytes> DecryptLocked(KeyPair& pair, std::span<const std::uint8_t> wrapped,
                                    CK_RV* rv_out);
  // LoadKeyLocked, recovering and trying once more if the HSM was lost.
  Status AddKeyLocked(const std::string& label, CallLock* calls);
  // Marks the key DOWN (retry after the back-off delay) or, if `permanent`,
  // FAILED, with `why`; returns DownStatus(). Needs mu_.
  Status MarkDownLocked(std::string why, bool permanent);
  // The status a call gets while DOWN or FAILED.
  Status DownStatus() const;
  KeyPair* FindPair(std::string_view label) const;
  // "(module M, token "T")" for messages.
  std::string Where() const;

  const HsmParams params_;
  const std::shared_ptr<Pkcs11Module> module_;
  mutable std::atomic<std::uint64_t> ops_{0};

  // Published pairs: added under mu_ and keys_mu_, read under either.
  mutable std::shared_mutex keys_mu_;
  std::map<std::string, std::unique_ptr<KeyPair>, std::less<>> keys_;

  std::mutex mu_;
  std::optional<Pkcs11Session> session_;  // guarded by mu_
  std::uint64_t module_generation_ = 0;   // guarded by mu_; of session_
  CK_RV last_login_rv_ = CKR_OK;          // guarded by mu_; of the last ConnectLocked
  std::chrono::milliseconds backoff_;     // guarded by mu_; the next DOWN delay

  // Written under mu_; read without it on the fail-fast path.
  std::atomic<Health> health_{Health::kHealthy};
  std::atomic<bool> recovering_{false};
  std::atomic<std::int64_t> retry_at_ns_{0};  // steady_clock; while DOWN
  mutable std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_; why DOWN or FAILED
};

// True for the CK_RVs that mean "session, login or device lost": re-initialise
// and retry once.
bool IsReconnectable(CK_RV rv);
// True for login results that must never be retried (the PIN was rejected).
bool IsPinRejected(CK_RV rv);

}  // namespace strongroom::kms::internal
