// The one mapping from Status (canonical code + reason) to an HTTP error
// response (SPEC 5 error model), used by the REST and the MCP face alike.
#pragma once

#include <string>

#include "base/status.h"

namespace strongroom::api::internal {

struct HttpError {
  int http_status = 500;
  std::string error;              // snake_case "error" field
  std::string message;            // "message" field: log-safe, generic for 5xx
  bool www_authenticate = false;  // 401: add "WWW-Authenticate: Bearer"
  bool retry_after = false;       // 503: add "Retry-After"
};

// One switch over StatusCode; the reason refines it where SPEC 5 has a status
// of its own (FAILED_PRECONDITION "expired" is 410, INVALID_ARGUMENT
// "unsupported_media_type" is 415) and names the "error". 5xx messages are generic: the Status's
// own message goes to the log, not to the client.
HttpError MapStatus(const Status& status);

// {"error":...,"message":...} serialised.
std::string ErrorBody(const HttpError& error);

}  // namespace strongroom::api::internal
