// Fuzzes the HTTP request handling Strongroom does itself, without Pistache:
// route matching and percent-decoding of the path (api/internal/routes.h), the
// name check, the Bearer token of Authorization, and the PUT body transport
// checks (api/internal/put_body.h).
//
// Input: a small HTTP/1.1-like request, "METHOD PATH\n" then "Name: value"
// lines, a blank line and the body. The raw input also goes through our request
// framing check (api/internal/framing.h: Content-Length, Transfer-Encoding,
// duplicate headers, limits), whole and split at a point taken from the input:
// the verdict must not depend on how the bytes arrive.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/internal/framing.h"
#include "api/internal/put_body.h"
#include "api/internal/routes.h"
#include "fuzz/fuzz_util.h"
#include "model/validation.h"
#include "vault/api_key.h"

namespace {

namespace internal = strongroom::api::internal;

constexpr std::size_t kMaxBody = 64 * 1024;

std::string_view NextLine(std::string_view* rest) {
  std::size_t end = rest->find('\n');
  std::string_view line = rest->substr(0, end);
  *rest = end == std::string_view::npos ? std::string_view() : rest->substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

void CheckPath(std::string_view path) {
  internal::Match match = internal::MatchPath(path);
  FUZZ_CHECK(internal::RouteTemplate(match.route) != nullptr);
  const bool named = match.route == internal::Route::kCredential ||
                     match.route == internal::Route::kTotp ||
                     match.route == internal::Route::kBackup;
  if (!named) return;
  FUZZ_CHECK(internal::NeedsKey(match.route));
  FUZZ_CHECK(match.raw_name.find('/') == std::string::npos);
  std::optional<std::string> name = internal::PercentDecode(match.raw_name);
  if (!name) return;
  // Decoding is the inverse of encoding every byte.
  std::optional<std::string> again =
      internal::PercentDecode(strongroom::fuzz::PercentEncodeEveryByte(*name));
  FUZZ_CHECK(again && *again == *name);
  if (strongroom::model::ValidateName(*name).ok()) {
    FUZZ_CHECK(!name->empty() && name->size() <= 128);
    FUZZ_CHECK(name->find_first_of("/%?#") == std::string::npos);
  }
}

// The framing check fed the whole input at once and in two reads.
void CheckFramingOf(std::string_view bytes) {
  const internal::FramingOutcome whole = internal::CheckFraming(bytes);
  FUZZ_CHECK(whole.accepted <= bytes.size());
  if (whole.verdict == internal::FramingVerdict::kOk) FUZZ_CHECK(whole.accepted == bytes.size());
  const std::size_t split = bytes.empty() ? 0 : static_cast<unsigned char>(bytes[0]) % bytes.size();
  internal::RequestFraming framing;
  std::size_t accepted = framing.Feed(bytes.substr(0, split));
  if (framing.verdict() == internal::FramingVerdict::kOk)
    accepted += framing.Feed(bytes.substr(split));
  FUZZ_CHECK(framing.verdict() == whole.verdict);
  // A bad request's head split over two reads was passed on in the first (it was
  // acceptable so far), so a split can only hand on more, never less.
  FUZZ_CHECK(accepted >= whole.accepted);
  if (whole.verdict == internal::FramingVerdict::kOk) FUZZ_CHECK(accepted == bytes.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  CheckFramingOf(rest);
  std::string_view request_line = NextLine(&rest);
  std::size_t space = request_line.find(' ');
  std::string_view path =
      space == std::string_view::npos ? request_line : request_line.substr(space + 1);
  CheckPath(path);

  std::string_view content_type;
  while (!rest.empty()) {
    std::string_view line = NextLine(&rest);
    if (line.empty()) break;
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view header = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (header == "Authorization") {
      if (auto token = strongroom::vault::BearerToken(value)) {
        (void)strongroom::vault::ParseApiKeyId(*token);
      }
    } else if (header == "Content-Type") {
      content_type = value;
    }
  }
  strongroom::Status status = internal::CheckPutBody(content_type, rest, kMaxBody);
  if (!status.ok()) {
    FUZZ_CHECK(status.error_code() == "unsupported_media_type" ||
               status.error_code() == "payload_too_large");
  }
  FUZZ_CHECK(internal::CheckPutBody(content_type, rest, 0).ok() == (status.ok() && rest.empty()));
  return 0;
}
