// Time, injectable for tests (Envoy's TimeSource). Times are Unix milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strongroom {

using UnixMillis = std::int64_t;

// Purpose: the one source of "now" for the vault; tests pass a fake.
// Thread safety: implementations must be safe to call concurrently.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual UnixMillis NowMillis() const = 0;
  // The process-wide real clock.
  static const Clock& Real();
};

// Formats as RFC 3339 UTC with milliseconds: "2026-11-28T14:07:21.123Z".
std::string FormatRfc3339(UnixMillis t);
// Parses an RFC 3339 date-time (any offset, optional fraction); nullopt if invalid.
std::optional<UnixMillis> ParseRfc3339(std::string_view text);

}  // namespace strongroom
