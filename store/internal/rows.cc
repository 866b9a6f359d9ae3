#include "store/internal/rows.h"

#include <array>
#include <utility>

namespace strongroom::store::internal {
namespace {

using model::CredentialType;

constexpr std::array<std::pair<CredentialType, std::string_view>, 10> kTypeNames = {{
    {CredentialType::kLogin, "LOGIN"},
    {CredentialType::kApiKey, "API_KEY"},
    {CredentialType::kOauth, "OAUTH"},
    {CredentialType::kTotp, "TOTP"},
    {CredentialType::kSshKey, "SSH_KEY"},
    {CredentialType::kDatabase, "DATABASE"},
    {CredentialType::kSmtp, "SMTP"},
    {CredentialType::kAws, "AWS"},
    {CredentialType::kCertificate, "CERTIFICATE"},
    {CredentialType::kCustom, "CUSTOM"},
}};

}  // namespace

std::string_view CredentialTypeToDb(CredentialType type) {
  for (const auto& [t, name] : kTypeNames) {
    if (t == type) return name;
  }
  // Unreachable for a valid enum value; an empty type fails the read back loudly.
  return {};
}

std::optional<CredentialType> CredentialTypeFromDb(std::string_view text) {
  for (const auto& [t, name] : kTypeNames) {
    if (name == text) return t;
  }
  return std::nullopt;
}

}  // namespace strongroom::store::internal
