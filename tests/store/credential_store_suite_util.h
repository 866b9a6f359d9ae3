// Helpers shared by the files of the CredentialStore conformance suite
// (credential_store_suite.cc, credential_store_credentials_suite.cc).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "base/result.h"
#include "model/credential.h"
#include "store/credential_store.h"

namespace strongroom::store::testing {

using model::ApiKeyRecord;
using model::CredentialType;
using model::Identity;
using model::StoredCredential;

inline const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

#define SR_ASSERT_OK(expr)                                 \
  do {                                                     \
    const auto& sr_v_ = (expr);                            \
    ASSERT_TRUE(sr_v_.ok()) << StatusOf(sr_v_).ToString(); \
  } while (false)
#define SR_EXPECT_ERROR(expr, want_code, want_error_code)                         \
  do {                                                                            \
    const auto& sr_v_ = (expr);                                                   \
    EXPECT_EQ(StatusOf(sr_v_).code(), (want_code)) << StatusOf(sr_v_).ToString(); \
    EXPECT_EQ(StatusOf(sr_v_).error_code(), (want_error_code));                   \
  } while (false)

inline std::vector<std::uint8_t> Bytes(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

inline std::vector<std::string> Names(const std::vector<StoredCredential>& list) {
  std::vector<std::string> out;
  for (const StoredCredential& c : list) out.push_back(c.name);
  return out;
}

// "{\"n\":17}" -> 17: the counter the concurrency tests increment.
inline std::int64_t Counter(const std::string& metadata_json) {
  return std::stoll(metadata_json.substr(metadata_json.find(':') + 1));
}
inline std::string CounterJson(std::int64_t n) { return "{\"n\":" + std::to_string(n) + "}"; }

inline void ExpectSameCredential(const StoredCredential& got, const StoredCredential& want,
                                 bool with_envelope) {
  EXPECT_EQ(got.credential_id, want.credential_id);
  EXPECT_EQ(got.identity_id, want.identity_id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.metadata_json, want.metadata_json);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.last_used_at, want.last_used_at);
  EXPECT_EQ(got.last_rotated_at, want.last_rotated_at);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.kek_version, want.kek_version);
  if (with_envelope) {
    EXPECT_EQ(got.ciphertext, want.ciphertext);
    EXPECT_EQ(got.wrapped_dek, want.wrapped_dek);
  } else {
    EXPECT_TRUE(got.ciphertext.empty());
    EXPECT_TRUE(got.wrapped_dek.empty());
  }
}

// A read-write key of `identity_id` whose hash holds a NUL byte.
inline ApiKeyRecord NewApiKey(std::int64_t identity_id) {
  ApiKeyRecord key;
  key.key_id = "0123456789abcdef";
  key.identity_id = identity_id;
  key.key_hash = std::vector<std::uint8_t>(32, 0x5a);
  key.key_hash[3] = 0x00;
  key.scopes = model::kScopeRead | model::kScopeWrite;
  key.expires_at = 1'800'000'000'000;
  key.created_at = 1'700'000'000'000;
  return key;
}

}  // namespace strongroom::store::testing
