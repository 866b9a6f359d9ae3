// MasterKey: the root of the key hierarchy, as KeyManagerImpl sees it: one or
// more RSA key pairs, each named by its label (several during a rotation).
// The production implementation is Pkcs11MasterKey; tests may use a software one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "kms/key_manager.h"

namespace strongroom::kms::internal {

// Thread safety: all methods are safe to call concurrently.
class MasterKey {
 public:
  virtual ~MasterKey() = default;
  // The label the master key was opened with (the default for KekRefs that
  // name none).
  virtual const std::string& initial_label() const = 0;
  // Finds and verifies the key pair `label` so Wrap and Unwrap can use it; OK
  // at once if it already can. FAILED_PRECONDITION ("hsm_key_not_found",
  // "hsm_key_invalid") if the token has no usable pair of that label;
  // UNAVAILABLE ("hsm_unavailable") if the HSM cannot be reached.
  virtual Status AddKey(std::string_view label) = 0;
  // Encrypts `key` to the public key of `label` (RSA-OAEP, SHA-256). Software
  // only; FAILED_PRECONDITION if `label` was never added.
  virtual Result<Bytes> Wrap(std::string_view label, std::span<const std::uint8_t> key) const = 0;
  // Decrypts with the private key of `label` (added first if needed).
  // DATA_LOSS if `wrapped` is not a valid wrapping under that key; UNAVAILABLE
  // ("hsm_unavailable") if the HSM cannot be reached.
  virtual Result<SecretBytes> Unwrap(std::string_view label,
                                     std::span<const std::uint8_t> wrapped) = 0;
  // OK if the HSM is usable now (may reconnect).
  virtual Status Check() = 0;
  // Private-key-side operations performed so far (HSM calls).
  virtual std::uint64_t operations() const = 0;
};

}  // namespace strongroom::kms::internal
