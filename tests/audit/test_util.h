// Helpers for the audit tests: an independent SHA-256 (OpenSSL directly, not audit/'s code)
// and sample events.
#pragma once

#include <openssl/evp.h>

#include <cstdio>
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
