// Fuzzes otpauth:// URI parsing (model/internal/otpauth.h). A URI that parses
// has a canonical seed and in-range parameters, and the URI rebuilt from what was
// parsed (every byte of the label and values percent-encoded) parses to the same.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "model/internal/base32.h"
#include "model/internal/otpauth.h"
#include "model/totp.h"

namespace {

using strongroom::model::internal::OtpauthUri;
using strongroom::model::internal::ParseOtpauthUri;

// The URI that should parse to `uri`: the account behind a "_:" label prefix
// (so a ':' inside it stays in the account), the issuer as a parameter.
std::string Rebuild(const OtpauthUri& uri) {
  std::string out = "otpauth://totp/";
  if (uri.account) out += "_:" + strongroom::fuzz::PercentEncodeEveryByte(*uri.account);
  out += "?secret=";
  out += uri.secret.view();
  if (uri.issuer) out += "&issuer=" + strongroom::fuzz::PercentEncodeEveryByte(*uri.issuer);
  if (uri.algorithm) {
    out += "&algorithm=";
    out += strongroom::model::TotpAlgorithmName(*uri.algorithm);
  }
  if (uri.digits) out += "&digits=" + std::to_string(*uri.digits);
  if (uri.period) out += "&period=" + std::to_string(*uri.period);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = ParseOtpauthUri(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().error_code() == "invalid_otpauth_uri");
    return 0;
  }
  auto seed = strongroom::model::internal::NormalizeTotpSeed(parsed->secret.view());
  FUZZ_CHECK(seed.ok() && seed->view() == parsed->secret.view());
  FUZZ_CHECK(!parsed->digits || *parsed->digits == 6 || *parsed->digits == 8);
  FUZZ_CHECK(!parsed->period || (*parsed->period >= 1 && *parsed->period <= 3600));
  FUZZ_CHECK(!parsed->issuer || !parsed->issuer->empty());
  FUZZ_CHECK(!parsed->account || !parsed->account->empty());

  auto again = ParseOtpauthUri(Rebuild(*parsed));
  FUZZ_CHECK(again.ok());
  std::optional<std::string> account = parsed->account;
  if (account) {  // behind a ':' leading spaces are dropped
    account->erase(0, account->find_first_not_of(' '));
    if (account->empty()) account.reset();
  }
  std::optional<std::string> issuer = parsed->issuer;
  if (!issuer && parsed->account) issuer = "_";
  FUZZ_CHECK(again->secret.view() == parsed->secret.view());
  FUZZ_CHECK(again->account == account);
  FUZZ_CHECK(again->issuer == issuer);
  FUZZ_CHECK(again->algorithm == parsed->algorithm);
  FUZZ_CHECK(again->digits == parsed->digits);
  FUZZ_CHECK(again->period == parsed->period);
  return 0;
}
