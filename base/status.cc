#include "base/status.h"

namespace strongroom {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
    case StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kAborted:
      return "ABORTED";
  }
  return "UNKNOWN";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code_));
  if (!error_code_.empty()) out += "[" + error_code_ + "]";
  out += ": ";
  out += message_;
  return out;
}

Status InvalidArgumentError(std::string message, std::string error_code) {
  return Status(StatusCode::kInvalidArgument, std::move(message), std::move(error_code));
}
Status UnauthenticatedError(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message), "unauthorized");
}
Status PermissionDeniedError(std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message), "insufficient_scope");
}
Status NotFoundError(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message), "not_found");
}
Status AlreadyExistsError(std::string message, std::string error_code) {
  return Status(StatusCode::kAlreadyExists, std::move(message), std::move(error_code));
}
Status FailedPreconditionError(std::string message, std::string error_code) {
  return Status(StatusCode::kFailedPrecondition, std::move(message), std::move(error_code));
}
Status InternalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message), "internal_error");
}
Status UnavailableError(std::string message, std::string error_code) {
  return Status(StatusCode::kUnavailable, std::move(message), std::move(error_code));
}
Status DataLossError(std::string message) {
  return Status(StatusCode::kDataLoss, std::move(message), "integrity_error");
}
Status AbortedError(std::string message) {
  return Status(StatusCode::kAborted, std::move(message), "conflict");
}
Status UnimplementedError(std::string message) {
  return Status(StatusCode::kUnimplemented, std::move(message), "not_implemented");
}

}  // namespace strongroom
