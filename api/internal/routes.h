// The routes of SPEC 5 plus probes, matched without Pistache's router.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace strongroom::api::internal {

// One per route template; kOther for any path that is none of them.
enum class Route : std::uint8_t {
  kHealthz,
  kReadyz,
  kMetrics,
  kWhoami,
  kMcp,
  kList,
  kCredential,
  kTotp,
  kBackup,
  kOther,
};
inline constexpr int kRouteCount = 10;

// The route template ("/v0/vault/:name"; "other" for kOther): what metrics
// and the JSON access log name, never the path itself.
const char* RouteTemplate(Route route);

struct Match {
  Route route = Route::kOther;
  std::string raw_name;  // still percent-encoded
};

Match MatchPath(std::string_view path);

// Routes whose requests present an API key (the [limits] apply to them).
bool NeedsKey(Route route);

// Percent-decodes one path segment (RFC 3986 section 2.1); nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view in);

}  // namespace strongroom::api::internal
