// A CheckpointSigner over an ECDSA P-256 key in process memory: for tests, and for tools that
// need checkpoints without an HSM. Production signs on the HSM (kms/), where the key cannot
// be read out; this key can, so never use it for a server's real audit log.
//
// Thread safety: Sign and PublicKeyPem are safe to call concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "audit/checkpoint.h"
#include "base/result.h"

namespace strongroom::audit {

class SoftwareCheckpointSigner final : public CheckpointSigner {
 public:
  // A fresh random P-256 key.
  static Result<std::unique_ptr<SoftwareCheckpointSigner>> Generate();

  SoftwareCheckpointSigner(const SoftwareCheckpointSigner&) = delete;
  SoftwareCheckpointSigner& operator=(const SoftwareCheckpointSigner&) = delete;

  // DER ECDSA-SHA256 signature of `message`.
  Result<std::string> Sign(std::string_view message) override;

  // The public key, PEM SubjectPublicKeyInfo (what `admin audit public-key` prints).
  Result<std::string> PublicKeyPem() const;

 private:
  explicit SoftwareCheckpointSigner(EvpPkeyHandle key) : key_(std::move(key)) {}

  EvpPkeyHandle key_;
};

}  // namespace strongroom::audit
