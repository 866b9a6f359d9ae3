#include "model/redaction.h"

#include <nlohmann/json.hpp>

#include "model/internal/type_table.h"

namespace strongroom::model {

nlohmann::json RedactData(CredentialType type, const nlohmann::json& data) {
  nlohmann::json out = data;
  if (!out.is_object()) return out;
  auto redact = [&out](std::string_view field) {
    if (auto it = out.find(field); it != out.end()) *it = std::string(kRedacted);
  };
  if (type == CredentialType::kTotp) redact(internal::kTotpSecretField);
  redact(internal::kTotpField);
  redact(internal::kOtpauthUriField);
  return out;
}

}  // namespace strongroom::model
