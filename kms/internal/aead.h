// Software half of the key hierarchy (SPEC 7): AES key wrap with padding for
// DEKs, AES-256-GCM for data, RSA-OAEP(SHA-256) encryption to the master public
// key. Folder-private; everything here is EVP-only OpenSSL 3.
//
// Thread safety: free functions are reentrant; an RsaOaepPublicKey may be used
// concurrently (EVP_PKEY is read-only after construction, each call makes its
// own EVP_PKEY_CTX).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"
#include "kms/internal/openssl_util.h"
#include "kms/key_manager.h"

namespace strongroom::kms::internal {

using ByteSpan = std::span<const std::uint8_t>;

inline constexpr std::size_t kAes256KeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;  // NIST SP 800-38D 5.2.1.1, 96-bit IV
inline constexpr std::size_t kGcmTagBytes = 16;

// The one message for every failure to open a credential envelope, so that a
// wrong KEK, a bad wrapped DEK and a forged tag are indistinguishable.
inline constexpr std::string_view kIntegrityMessage = "credential failed integrity check";

// RFC 5649 AES key wrap with padding (OpenSSL EVP_aes_*_wrap_pad). `kek` may be
// 16, 24 or 32 bytes so the RFC 5649 section 6 vectors (192-bit KEK) run through
// this same code; the vault only ever uses 32. INVALID_ARGUMENT on a bad KEK
// size or an empty key.
Result<Bytes> AesKeyWrapPad(ByteSpan kek, ByteSpan key);
// Inverse of AesKeyWrapPad; any failure (length, integrity check value) is
// DATA_LOSS with kIntegrityMessage.
Result<SecretBytes> AesKeyUnwrapPad(ByteSpan kek, ByteSpan wrapped);

// AES-256-GCM with the given 12-byte nonce; returns nonce || ciphertext || tag.
Result<Bytes> AesGcmSeal(ByteSpan key, ByteSpan nonce, std::string_view plaintext,
                         std::string_view aad);
// Verifies and decrypts nonce || ciphertext || tag; DATA_LOSS on any failure.
Result<SecretBytes> AesGcmOpen(ByteSpan key, ByteSpan sealed, std::string_view aad);

// Envelope encryption under an identity KEK: fresh random DEK, random nonce.
Result<Envelope> SealWithKek(ByteSpan kek, std::string_view plaintext, std::string_view aad);
// DATA_LOSS (kIntegrityMessage, "integrity_error") on any failure.
Result<SecretBytes> OpenWithKek(ByteSpan kek, const Envelope& envelope, std::string_view aad);

// The halves of SealWithKek/OpenWithKek, for a caller that keeps unwrapped
// DEKs (KeyManagerImpl's DEK cache). OpenWithKek is UnwrapDek then OpenWithDek.
//
// SealWithKek with a caller-chosen 32-byte DEK (normally RandomSecretBytes).
Result<Envelope> SealWithDek(ByteSpan kek, ByteSpan dek, std::string_view plaintext,
                             std::string_view aad);
// The 32-byte DEK of `wrapped_dek` under `kek`; DATA_LOSS (kIntegrityMessage)
// if it does not unwrap to exactly 32 bytes.
Result<SecretBytes> UnwrapDek(ByteSpan kek, ByteSpan wrapped_dek);
// AES-256-GCM open of envelope.ciphertext with an already unwrapped DEK
// (envelope.wrapped_dek is not looked at); DATA_LOSS (kIntegrityMessage) on
// any failure.
Result<SecretBytes> OpenWithDek(ByteSpan dek, const Envelope& envelope, std::string_view aad);

// An RSA public key used to wrap identity KEKs with RSA-OAEP, SHA-256 as both
// the OAEP digest and the MGF1 digest (RFC 8017 7.1), matching what the HSM
// decrypts with CKM_RSA_PKCS_OAEP{CKM_SHA256, CKG_MGF1_SHA256}.
class RsaOaepPublicKey final {
 public:
  // From big-endian modulus and public exponent (CKA_MODULUS,
  // CKA_PUBLIC_EXPONENT). FAILED_PRECONDITION if the modulus is under 3072 bits.
  static Result<RsaOaepPublicKey> FromComponents(ByteSpan modulus, ByteSpan exponent);
  // Test helper: the public half of an existing (software) key.
  static Result<RsaOaepPublicKey> FromPkey(EVP_PKEY* pkey);

  RsaOaepPublicKey(RsaOaepPublicKey&&) noexcept = default;
  RsaOaepPublicKey& operator=(RsaOaepPublicKey&&) noexcept = default;

  Result<Bytes> Encrypt(ByteSpan plaintext) const;
  std::size_t modulus_bytes() const { return modulus_bytes_; }

 private:
  RsaOaepPublicKey(EvpPkeyPtr pkey, std::size_t modulus_bytes)
      : pkey_(std::move(pkey)), modulus_bytes_(modulus_bytes) {}
  EvpPkeyPtr pkey_;
  std::size_t modulus_bytes_ = 0;
};

// Decodes a raw RSA decryption result (m, up to `modulus_bytes` long) as an
// RSA-OAEP SHA-256/MGF1-SHA-256 block with an empty label (RFC 8017 7.1.2,
// steps 3-4), in constant time. DATA_LOSS if it is not a valid block.
Result<SecretBytes> OaepSha256Decode(ByteSpan block, std::size_t modulus_bytes);

// Configures `ctx` (after EVP_PKEY_{en,de}crypt_init) for OAEP SHA-256/MGF1-SHA-256.
bool SetOaepSha256(EVP_PKEY_CTX* ctx);

}  // namespace strongroom::kms::internal
