#include "model/internal/otpauth.h"

#include <charconv>

#include "model/internal/base32.h"
#include "model/internal/json_util.h"

namespace strongroom::model::internal {
namespace {

Status UriError(std::string message) {
  return InvalidArgumentError(std::move(message), "invalid_otpauth_uri");
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Structural UTF-8 check (RFC 3629): no overlongs, surrogates or values past U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// RFC 3986 section 2.1 percent-decoding into `out`; the result must be UTF-8
// without control characters (it becomes JSON metadata). In the query, '+' is a
// space (application/x-www-form-urlencoded, which some providers use). The
// caller wipes `out` when it held the secret parameter.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return false;
      out->push_back(decoded);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return false;
      out->push_back(c);
    }
  }
  return IsValidUtf8(*out);
}

std::optional<int> SmallInt(std::string_view text) {
  int value = 0;
  if (text.empty() || text.size() > 6) return std::nullopt;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string_view TrimLeadingSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

}  // namespace

Result<OtpauthUri> ParseOtpauthUri(std::string_view uri) {
  constexpr std::string_view kScheme = "otpauth://";
  if (uri.size() < kScheme.size() || !EqualsIgnoreCase(uri.substr(0, kScheme.size()), kScheme)) {
    return UriError("otpauthUri must start with otpauth://");
  }
  std::string_view rest = uri.substr(kScheme.size());
  std::size_t slash = rest.find('/');
  std::string_view otp_type = rest.substr(0, slash);
  if (EqualsIgnoreCase(otp_type, "hotp")) {
    return UriError("otpauthUri is HOTP (counter-based); only otpauth://totp/ is supported");
  }
  if (!EqualsIgnoreCase(otp_type, "totp") || slash == std::string_view::npos) {
    return UriError("otpauthUri must be otpauth://totp/LABEL?secret=...");
  }
  rest = rest.substr(slash + 1);
  std::size_t question = rest.find('?');
  if (question == std::string_view::npos) return UriError("otpauthUri has no secret parameter");
  std::string_view label = rest.substr(0, question);
  std::string_view query = rest.substr(question + 1);

  OtpauthUri result;
  std::string decoded;
  if (!PercentDecode(label, /*plus_is_space=*/false, &decoded)) {
    return UriError("otpauthUri label has bad percent-encoding");
  }
  std::optional<std::string> label_issuer;
  if (std::size_t colon = decoded.find(':'); colon != std::string::npos) {
    label_issuer = decoded.substr(0, colon);
    result.account = std::string(TrimLeadingSpaces(std::string_view(decoded).substr(colon + 1)));
  } else if (!decoded.empty()) {
    result.account = decoded;
  }
  if (result.account && result.account->empty()) result.account.reset();
  if (label_issuer && label_issuer->empty()) label_issuer.reset();

  bool seen_secret = false;
  bool seen_issuer = false;
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) return UriError("otpauthUri has a parameter without '='");
    std::string_view name = pair.substr(0, eq);
    std::string_view raw_value = pair.substr(eq + 1);

    if (name == "secret") {
      if (seen_secret) return UriError("otpauthUri has more than one secret parameter");
      seen_secret = true;
      std::string value;
      if (!PercentDecode(raw_value, /*plus_is_space=*/true, &value)) {
        SecureWipe(value.data(), value.size());
        return UriError("otpauthUri secret parameter has bad percent-encoding");
      }
      auto normalized = NormalizeTotpSeed(value);
      SecureWipe(value.data(), value.size());
      if (!normalized.ok()) {
        return UriError("otpauthUri secret parameter is not a base32 seed of at least 80 bits");
      }
      result.secret = std::move(normalized).value();
      continue;
    }

    std::string value;
    if (!PercentDecode(raw_value, /*plus_is_space=*/true, &value)) {
      return UriError("otpauthUri parameter has bad percent-encoding");
    }
    if (name == "issuer") {
      if (seen_issuer) return UriError("otpauthUri has more than one issuer parameter");
      seen_issuer = true;
      if (!value.empty()) result.issuer = value;
    } else if (name == "algorithm") {
      if (result.algorithm) return UriError("otpauthUri has more than one algorithm parameter");
      result.algorithm = ParseTotpAlgorithm(value);
      if (!result.algorithm) return UriError("otpauthUri algorithm must be SHA1, SHA256 or SHA512");
    } else if (name == "digits") {
      if (result.digits) return UriError("otpauthUri has more than one digits parameter");
      result.digits = SmallInt(value);
      if (result.digits != 6 && result.digits != 8) {
        return UriError("otpauthUri digits must be 6 or 8");
      }
    } else if (name == "period") {
      if (result.period) return UriError("otpauthUri has more than one period parameter");
      result.period = SmallInt(value);
      if (!result.period || *result.period < 1 || *result.period > kMaxTotpPeriodSeconds) {
        return UriError("otpauthUri period must be 1..3600 seconds");
      }
    }
    // Other parameters (image, counter, ...) carry nothing a TOTP credential needs.
  }
  if (!seen_secret) return UriError("otpauthUri has no secret parameter");
  // The issuer parameter is authoritative; the label prefix is the fallback
  // (Key Uri Format: "issuer" is the recommended, newer of the two).
  if (!result.issuer) result.issuer = std::move(label_issuer);
  return result;
}

}  // namespace strongroom::model::internal
