// Helpers shared by the ParseCredentialInput tests (validation_test.cc,
// validation_metadata_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "model/validation.h"

namespace strongroom::model::validation_test {

using nlohmann::json;

inline constexpr UnixMillis kNow = 1767225600000;  // 2026-01-01T00:00:00Z
// Every secret in the failing cases contains this, so a message that echoes a
// secret value is caught.
inline constexpr const char* kSentinel = "SENTINELsecret";
inline const std::string kSeed = "JBSWY3DPEHPK3PXP";  // 80 bits

inline Result<CredentialInput> Parse(const json& body) { return ParseCredentialInput(body, kNow); }

// Asserts a 400 with exactly `code`, and that no secret leaked into the message.
inline void ExpectError(const json& body, const std::string& code) {
  auto result = Parse(body);
  ASSERT_FALSE(result.ok()) << "accepted: " << body.dump();
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << body.dump();
  EXPECT_EQ(result.status().error_code(), code)
      << body.dump() << " -> " << result.status().ToString();
  EXPECT_FALSE(result.status().message().empty());
  EXPECT_EQ(result.status().message().find(kSentinel), std::string::npos)
      << result.status().message();
  EXPECT_EQ(result.status().message().find(kSeed), std::string::npos) << result.status().message();
}

inline CredentialInput ExpectOk(const json& body) {
  auto result = Parse(body);
  EXPECT_TRUE(result.ok()) << body.dump() << " -> " << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

inline json DataOf(const CredentialInput& input) {
  return json::parse(std::string(input.data_json.data(), input.data_json.size()));
}

inline std::string S(const char* prefix) { return std::string(prefix) + kSentinel; }

inline json Card(const std::string& number, const std::string& month, const std::string& year) {
  return {{"type", "CARD"}, {"data", {{"number", number}, {"expMonth", month}, {"expYear", year}}}};
}

}  // namespace strongroom::model::validation_test
