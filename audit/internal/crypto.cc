#include "audit/internal/crypto.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>

#include "base/random.h"

namespace strongroom::audit::internal {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (::EVP_Digest(data.data(), data.size(), md, &len, ::EVP_sha256(), nullptr) != 1) {
    // SHA-256 cannot fail short of a broken library; an unhashable chain is no chain.
    std::abort();
  }
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  const int n = ::EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  // EVP_DecodeBlock keeps the padding's zero bytes and skips leading/trailing blanks; the
  // re-encoding check below rejects everything but the canonical form.
  const int n = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  if (Base64Encode(out) != text) return std::nullopt;
  return out;
}

Result<std::string> PublicKeyPem(EVP_PKEY* key) {
  BioPtr bio(::BIO_new(::BIO_s_mem()));
  if (!bio || ::PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return InternalError("audit: cannot encode the public key");
  }
  char* data = nullptr;
  const long len = ::BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace strongroom::audit::internal
