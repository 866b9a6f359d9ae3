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

// 16 random hex digits.
std::string NewRequestId();

void LogAccess(bool json, const AccessRecord& record);

}  // namespace strongroom::api::internal
