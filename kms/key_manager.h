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

class KeyManager {
 public:
  virtual ~KeyManager() = default;

  // A fresh random identity KEK, returned wrapped under the master public key.
  // Needs no HSM private-key operation.
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

  // OK when the HSM session is usable (re-establishing it if it was lost).
  // Costs one HSM call (C_GetSessionInfo), so callers such as /readyz should
  // not call it on a hot path.
  virtual Status CheckHsm() = 0;

  // Number of PKCS#11 calls that did work (logins, session opens, finds,
  // unwraps, and the CheckHsm probe) since start.
  virtual std::uint64_t hsm_operations() const = 0;
};

}  // namespace strongroom::kms
