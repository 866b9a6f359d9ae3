#include "api/internal/http_status.h"

#include <nlohmann/json.hpp>

namespace strongroom::api::internal {
namespace {

std::string CodeOr(const Status& status, const char* fallback) {
  return status.error_code().empty() ? std::string(fallback) : status.error_code();
}

}  // namespace

HttpError MapStatus(const Status& status) {
  HttpError out;
  out.message = status.message();
  switch (status.code()) {
    case StatusCode::kOk:
      // Callers map only failures; an OK here is a bug, reported as one.
      out.http_status = 500;
      out.error = "internal_error";
      out.message = "internal error";
      break;
    case StatusCode::kInvalidArgument:
      // A body in a media type we do not read is bad input with its own status.
      out.http_status = status.error_code() == "unsupported_media_type" ? 415 : 400;
      out.error = CodeOr(status, "invalid_request");
      break;
    case StatusCode::kUnauthenticated:
      out.http_status = 401;
      out.error = "unauthorized";
      out.message = "invalid or missing API key";
      out.www_authenticate = true;
      break;
    case StatusCode::kPermissionDenied:
      out.http_status = 403;
      out.error = "insufficient_scope";
      break;
    case StatusCode::kNotFound:
      out.http_status = 404;
      out.error = CodeOr(status, "not_found");
      break;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      // A credential past its expiresAt is gone for reading: 410 (SPEC 5).
      out.http_status = status.error_code() == "expired" ? 410 : 409;
      out.error = CodeOr(status, "conflict");
      break;
    case StatusCode::kResourceExhausted:
      out.http_status = 413;
      out.error = "payload_too_large";
      break;
    case StatusCode::kDataLoss:
      out.http_status = 500;
      out.error = "integrity_error";
      out.message = "stored credential failed its integrity check";
      break;
    case StatusCode::kInternal:
      out.http_status = 500;
      out.error = "internal_error";
      out.message = "internal error";
      break;
    case StatusCode::kUnimplemented:
      out.http_status = 501;
      out.error = "not_implemented";
      break;
    case StatusCode::kUnavailable: {
      out.http_status = 503;
      out.retry_after = true;
      const std::string& code = status.error_code();
      // "the HSM is unavailable", "the audit log is ...", "the store is ..."
      const char* what = code == "hsm_unavailable"     ? "the HSM"
                         : code == "audit_unavailable" ? "the audit log"
                         : code == "store_unavailable" ? "the store"
                                                       : nullptr;
      out.error = what != nullptr ? code : "unavailable";
      out.message =
          std::string(what != nullptr ? what : "the service") + " is unavailable, retry later";
      break;
    }
    case StatusCode::kAborted:
      // A transient conflict the store already retried: ask the client to retry.
      out.http_status = 503;
      out.error = "busy";
      out.message = "the store is busy, retry later";
      out.retry_after = true;
      break;
  }
  return out;
}

std::string ErrorBody(const HttpError& error) {
  nlohmann::ordered_json body;
  body["error"] = error.error;
  body["message"] = error.message;
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace strongroom::api::internal
