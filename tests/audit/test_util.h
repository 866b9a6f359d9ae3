// Helpers for the audit tests: an independent SHA-256 and ECDSA verification (OpenSSL
// directly, not audit/'s code) and sample events.
#pragma once

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "audit/event.h"

namespace strongroom::audit::testing {

inline std::string OpenSslSha256Hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ::EVP_Digest(text.data(), text.size(), md, &len, ::EVP_sha256(), nullptr);
  std::string hex;
  char byte[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(byte, sizeof(byte), "%02x", md[i]);
    hex += byte;
  }
  return hex;
}

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { ::EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

inline PkeyPtr ReadPublicPem(const std::string& pem) {
  BIO* bio = ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(::PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  ::BIO_free(bio);
  return key;
}

// Verification done here with OpenSSL directly, not with audit/'s CheckpointKey.
inline bool OpenSslVerify(const std::string& pem, const std::string& message,
                          const std::string& der) {
  PkeyPtr key = ReadPublicPem(pem);
  EVP_MD_CTX* ctx = ::EVP_MD_CTX_new();
  const bool ok =
      key && ::EVP_DigestVerifyInit(ctx, nullptr, ::EVP_sha256(), nullptr, key.get()) == 1 &&
      ::EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                         reinterpret_cast<const unsigned char*>(message.data()),
                         message.size()) == 1;
  ::EVP_MD_CTX_free(ctx);
  return ok;
}

inline std::string Base64Decode(const std::string& text) {
  std::string out(text.size(), '\0');
  int n = ::EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(text.data()),
                            static_cast<int>(text.size()));
  EXPECT_GT(n, 0);
  out.resize(static_cast<std::size_t>(n) - (text.ends_with("==") ? 2 : text.ends_with("=")));
  return out;
}

// A REST read: every field set. seq, prev and hash are left to the chain.
inline Event ReadEvent(std::string credential = "db/prod") {
  Event e;
  e.time = "2026-12-03T08:00:00.123Z";
  e.server = "host:8443";
  e.request_id = "req-1";
  e.action = std::string(action::kVaultGet);
  e.identity = "alice";
  e.key_id = "k1";
  e.credential = std::move(credential);
  e.credential_id = "c1";
  e.version = 3;
  e.status = 200;
  e.remote = "127.0.0.1";
  return e;
}

}  // namespace strongroom::audit::testing
