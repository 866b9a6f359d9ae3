// Status: the result of a fallible operation, after abseil's absl::Status.
//
// A Status carries a canonical code, an optional API error code (the snake_case
// "error" string of the REST error body, e.g. "invalid_name"), and a message.
// The message is log-safe by contract: it never contains a secret value, a key,
// a PIN or an API key. Code that builds a Status from input must not echo the
// input's secret parts.
//
// Thread safety: a Status is a value; distinct objects may be used concurrently.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace strongroom {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // 400: bad input (validation, malformed request)
  kUnauthenticated,     // 401: missing, malformed, unknown, expired or revoked key
  kPermissionDenied,    // 403: authenticated but lacking the scope
  kNotFound,            // 404
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409: e.g. no backup codes left
  kExpired,             // 410: credential past expiresAt
  kResourceExhausted,   // 413: body too large
  kUnsupportedMedia,    // 415
  kDataLoss,            // 500 integrity_error: authenticated decryption failed
  kInternal,            // 500
  kUnimplemented,       // 501
  kUnavailable,         // 503: store or HSM unreachable
  kAborted,             // transient conflict (deadlock, busy); callers may retry
};

// Returns the canonical name of `code` ("INVALID_ARGUMENT"), for logs.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // OK.
  Status() = default;
  Status(StatusCode code, std::string message, std::string error_code = {})
      : code_(code), message_(std::move(message)), error_code_(std::move(error_code)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The API error code ("invalid_name"); empty when the canonical mapping applies.
  const std::string& error_code() const { return error_code_; }

  // "NOT_FOUND: credential not found" (log-safe).
  std::string ToString() const;

  // Explicitly ignore a Status whose failure does not matter to the caller.
  void IgnoreError() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string error_code_;
};

// Shorthands; `error_code` is the API error string when the default mapping
// for the canonical code is not specific enough.
Status InvalidArgumentError(std::string message, std::string error_code = "invalid_request");
Status UnauthenticatedError(std::string message);
Status PermissionDeniedError(std::string message);
Status NotFoundError(std::string message);
Status AlreadyExistsError(std::string message, std::string error_code = "already_exists");
Status FailedPreconditionError(std::string message, std::string error_code);
Status InternalError(std::string message);
Status UnavailableError(std::string message, std::string error_code = "unavailable");
Status DataLossError(std::string message);
Status AbortedError(std::string message);
Status UnimplementedError(std::string message);

}  // namespace strongroom

// Evaluates `expr` (a Status); returns it from the enclosing function if not OK.
#define SR_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::strongroom::Status sr_status_ = (expr); \
    if (!sr_status_.ok()) return sr_status_;  \
  } while (false)
