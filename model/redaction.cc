#include "model/redaction.h"

#include <nlohmann/json.hpp>

#include "base/secret.h"

#include "base/secret_json.h"
#include "model/internal/json_util.h"
#include "model/internal/type_table.h"

namespace strongroom::model {

nlohmann::json RedactData(CredentialType type, const nlohmann::json& data) {
  nlohmann::json out = data;
  if (!out.is_object()) return out;
  auto redact = [&out](std::string_view field) {
    if (auto it = out.find(field); it != out.end()) {
      if (it->is_string()) {  // the seed's buffer is freed by the assignment: wipe it first
        std::string& seed = it->get_ref<std::string&>();
        SecureWipe(seed.data(), seed.size());
      }
      *it = std::string(kRedacted);
    }
  };
  if (type == CredentialType::kTotp) {
    redact(internal::kTotpSecretField);
    // SPEC 5: a TOTP credential always shows both lists.
    for (std::string_view field : {internal::kBackupCodesField, internal::kUsedBackupCodesField}) {
      if (!out.contains(field)) out[std::string(field)] = nlohmann::json::array();
    }
  }
  redact(internal::kTotpField);
  redact(internal::kOtpauthUriField);
  return out;
}

namespace {

bool MentionsField(std::string_view text, std::string_view field) {
  std::string quoted;
  quoted.reserve(field.size() + 2);
  quoted.push_back('"');
  quoted.append(field);
  quoted.push_back('"');
  return text.find(quoted) != std::string_view::npos;
}

}  // namespace

bool AppendRedactedData(std::string* out, CredentialType type, std::string_view stored) {
  if (stored.size() < 2 || stored.front() != '{' || stored.back() != '}') return false;
  const bool may_redact = type == CredentialType::kTotp ||
                          MentionsField(stored, internal::kTotpField) ||
                          MentionsField(stored, internal::kOtpauthUriField);
  if (!may_redact) {
    out->append(stored);
    return true;
  }
  nlohmann::json data =
      nlohmann::json::parse(stored.begin(), stored.end(), nullptr, /*allow_exceptions=*/false);
  JsonWipeGuard wipe_data(data);
  if (!data.is_object()) return false;
  nlohmann::json redacted = RedactData(type, data);
  JsonWipeGuard wipe_redacted(redacted);
  // Stored data is valid UTF-8 (ParseCredentialInput dumped it), so the strict
  // serializer behind DumpToSecret writes what dump(..., replace) would.
  try {
    const SecretStdString text = DumpToSecret(redacted);
    out->append(text.data(), text.size());
  } catch (const nlohmann::json::exception&) {
    return false;  // not UTF-8: not something ParseCredentialInput wrote
  }
  return true;
}

}  // namespace strongroom::model
