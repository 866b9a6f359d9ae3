#include "model/internal/type_table.h"

#include <cstddef>

namespace strongroom::model::internal {
namespace {

using T = CredentialType;

// SPEC 3. Order matches the CredentialType enum (checked below).
constexpr std::array<TypeInfo, 10> kTypes = {{
    {T::kLogin, "LOGIN", {"password"}, {{{"password"}}}},
    {T::kApiKey, "API_KEY", {"key", "secret"}, {{{"key"}, {"clientId", "secret"}}}},
    {T::kOauth, "OAUTH", {"accessToken", "refreshToken"}, {{{"accessToken"}}}},
    {T::kTotp,
     "TOTP",
     {kTotpSecretField, kBackupCodesField, kUsedBackupCodesField},
     {{{kTotpSecretField}}}},
    {T::kSshKey, "SSH_KEY", {"privateKey", "passphrase"}, {{{"privateKey"}}}},
    {T::kDatabase,
     "DATABASE",
     {"password", "connectionString"},
     {{{"password"}, {"connectionString"}}}},
    {T::kSmtp, "SMTP", {"password"}, {{{"password"}}}},
    {T::kAws, "AWS", {"secretAccessKey", "sessionToken"}, {{{"secretAccessKey"}}}},
    {T::kCertificate, "CERTIFICATE", {"privateKey"}, {{{"privateKey"}}}},
    {T::kCustom, "CUSTOM", {}, {}},
}};

constexpr bool TableMatchesEnum() {
  for (std::size_t i = 0; i < kTypes.size(); ++i) {
    if (static_cast<std::size_t>(kTypes[i].type) != i) return false;
  }
  return true;
}
static_assert(TableMatchesEnum(), "kTypes must list the types in enum order");

// Lowercase, without '_' and '-'.
bool FoldedEquals(std::string_view candidate, std::string_view field) {
  std::size_t j = 0;
  for (char c : candidate) {
    if (c == '_' || c == '-') continue;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (j >= field.size()) return false;
    char f = field[j++];
    if (f >= 'A' && f <= 'Z') f = static_cast<char>(f - 'A' + 'a');
    if (c != f) return false;
  }
  return j == field.size();
}

}  // namespace

std::span<const TypeInfo> AllTypes() { return kTypes; }

const TypeInfo& InfoFor(CredentialType type) { return kTypes[static_cast<std::size_t>(type)]; }

bool IsSecretFieldName(std::string_view name) {
  if (FoldedEquals(name, kTotpField)) return true;
  for (const TypeInfo& info : kTypes) {
    for (std::string_view field : info.secret_fields) {
      if (!field.empty() && FoldedEquals(name, field)) return true;
    }
  }
  return false;
}

bool IsCodeListField(std::string_view name) {
  return name == kBackupCodesField || name == kUsedBackupCodesField;
}

}  // namespace strongroom::model::internal
