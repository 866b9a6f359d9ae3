// One response as our routes build it (Reply) and how it is written: through
// Pistache's ResponseWriter, or by us for HEAD (status and headers of the GET,
// no body, SPEC 5a). Also the request-header helpers the routes share.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <pistache/async.h>
#include <pistache/http.h>
#include <nlohmann/json_fwd.hpp>

#include "api/internal/http_status.h"
#include "api/internal/routes.h"
#include "base/status.h"

namespace strongroom::api::internal {

// The response of one request, built by a route and written once.
struct Reply {
  int status = 200;
  std::string body;  // empty for 204
  bool json = true;
  bool text = false;  // text/plain (GET /metrics) instead of JSON
  std::optional<HttpError> error;
  std::vector<Pistache::Http::Method> allow;  // 405 only
  int retry_after_seconds = 1;                // with error->retry_after
  std::optional<std::int64_t> identity_id;    // for the access log, when known
};

Reply JsonReply(int status, const nlohmann::ordered_json& body);
Reply ErrorReply(const Status& status);
Reply ErrorReply(int http_status, std::string error, std::string message);

// The value of request header `name` as sent, or nullopt.
std::optional<std::string> HeaderValue(const Pistache::Http::Request& request,
                                       const std::string& name);

// The methods a route answers (the Allow header of a 405). HEAD is answered
// wherever GET is, and not listed.
std::vector<Pistache::Http::Method> AllowedMethods(Route route);

// Whether the client asked to close the connection after this response
// (Connection: close, or HTTP/1.0 without Connection: keep-alive).
bool WantsClose(const Pistache::Http::Request& request);

// Writes `reply` through Pistache (with a body) or, for HEAD, the same status
// line and headers without the body. Returns the write's promise.
Pistache::Async::Promise<ssize_t> SendReply(const Pistache::Http::Request& request,
                                            const Reply& reply,
                                            Pistache::Http::ResponseWriter& response);

}  // namespace strongroom::api::internal
