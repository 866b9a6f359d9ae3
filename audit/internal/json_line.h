// Strict reading of one flat JSON object line (an event or a checkpoint), shared by
// event.cc and checkpoint.cc. Folder-private.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.h"

namespace strongroom::audit::internal {

// Reads fields of one JSON object; errors are InvalidArgument "<what>: <reason>".
class JsonLine final {
 public:
  // Parses `line` as a JSON object whose keys are exactly `keys` (none missing, unknown or
  // repeated: json::parse would silently keep the last of repeated keys, letting a line show
  // one value to a reader and verify with another).
  static Result<JsonLine> Parse(std::string_view line, std::span<const std::string_view> keys,
                                std::string_view what);

  Result<std::string> String(std::string_view key) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key) const;
  // A JSON integer that fits in int64 (no fraction, no exponent form of a float).
  Result<std::int64_t> Int(std::string_view key) const;
  Result<std::optional<std::int64_t>> OptionalInt(std::string_view key) const;

  Status Invalid(std::string reason) const;

 private:
  JsonLine(nlohmann::json value, std::string_view what) : value_(std::move(value)), what_(what) {}
  const nlohmann::json& At(std::string_view key) const { return value_.at(std::string(key)); }

  nlohmann::json value_;
  std::string what_;
};

}  // namespace strongroom::audit::internal
