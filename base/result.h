// Result<T>: a T or the Status that explains why there is none (absl::StatusOr).
#pragma once

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>

#include "base/status.h"

namespace strongroom {

template <typename T>
class [[nodiscard]] Result {
 public:
  // Implicit from a value or a non-OK Status, so `return value;` and
  // `return NotFoundError(...);` both work.
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = Status(StatusCode::kInternal, "Result built from OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace strongroom

#define SR_CONCAT_INNER_(a, b) a##b
#define SR_CONCAT_(a, b) SR_CONCAT_INNER_(a, b)

// SR_ASSIGN_OR_RETURN(auto x, Fn());  declares/assigns x from a Result or returns its Status.
#define SR_ASSIGN_OR_RETURN(lhs, expr) \
  SR_ASSIGN_OR_RETURN_IMPL_(SR_CONCAT_(sr_result_, __LINE__), lhs, expr)
#define SR_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                              \
  if (!result.ok()) return result.status();          \
  lhs = std::move(result).value()
