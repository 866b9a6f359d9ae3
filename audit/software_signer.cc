#include "audit/software_signer.h"

#include <openssl/ec.h>
#include <openssl/evp.h>

#include "audit/internal/crypto.h"

namespace strongroom::audit {

Result<std::unique_ptr<SoftwareCheckpointSigner>> SoftwareCheckpointSigner::Generate() {
  EVP_PKEY* key = EVP_EC_gen("P-256");  // a macro in OpenSSL 3.0, hence no ::
  if (key == nullptr) return InternalError("audit: cannot generate a P-256 key");
  return std::unique_ptr<SoftwareCheckpointSigner>(
      new SoftwareCheckpointSigner(EvpPkeyHandle(key)));
}

Result<std::string> SoftwareCheckpointSigner::Sign(std::string_view message) {
  internal::EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(message.data());
  if (!ctx || ::EVP_DigestSignInit(ctx.get(), nullptr, ::EVP_sha256(), nullptr, key_.get()) != 1 ||
      ::EVP_DigestSign(ctx.get(), nullptr, &len, data, message.size()) != 1) {
    return InternalError("audit: ECDSA signing failed");
  }
  std::string der(len, '\0');
  if (::EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, data,
                       message.size()) != 1) {
    return InternalError("audit: ECDSA signing failed");
  }
  der.resize(len);
  return der;
}

Result<std::string> SoftwareCheckpointSigner::PublicKeyPem() const {
  return internal::PublicKeyPem(key_.get());
}

}  // namespace strongroom::audit
