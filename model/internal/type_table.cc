#include "model/internal/type_table.h"

#include <cstddef>

namespace strongroom::model::internal {
namespace {

using T = CredentialType;

// SPEC 3. Order matches the CredentialType enum (checked below).
constexpr std::array<TypeInfo, kTypeCount> kTypes = {{
    {T::kLogin, "LOGIN", {{{"password"}}}, {}},
    {T::kApiKey, "API_KEY", {{{"key"}, {"clientId", "secret"}}}, {}},
    {T::kOauth, "OAUTH", {{{"accessToken"}}}, {}},
    {T::kTotp, "TOTP", {{{kTotpSecretField}}}, {}},
    {T::kSshKey, "SSH_KEY", {{{"privateKey"}}}, {}},
    {T::kDatabase, "DATABASE", {{{"password"}, {"connectionString"}}}, {}},
    {T::kSmtp, "SMTP", {{{"password"}}}, {}},
    {T::kAws, "AWS", {{{"secretAccessKey"}}}, {}},
    {T::kCertificate, "CERTIFICATE", {{{"privateKey"}}}, {}},
    {T::kCard,
     "CARD",
     {{{kCardNumberField, kCardExpMonthField, kCardExpYearField}}},
     kCardNumberField},
    {T::kShippingAddress,
     "SHIPPING_ADDRESS",
     {{{"name", "line1", "city", "postcode", "country"}}},
     {}},
    {T::kCustom, "CUSTOM", {}, {}},
}};

// SPEC 3: names of secret fields, refused as metadata keys on every type.
constexpr std::string_view kSecretFieldNames[] = {
    "password",
    "key",
    "secret",
    "totp",
    "privateKey",
    "passphrase",
    "accessToken",
    "refreshToken",
    "connectionString",
    "secretAccessKey",
    "sessionToken",
    "backupCodes",
    "usedBackupCodes",
    "otpauthUri",
    "token",
    "cvc",
    "clientSecret",
};

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

bool IsSecretFieldName(std::string_view name, CredentialType type) {
  for (std::string_view field : kSecretFieldNames) {
    if (FoldedEquals(name, field)) return true;
  }
  const std::string_view own = InfoFor(type).type_secret_name;
  return !own.empty() && FoldedEquals(name, own);
}

bool IsCodeListField(std::string_view name) {
  return name == kBackupCodesField || name == kUsedBackupCodesField;
}

}  // namespace strongroom::model::internal
