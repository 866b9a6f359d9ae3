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
// Faults (SPEC 11): through Pkcs11Connection (kms/internal/pkcs11_connection.h):
// a lost session, login or device re-initialises PKCS#11, reconnects, finds
// every pair's private key again by label and retries the call once; then the
// key is DOWN (fail fast, back-off) or, for a rejected PIN or a missing
// mechanism, FAILED until restart.
//
// Thread safety: one session, guarded by a mutex; unwraps are rare because
// KeyManagerImpl caches KEKs, so serialising them costs nothing. Wrap only
// reads the public keys (a shared lock) and never waits for the HSM.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "kms/internal/aead.h"
#include "kms/internal/master_key.h"
#include "kms/internal/pkcs11_connection.h"
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

  const std::string& initial_label() const override { return initial_label_; }
  Status AddKey(std::string_view label) override;
  Result<Bytes> Wrap(std::string_view label, std::span<const std::uint8_t> key) const override;
  Result<SecretBytes> Unwrap(std::string_view label,
                             std::span<const std::uint8_t> wrapped) override;
  // C_GetSessionInfo on the session (one counted HSM operation), recovering
  // if the session was lost; fails fast while DOWN (before the back-off
  // delay) or FAILED.
  Status Check() override;
  std::uint64_t operations() const override { return connection_->operations(); }

  // True if the token does raw RSA for `label` and the OAEP block is checked
  // in software (false for an unknown label).
  bool software_oaep(std::string_view label) const;

 private:
  struct KeyPair {
    explicit KeyPair(RsaOaepPublicKey key) : public_key(std::move(key)) {}
    const RsaOaepPublicKey public_key;
    bool software_oaep = false;                        // set before the pair is published
    CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;  // guarded by the connection's mutex
  };
  using CallLock = Pkcs11Connection::CallLock;

  explicit Pkcs11MasterKey(std::string initial_label) : initial_label_(std::move(initial_label)) {}

  // The connection's OnConnect: finds the private key of every added pair.
  Status FindKeys(Pkcs11Session& session);
  // Finds, verifies and probes the pair `label`; publishes it in keys_. Needs
  // the connection's mutex and the call lock.
  Status LoadKeyLocked(const std::string& label);
  Result<SecretBytes> DecryptLocked(KeyPair& pair, std::span<const std::uint8_t> wrapped,
                                    CK_RV* rv_out);
  // LoadKeyLocked, recovering and trying once more if the HSM was lost.
  Status AddKeyLocked(const std::string& label, CallLock* calls);
  KeyPair* FindPair(std::string_view label) const;
  std::string Where() const { return connection_->Where(); }

  const std::string initial_label_;
  std::unique_ptr<Pkcs11Connection> connection_;  // set by Open, then never changed

  // Published pairs: added under the connection's mutex and keys_mu_, read
  // under either.
  mutable std::shared_mutex keys_mu_;
  std::map<std::string, std::unique_ptr<KeyPair>, std::less<>> keys_;
};

}  // namespace strongroom::kms::internal
