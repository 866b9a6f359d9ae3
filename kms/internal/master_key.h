// MasterKey: the root of the key hierarchy, as KeyManagerImpl sees it.
// The production implementation is Pkcs11MasterKey; tests may use a software one.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.h"
#include "base/secret.h"
#include "kms/key_manager.h"

namespace strongroom::kms::internal {

// Thread safety: all methods are safe to call concurrently.
class MasterKey {
 public:
  virtual ~MasterKey() = default;
  // Encrypts `key` to the master public key (RSA-OAEP, SHA-256). Software only.
  virtual Result<Bytes> Wrap(std::span<const std::uint8_t> key) const = 0;
  // Decrypts with the private key. DATA_LOSS if `wrapped` is not a valid
  // wrapping under this master key; UNAVAILABLE if the HSM cannot be reached.
  virtual Result<SecretBytes> Unwrap(std::span<const std::uint8_t> wrapped) = 0;
  // OK if the key is usable now (may reconnect).
  virtual Status Check() = 0;
  // Private-key-side operations performed so far (HSM calls).
  virtual std::uint64_t operations() const = 0;
};

}  // namespace strongroom::kms::internal
