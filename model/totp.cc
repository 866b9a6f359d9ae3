#include "model/totp.h"

#include <liboath/oath.h>

#include <array>
#include <nlohmann/json.hpp>

#include "model/internal/base32.h"
#include "model/internal/json_util.h"
#include "model/internal/type_table.h"

namespace strongroom::model {
namespace {

using nlohmann::json;

Status NotTotpError() { return InvalidArgumentError("credential has no TOTP seed", "not_totp"); }

// Wipes a liboath output buffer (a one-time code is short-lived but still a secret).
struct CodeBuffer {
  std::array<char, 16> chars{};
  ~CodeBuffer() { SecureWipe(chars.data(), chars.size()); }
};

}  // namespace

std::string_view TotpAlgorithmName(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return "SHA1";
    case TotpAlgorithm::kSha256:
      return "SHA256";
    case TotpAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA1";
}

std::optional<TotpAlgorithm> ParseTotpAlgorithm(std::string_view name) {
  for (TotpAlgorithm a : {TotpAlgorithm::kSha1, TotpAlgorithm::kSha256, TotpAlgorithm::kSha512}) {
    if (internal::EqualsIgnoreCase(name, TotpAlgorithmName(a))) return a;
  }
  return std::nullopt;
}

TotpParams TotpParams::FromMetadata(const json& metadata) {
  TotpParams params;
  if (!metadata.is_object()) return params;
  if (auto it = metadata.find("algorithm"); it != metadata.end() && it->is_string()) {
    if (auto a = ParseTotpAlgorithm(it->get_ref<const std::string&>())) params.algorithm = *a;
  }
  if (auto it = metadata.find("digits"); it != metadata.end()) {
    if (auto d = internal::IntegerValue(*it); d && (*d == 6 || *d == 8)) {
      params.digits = static_cast<int>(*d);
    }
  }
  if (auto it = metadata.find("period"); it != metadata.end()) {
    if (auto p = internal::IntegerValue(*it); p && *p >= 1 && *p <= kMaxTotpPeriodSeconds) {
      params.period = static_cast<int>(*p);
    }
  }
  return params;
}

Result<TotpCode> GenerateTotp(std::string_view seed_base32, const TotpParams& params,
                              UnixMillis now) {
  if (params.digits != 6 && params.digits != 8) {
    return InvalidArgumentError("TOTP digits must be 6 or 8", "invalid_totp_digits");
  }
  if (params.period < 1 || params.period > kMaxTotpPeriodSeconds) {
    return InvalidArgumentError("TOTP period must be 1..3600 seconds", "invalid_totp_period");
  }
  if (now < 0) return InvalidArgumentError("time before the Unix epoch");
  SR_ASSIGN_OR_RETURN(SecretBytes key, internal::DecodeTotpSeed(seed_base32));

  int flags = 0;
  if (params.algorithm == TotpAlgorithm::kSha256) flags = OATH_TOTP_HMAC_SHA256;
  if (params.algorithm == TotpAlgorithm::kSha512) flags = OATH_TOTP_HMAC_SHA512;
  const std::int64_t now_s = now / 1000;
  CodeBuffer out;
  // RFC 6238 section 4.2: T = floor((now - T0) / X) with T0 = 0.
  int rc = ::oath_totp_generate2(reinterpret_cast<const char*>(key.data()), key.size(),
                                 static_cast<time_t>(now_s), static_cast<unsigned>(params.period),
                                 /*start_offset=*/0, static_cast<unsigned>(params.digits), flags,
                                 out.chars.data());
  if (rc != OATH_OK) return InternalError("TOTP generation failed");
  TotpCode code;
  code.code.assign(out.chars.data(), static_cast<std::size_t>(params.digits));
  code.remaining = params.period - static_cast<int>(now_s % params.period);
  return code;
}

Result<std::string> GenerateHotp(std::string_view seed_base32, std::uint64_t counter, int digits) {
  if (digits < 6 || digits > 8) {
    return InvalidArgumentError("HOTP digits must be 6..8", "invalid_totp_digits");
  }
  SR_ASSIGN_OR_RETURN(SecretBytes key, internal::DecodeTotpSeed(seed_base32));
  CodeBuffer out;
  int rc = ::oath_hotp_generate(reinterpret_cast<const char*>(key.data()), key.size(), counter,
                                static_cast<unsigned>(digits), /*add_checksum=*/false,
                                OATH_HOTP_DYNAMIC_TRUNCATION, out.chars.data());
  if (rc != OATH_OK) return InternalError("HOTP generation failed");
  return std::string(out.chars.data(), static_cast<std::size_t>(digits));
}

Result<SecretString> FindTotpSeed(CredentialType type, const json& data) {
  if (!data.is_object()) return NotTotpError();
  auto seed_at = [&](std::string_view field) -> const std::string* {
    auto it = data.find(field);
    if (it == data.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
      return nullptr;
    }
    return &it->get_ref<const std::string&>();
  };
  const std::string* seed = nullptr;
  if (type == CredentialType::kTotp) seed = seed_at(internal::kTotpSecretField);
  if (seed == nullptr) seed = seed_at(internal::kTotpField);
  if (seed == nullptr) return NotTotpError();
  return SecretString(*seed);
}

std::size_t UnusedBackupCodeCount(const json& data) {
  if (!data.is_object()) return 0;
  auto it = data.find(internal::kBackupCodesField);
  if (it == data.end() || !it->is_array()) return 0;
  return it->size();
}

Result<BackupPop> PopBackupCode(CredentialType type, json& data) {
  // Backup codes belong to a 2FA seed; /totp and /totp/backup agree on what has one.
  if (!FindTotpSeed(type, data).ok()) return NotTotpError();
  auto codes = data.find(internal::kBackupCodesField);
  if (codes == data.end() || !codes->is_array() || codes->empty()) {
    return FailedPreconditionError("no unused backup codes left", "no_backup_codes");
  }
  if (!codes->front().is_string()) return InternalError("stored backup code is not a string");
  auto used = data.find(internal::kUsedBackupCodesField);
  if (used != data.end() && !used->is_array()) {
    return InternalError("stored usedBackupCodes is not an array");
  }
  BackupPop pop;
  pop.code = codes->front().get<std::string>();
  codes->erase(codes->begin());
  pop.remaining = codes->size();
  if (used == data.end()) {
    data[std::string(internal::kUsedBackupCodesField)] = json::array();
    used = data.find(internal::kUsedBackupCodesField);
  }
  used->push_back(pop.code);
  return pop;
}

}  // namespace strongroom::model
