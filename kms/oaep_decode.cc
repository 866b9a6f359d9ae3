// Software RSA-OAEP decoding, for tokens that decrypt raw RSA but not
// CKM_RSA_PKCS_OAEP with SHA-256 (SoftHSM2 2.6, Debian 12's, accepts only
// SHA-1 in CK_RSA_PKCS_OAEP_PARAMS: "hashAlg must be CKM_SHA_1").
//
// The one non-EVP call in kms/: OpenSSL 3 has no EVP interface that decodes an
// OAEP block produced elsewhere, and the low-level check is constant-time
// (Manger's attack), which a hand-written decoder would have to re-prove.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstring>

#include "kms/internal/aead.h"

namespace strongroom::kms::internal {

Result<SecretBytes> OaepSha256Decode(ByteSpan block, std::size_t modulus_bytes) {
  if (block.size() > modulus_bytes || modulus_bytes > 2048) {
    return DataLossError("identity KEK failed to unwrap under the master key");
  }
  // Raw RSA output is the integer m; left-pad it to k bytes (RFC 8017 7.1.2 step 3).
  SecretBytes em(modulus_bytes, 0);
  std::memcpy(em.data() + (modulus_bytes - block.size()), block.data(), block.size());
  SecretBytes out(modulus_bytes);
  const int n = ::RSA_padding_check_PKCS1_OAEP_mgf1(
      out.data(), static_cast<int>(out.size()), em.data(), static_cast<int>(em.size()),
      static_cast<int>(modulus_bytes), nullptr, 0, ::EVP_sha256(), ::EVP_sha256());
  if (n < 0) return DataLossError("identity KEK failed to unwrap under the master key");
  out.resize(static_cast<std::size_t>(n));
  return out;
}

}  // namespace strongroom::kms::internal
