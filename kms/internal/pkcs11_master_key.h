// Pkcs11MasterKey: the RSA master key pair on a PKCS#11 token.
//
// What is protected: the RSA private key, which never leaves the token
// (CKA_SENSITIVE, not CKA_EXTRACTABLE: Open refuses a key without both), and
// the user PIN, held in a SecretString only to log in again after a lost session.
// How: wrapping uses the public key in software (read once at Open); unwrapping
// is C_Decrypt with CKM_RSA_PKCS_OAEP (SHA-256, MGF1-SHA-256) inside the token.
// Tokens that reject SHA-256 OAEP parameters (SoftHSM2 2.6 accepts only SHA-1)
// are detected at Open and used through CKM_RSA_X_509 instead: the private-key
// operation stays in the token and the OAEP-SHA-256 block is checked in
// software (constant time). The stored format is the same either way, so
// wrapped KEKs move between HSMs unchanged. The decoded block reveals nothing
// beyond the KEK it carries, which this process holds anyway.
//
// Thread safety: one session, guarded by a mutex; unwraps are rare because
// KeyManagerImpl caches KEKs, so serialising them costs nothing.
// Reconnect: when a call fails with a "session or device lost" code
// (CKR_SESSION_HANDLE_INVALID, CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN,
// CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT, CKR_DEVICE_ERROR, or a stale
// key/object handle), the session is reopened, logged in, the key re-found,
// and the call retried once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kms/internal/aead.h"
#include "kms/internal/master_key.h"
#include "kms/internal/pkcs11_module.h"
#include "kms/pkcs11.h"

namespace strongroom::kms::internal {

class Pkcs11MasterKey final : public MasterKey {
 public:
  // Loads the module, finds the token, logs in, finds the key pair, checks the
  // private key's attributes, reads the public key and proves the pair matches
  // with one wrap/unwrap round trip. See OpenKeyManager for the error contract.
  static Result<std::unique_ptr<Pkcs11MasterKey>> Open(const HsmParams& params);

  Pkcs11MasterKey(const Pkcs11MasterKey&) = delete;
  Pkcs11MasterKey& operator=(const Pkcs11MasterKey&) = delete;
  ~Pkcs11MasterKey() override = default;

  Result<Bytes> Wrap(std::span<const std::uint8_t> key) const override;
  Result<SecretBytes> Unwrap(std::span<const std::uint8_t> wrapped) override;
  // C_GetSessionInfo on the session (one counted HSM operation), reconnecting
  // if the session was lost.
  Status Check() override;
  std::uint64_t operations() const override { return ops_.load(std::memory_order_relaxed); }

  // True if the token does raw RSA and the OAEP block is checked in software.
  bool software_oaep() const { return software_oaep_; }

 private:
  Pkcs11MasterKey(HsmParams params, std::shared_ptr<Pkcs11Module> module)
      : params_(std::move(params)), module_(std::move(module)) {}

  // Opens a session on the token, logs in and finds the private key.
  // Requires mu_ held (or exclusive access during Open).
  Status ConnectLocked();
  // Ends the current session after `rv` said it is broken.
  void DropSessionLocked(CK_RV rv);
  Result<SecretBytes> DecryptLocked(std::span<const std::uint8_t> wrapped, CK_RV* rv_out);
  // One decrypt, reconnecting and retrying once if the session was lost.
  Result<SecretBytes> UnwrapLocked(std::span<const std::uint8_t> wrapped);
  // "(module M, token "T")" for messages.
  std::string Where() const;

  const HsmParams params_;
  const std::shared_ptr<Pkcs11Module> module_;
  std::optional<RsaOaepPublicKey> public_key_;  // set once in Open, then read-only
  bool software_oaep_ = false;                  // set once in Open, then read-only
  mutable std::atomic<std::uint64_t> ops_{0};

  std::mutex mu_;
  std::optional<Pkcs11Session> session_;              // guarded by mu_
  CK_OBJECT_HANDLE private_key_ = CK_INVALID_HANDLE;  // guarded by mu_
};

// True for the CK_RVs that mean "session, login or device lost": reconnect and retry once.
bool IsReconnectable(CK_RV rv);

}  // namespace strongroom::kms::internal
