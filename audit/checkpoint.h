// Signed checkpoints of the audit chains (SPEC 12).
//
// A checkpoint commits to a chain's head: the HSM's ECDSA P-256 key signs
// `strongroom-audit/<server>\n<seq>\n<hash>\n` (ECDSA over SHA-256). Kept in the database and
// in `audit.checkpoint_file`, one JSON line each, it lets the offline verifier detect that the
// newest events were deleted or the chain rewritten after the checkpoint was made: the hash of
// any event depends on every event before it, and nobody without the HSM can sign a new head.
//
// The signing key never leaves the HSM: its CheckpointSigner lives in kms/ (CKM_ECDSA, which
// returns raw r||s: EcdsaRawToDer turns that into the DER stored here). This file has the
// message and record formats, the signature conversions and verification with a public key.
//
// Thread safety: values and pure functions; CheckpointKey is immutable and safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "audit/chain.h"
#include "base/result.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace strongroom::audit {

// One checkpoint line: {"server","seq","hash","time","signature"} in this order.
struct Checkpoint {
  std::string server;
  std::int64_t seq = 0;
  std::string hash;       // the hash of event `seq` of `server`
  std::string time;       // RFC 3339 UTC, ms; when it was signed (not itself signed)
  std::string signature;  // base64 (RFC 4648, padded) of the DER ECDSA-SHA256 signature

  bool operator==(const Checkpoint&) const = default;
};

// The signed message: "strongroom-audit/<server>\n<seq>\n<hash>\n".
std::string CheckpointMessage(std::string_view server, std::int64_t seq, std::string_view hash);

// The checkpoint as one compact JSON object, without a newline.
std::string CheckpointJsonLine(const Checkpoint& checkpoint);

// Parses one checkpoint line. InvalidArgument if it is not a JSON object with exactly the
// five keys (none missing, unknown or repeated), seq >= 1, hash 64 lowercase hex digits,
// time RFC 3339, or signature not canonical base64. The signature is not checked here.
Result<Checkpoint> ParseCheckpointLine(std::string_view line);

// Signs checkpoint messages. The production implementation is the HSM's (kms/); audit/
// software_signer.h has one over an in-memory key for tests and tools.
// Thread safety: as the implementation documents; the checkpoint writer calls it from one
// thread.
class CheckpointSigner {
 public:
  virtual ~CheckpointSigner() = default;
  // The DER (RFC 3279 Ecdsa-Sig-Value) ECDSA signature of SHA-256(message), P-256 key.
  virtual Result<std::string> Sign(std::string_view message) = 0;
};

// Signs `head` of `server`'s chain (head.seq >= 1) and returns the checkpoint, stamped `time`
// (FormatRfc3339 of the caller's clock). Errors are the signer's, or InvalidArgument for an
// empty head.
Result<Checkpoint> MakeCheckpoint(CheckpointSigner& signer, std::string_view server,
                                  const ChainHead& head, std::string time);

// PKCS#11 CKM_ECDSA (v2.40 section 2.3.1) returns r||s, each 32 bytes for P-256; X.509 and
// OpenSSL use DER. InvalidArgument unless `raw` is 64 bytes with r and s non-zero.
Result<std::string> EcdsaRawToDer(std::string_view raw);
// The inverse: a DER P-256 ECDSA signature as 64 bytes r||s. InvalidArgument if malformed.
Result<std::string> EcdsaDerToRaw(std::string_view der);

// PEM (SubjectPublicKeyInfo) of the P-256 public key with uncompressed point `point`
// (0x04 || X || Y, 65 bytes: the value inside PKCS#11 CKA_EC_POINT's DER OCTET STRING).
// For `admin audit public-key`. InvalidArgument if the point is not on the curve.
Result<std::string> P256PublicKeyPem(std::string_view point);

// Owns an OpenSSL EVP_PKEY (a key of CheckpointKey or SoftwareCheckpointSigner).
struct EvpPkeyFree {
  void operator()(evp_pkey_st* key) const noexcept;
};
using EvpPkeyHandle = std::unique_ptr<evp_pkey_st, EvpPkeyFree>;

// The public half of the checkpoint key, for verification.
class CheckpointKey final {
 public:
  // InvalidArgument unless `pem` is a PEM public key (SubjectPublicKeyInfo) on P-256.
  static Result<CheckpointKey> FromPem(std::string_view pem);

  CheckpointKey(CheckpointKey&&) noexcept = default;
  CheckpointKey& operator=(CheckpointKey&&) noexcept = default;

  // True if `checkpoint.signature` is a valid signature of its CheckpointMessage.
  bool Verify(const Checkpoint& checkpoint) const;
  // True if `der_signature` is a valid ECDSA-SHA256 signature of `message`.
  bool VerifyMessage(std::string_view message, std::string_view der_signature) const;

 private:
  explicit CheckpointKey(EvpPkeyHandle key) : key_(std::move(key)) {}

  EvpPkeyHandle key_;
};

}  // namespace strongroom::audit
