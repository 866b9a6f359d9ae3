// The access log: one line per answered request (SPEC 14 [log]).
//
// Text: "METHOD PATH STATUS 1.234ms" as before. JSON: the payload is an object
// {"msg":"request","requestId",...,"keyId"} that app/json_log's formatter
// completes with time and level. Neither form ever holds a body, a header
// value or a secret; the JSON form names the route template, not the path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strongroom::api::internal {

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view path;   // text form only
  std::string_view route;  // JSON form: the route template
  int status = 0;
  double duration_ms = 0;
  std::optional<std::int64_t> identity_id;  // when the request was authenticated
  std::string_view key_id;                  // public key id of the presented key, if any
};

// `bytes` safe for a log line (SPEC 5a): printable ASCII stays, a backslash
// becomes "\\" and every other byte (control characters, ESC, DEL, anything
// above 0x7f, so also invalid UTF-8) becomes "\xHH".
std::string EscapeForLog(std::string_view bytes);

// 16 random hex digits.
std::string NewRequestId();

// The method and path (text form) are escaped here.
void LogAccess(bool json, const AccessRecord& record);

// A request refused before it reached a route (framing, SPEC 5a): the start of
// its request line (escaped here), the status and the reason.
void LogRefused(bool json, std::string_view request_line, int status, std::string_view reason);

}  // namespace strongroom::api::internal
