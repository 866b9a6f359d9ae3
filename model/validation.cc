#include "model/validation.h"

#include <nlohmann/json.hpp>

#include "base/secret_json.h"
#include "model/internal/base32.h"
#include "model/internal/json_util.h"
#include "model/internal/otpauth.h"
#include "model/internal/type_table.h"
#include "model/totp.h"

namespace strongroom::model {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameLength = 128;
constexpr std::size_t kMaxFieldNameInMessage = 64;

Status Invalid(std::string message, std::string code) {
  return InvalidArgumentError(std::move(message), std::move(code));
}

// A field name for a message. Field names are not secret, but they are caller
// text: keep them short.
std::string Label(std::string_view prefix, std::string_view key) {
  std::string out(prefix);
  out += '.';
  out.append(key.substr(0, kMaxFieldNameInMessage));
  if (key.size() > kMaxFieldNameInMessage) out += "...";
  return out;
}

// Replaces a secret string in place, wiping the old value first.
void ReplaceSecret(json& slot, std::string_view value) {
  WipeJsonStrings(slot);
  slot = std::string(value);
}

bool IsNonEmptyString(const json& data, std::string_view field) {
  auto it = data.find(field);
  return it != data.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

bool IsStringArray(const json& value) {
  if (!value.is_array()) return false;
  for (const json& item : value) {
    if (!item.is_string()) return false;
  }
  return true;
}

// SPEC 3: secret values are strings; backupCodes/usedBackupCodes are arrays of
// non-empty strings.
Status CheckDataValues(const json& data) {
  for (const auto& [key, value] : data.items()) {
    if (key.empty()) return Invalid("data has a field with an empty name", "invalid_field");
    if (internal::IsCodeListField(key)) {
      bool ok = IsStringArray(value);
      if (ok) {
        for (const json& code : value) ok = ok && !code.get_ref<const std::string&>().empty();
      }
      if (!ok) {
        return Invalid(Label("data", key) + " must be an array of non-empty strings",
                       "invalid_field");
      }
    } else if (!value.is_string()) {
      return Invalid(Label("data", key) + " must be a string", "invalid_field");
    }
  }
  return Status::Ok();
}

Status CheckRequired(const internal::TypeInfo& info, const json& data) {
  bool any_rule = false;
  std::string wanted;
  for (const internal::RequiredSet& set : info.required_any_of) {
    if (set[0].empty()) continue;
    any_rule = true;
    bool complete = true;
    std::string names;
    for (std::string_view field : set) {
      if (field.empty()) continue;
      complete = complete && IsNonEmptyString(data, field);
      if (!names.empty()) names += " and ";
      names += Label("data", field);
    }
    if (complete) return Status::Ok();
    if (!wanted.empty()) wanted += ", or ";
    wanted += names;
  }
  if (!any_rule) {
    // CUSTOM: at least one pair with a value.
    for (const json& value : data) {
      if ((value.is_string() && !value.get_ref<const std::string&>().empty()) ||
          (value.is_array() && !value.empty())) {
        return Status::Ok();
      }
    }
    return Invalid(std::string(info.wire_name) + " needs at least one non-empty data field",
                   "missing_field");
  }
  return Invalid(std::string(info.wire_name) + " requires " + wanted, "missing_field");
}

// An otpauth:// URI embeds a TOTP seed. The scheme is matched anywhere in the
// value and in any case: "OTPAUTH://" and "uri: otpauth://..." leak a seed as
// surely as a value that starts with it (SPEC 3 says "starts with").
// Whether `needle` (lowercase) occurs in `value`, ignoring case, at a
// position `at_ok` accepts.
template <typename AtOk>
bool ContainsIgnoreCase(std::string_view value, std::string_view needle, AtOk&& at_ok) {
  for (std::size_t i = 0; i + needle.size() <= value.size(); ++i) {
    if (internal::EqualsIgnoreCase(value.substr(i, needle.size()), needle) && at_ok(i)) {
      return true;
    }
  }
  return false;
}

// Also percent-encoded ("otpauth%3A%2F%2F..."), and any URI query parameter
// `secret=` ("...?secret=JBSW...", "&secret="), which is how a seed travels in
// every otpauth-like link: a seed in metadata would be listed in clear to
// read-only keys (issue 12).
bool HoldsOtpauthUri(std::string_view value) {
  auto anywhere = [](std::size_t) { return true; };
  auto starts_parameter = [value](std::size_t i) {
    return i == 0 || value[i - 1] == '?' || value[i - 1] == '&' || value[i - 1] == ';';
  };
  return ContainsIgnoreCase(value, "otpauth://", anywhere) ||
         ContainsIgnoreCase(value, "otpauth%3a%2f%2f", anywhere) ||
         ContainsIgnoreCase(value, "secret=", starts_parameter);
}

bool IsOtpauthValue(const json& value) {
  if (value.is_string()) return HoldsOtpauthUri(value.get_ref<const std::string&>());
  if (!value.is_array()) return false;
  for (const json& item : value) {
    if (IsOtpauthValue(item)) return true;
  }
  return false;
}

// SPEC 3: metadata is plaintext, so it holds display values only.
Status CheckMetadata(CredentialType type, const json& metadata) {
  if (metadata.is_null()) return Status::Ok();
  if (!metadata.is_object())
    return Invalid("metadata must be an object or null", "invalid_metadata");
  for (const auto& [key, value] : metadata.items()) {
    if (internal::IsSecretFieldName(key, type)) {
      return Invalid(Label("metadata", key) + " names a secret field; secrets belong in data",
                     "secret_in_metadata");
    }
    if (!(value.is_string() || value.is_number() || value.is_boolean() || IsStringArray(value))) {
      return Invalid(
          Label("metadata", key) + " must be a string, number, boolean or array of strings",
          "invalid_metadata");
    }
    if (IsOtpauthValue(value)) {
      return Invalid(Label("metadata", key) +
                         " holds an otpauth:// URI, which embeds a TOTP seed; put it in "
                         "data.otpauthUri of a TOTP credential",
                     "secret_in_metadata");
    }
  }
  return Status::Ok();
}

// SPEC 3 CARD formats. CheckRequired has made sure the three fields are
// non-empty strings. Messages never repeat the values.
bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status CheckCard(const json& data) {
  const auto& number = data.at(internal::kCardNumberField).get_ref<const std::string&>();
  std::size_t digits = 0;
  bool ok = true;
  for (char c : number) {
    if (c == ' ') continue;
    ok = ok && c >= '0' && c <= '9';
    ++digits;
  }
  if (!ok || digits < 12 || digits > 19) {
    return Invalid("data.number must be 12-19 digits (spaces allowed)", "invalid_card_number");
  }
  const auto& month = data.at(internal::kCardExpMonthField).get_ref<const std::string&>();
  bool month_ok = !month.empty() && month.size() <= 2 && AllDigits(month);
  if (month_ok) {
    int value = 0;
    for (char c : month) value = value * 10 + (c - '0');
    month_ok = value >= 1 && value <= 12;
  }
  if (!month_ok) {
    return Invalid("data.expMonth must be a month 1-12 as one or two digits (\"9\" or \"09\")",
                   "invalid_card_expiry");
  }
  const auto& year = data.at(internal::kCardExpYearField).get_ref<const std::string&>();
  if (!((year.size() == 2 || year.size() == 4) && AllDigits(year))) {
    return Invalid("data.expYear must be 2 or 4 digits", "invalid_card_expiry");
  }
  return Status::Ok();
}

// Replaces data.otpauthUri of a TOTP body by data.secret and fills metadata.
Status ImportOtpauthUri(json& data, json& metadata) {
  auto uri_it = data.find(internal::kOtpauthUriField);
  if (uri_it == data.end()) return Status::Ok();
  // CheckDataValues has made sure it is a string.
  if (data.contains(internal::kTotpSecretField)) {
    return Invalid("give either data.secret or data.otpauthUri, not both", "invalid_otpauth_uri");
  }
  SR_ASSIGN_OR_RETURN(internal::OtpauthUri uri,
                      internal::ParseOtpauthUri(uri_it->get_ref<const std::string&>()));
  WipeJsonStrings(*uri_it);
  data.erase(uri_it);
  data[std::string(internal::kTotpSecretField)] = std::string(uri.secret.view());

  if (metadata.is_null()) metadata = json::object();
  auto fill = [&metadata](const char* key, json value) {
    if (!metadata.contains(key)) metadata[key] = std::move(value);
  };
  if (uri.issuer) fill("issuer", *uri.issuer);
  if (uri.account) fill("account", *uri.account);
  if (uri.algorithm) fill("algorithm", std::string(TotpAlgorithmName(*uri.algorithm)));
  if (uri.digits) fill("digits", *uri.digits);
  if (uri.period) fill("period", *uri.period);
  return Status::Ok();
}

// Validates and normalises the seed at data[field], if present.
Status NormalizeSeedField(json& data, std::string_view field, bool* has_seed) {
  auto it = data.find(field);
  if (it == data.end()) return Status::Ok();
  auto normalized = internal::NormalizeTotpSeed(it->get_ref<const std::string&>());
  if (!normalized.ok()) {
    return Invalid(Label("data", field) + ": " + normalized.status().message(),
                   "invalid_totp_secret");
  }
  ReplaceSecret(*it, normalized->view());
  *has_seed = true;
  return Status::Ok();
}

// SPEC 3 TOTP metadata; normalises algorithm to its canonical spelling and
// whole-number floats to integers.
Status CheckTotpParams(json& metadata) {
  if (!metadata.is_object()) return Status::Ok();
  if (auto it = metadata.find("algorithm"); it != metadata.end()) {
    std::optional<TotpAlgorithm> algorithm;
    if (it->is_string()) algorithm = ParseTotpAlgorithm(it->get_ref<const std::string&>());
    if (!algorithm) {
      return Invalid("metadata.algorithm must be SHA1, SHA256 or SHA512", "invalid_totp_algorithm");
    }
    *it = std::string(TotpAlgorithmName(*algorithm));
  }
  if (auto it = metadata.find("digits"); it != metadata.end()) {
    auto digits = internal::IntegerValue(*it);
    if (digits != 6 && digits != 8) {
      return Invalid("metadata.digits must be 6 or 8", "invalid_totp_digits");
    }
    *it = *digits;
  }
  if (auto it = metadata.find("period"); it != metadata.end()) {
    auto period = internal::IntegerValue(*it);
    if (!period || *period < 1 || *period > kMaxTotpPeriodSeconds) {
      return Invalid("metadata.period must be a whole number of seconds in 1..3600",
                     "invalid_totp_period");
    }
    *it = *period;
  }
  return Status::Ok();
}

Result<std::optional<UnixMillis>> ParseExpiresAt(const json& body) {
  auto it = body.find("expiresAt");
  if (it == body.end() || it->is_null()) return std::optional<UnixMillis>();
  if (!it->is_string()) {
    return Invalid("expiresAt must be an RFC 3339 time string or null", "invalid_expires_at");
  }
  std::optional<UnixMillis> t = ParseRfc3339(it->get_ref<const std::string&>());
  if (!t) return Invalid("expiresAt is not an RFC 3339 time", "invalid_expires_at");
  return t;
}

std::string TypeListMessage() {
  std::string out = "type must be one of ";
  bool first = true;
  for (const internal::TypeInfo& info : internal::AllTypes()) {
    if (!first) out += ", ";
    first = false;
    out += info.wire_name;
  }
  return out;
}

}  // namespace

Status ValidateName(std::string_view name) {
  auto alnum = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  bool ok = !name.empty() && name.size() <= kMaxNameLength && alnum(name.front());
  for (std::size_t i = 1; ok && i < name.size(); ++i) {
    char c = name[i];
    ok = alnum(c) || c == '.' || c == '_' || c == '-';
  }
  if (!ok) {
    return Invalid(
        "name must be 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-', starting with a letter "
        "or digit",
        "invalid_name");
  }
  return Status::Ok();
}

Result<CredentialInput> ParseCredentialInput(const json& body, UnixMillis /*now*/) {
  if (!body.is_object()) return Invalid("request body must be a JSON object", "invalid_request");

  auto type_it = body.find("type");
  std::optional<CredentialType> type;
  if (type_it != body.end() && type_it->is_string()) {
    type = ParseType(type_it->get_ref<const std::string&>());
  }
  if (!type) return Invalid(TypeListMessage(), "invalid_type");
  const internal::TypeInfo& info = internal::InfoFor(*type);

  auto data_it = body.find("data");
  if (data_it == body.end() || !data_it->is_object() || data_it->empty()) {
    return Invalid("data must be a non-empty object", "invalid_data");
  }
  SR_RETURN_IF_ERROR(CheckDataValues(*data_it));

  json metadata;  // null
  if (auto it = body.find("metadata"); it != body.end()) metadata = *it;
  SR_RETURN_IF_ERROR(CheckMetadata(*type, metadata));

  json data = *data_it;
  JsonWipeGuard wipe_data(data);
  if (*type == CredentialType::kTotp) {
    SR_RETURN_IF_ERROR(ImportOtpauthUri(data, metadata));
    // The URI's label filled issuer and account: hold them to the same rules.
    SR_RETURN_IF_ERROR(CheckMetadata(*type, metadata));
  }
  SR_RETURN_IF_ERROR(CheckRequired(info, data));
  if (*type == CredentialType::kCard) SR_RETURN_IF_ERROR(CheckCard(data));

  bool has_seed = false;
  if (*type == CredentialType::kTotp) {
    SR_RETURN_IF_ERROR(NormalizeSeedField(data, internal::kTotpSecretField, &has_seed));
  }
  SR_RETURN_IF_ERROR(NormalizeSeedField(data, internal::kTotpField, &has_seed));
  if (has_seed) SR_RETURN_IF_ERROR(CheckTotpParams(metadata));

  SR_ASSIGN_OR_RETURN(std::optional<UnixMillis> expires_at, ParseExpiresAt(body));

  CredentialInput input;
  input.type = *type;
  input.expires_at = expires_at;
  try {
    input.data_json = DumpToSecret(data);
    input.metadata_json = metadata.dump();
  } catch (const json::exception&) {
    // Only reachable with strings that are not UTF-8, which the JSON parser and
    // the URI decoder already refuse.
    return Invalid("data or metadata is not valid UTF-8", "invalid_request");
  }
  return input;
}

}  // namespace strongroom::model
