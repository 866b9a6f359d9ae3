// Status: the result of a fallible operation, after abseil's absl::Status.
//
// A Status carries a canonical code (abseil's set, minus the ones we never use),
// an optional reason (a snake_case detail such as "invalid_name" or "expired"
// that says which kind of failure of that code it is), and a message. Statuses
// know nothing about transports: the faces (api/) map code and reason to an
// HTTP status and an API error string in one place.
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
  kInvalidArgument,     // bad input (validation, malformed request, wrong media type)
  kUnauthenticated,     // missing, malformed, unknown, expired or revoked key
  kPermissionDenied,    // authenticated but lacking the scope
  kNotFound,            // no such thing (or not visible to the caller)
  kAlreadyExists,       // the thing to create exists
  kFailedPrecondition,  // not in a state for this: no backup codes left, expired
  kResourceExhausted,   // a size limit was exceeded (request body too large)
  kDataLoss,            // authenticated decryption failed: the data is corrupt
  kInternal,            // a broken invariant
  kUnimplemented,       // not supported by this build
  kUnavailable,         // a dependency (store, HSM) is unreachable
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
  // The reason, a snake_case detail of the code ("invalid_name", "expired");
  // empty when the code says it all.
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

// Shorthands; `error_code` is the reason when the canonical code alone is not
// specific enough.
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
