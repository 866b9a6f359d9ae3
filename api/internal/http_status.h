// The one mapping from Status to an HTTP error response (SPEC 5 error model).
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

// One switch over StatusCode. 5xx messages are generic: the Status's own
// message goes to the log, not to the client.
HttpError MapStatus(const Status& status);

// {"error":...,"message":...} serialised.
std::string ErrorBody(const HttpError& error);

}  // namespace strongroom::api::internal
