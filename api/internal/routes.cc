#include "api/internal/routes.h"

namespace strongroom::api::internal {

const char* RouteTemplate(Route route) {
  switch (route) {
    case Route::kHealthz:
      return "/healthz";
    case Route::kReadyz:
      return "/readyz";
    case Route::kMetrics:
      return "/metrics";
    case Route::kWhoami:
      return "/v0/whoami";
    case Route::kMcp:
      return "/mcp";
    case Route::kList:
      return "/v0/vault";
    case Route::kCredential:
      return "/v0/vault/:name";
    case Route::kTotp:
      return "/v0/vault/:name/totp";
    case Route::kBackup:
      return "/v0/vault/:name/totp/backup";
    case Route::kOther:
      break;
  }
  return "other";
}

Match MatchPath(std::string_view path) {
  if (path == "/healthz") return {Route::kHealthz, {}};
  if (path == "/readyz") return {Route::kReadyz, {}};
  if (path == "/metrics") return {Route::kMetrics, {}};
  if (path == "/mcp") return {Route::kMcp, {}};
  if (path == "/v0/whoami") return {Route::kWhoami, {}};
  if (path == "/v0/vault") return {Route::kList, {}};
  constexpr std::string_view kPrefix = "/v0/vault/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return {};
  std::string_view rest = path.substr(kPrefix.size());
  std::size_t slash = rest.find('/');
  std::string_view name = rest.substr(0, slash);
  if (name.empty()) return {};
  if (slash == std::string_view::npos) return {Route::kCredential, std::string(name)};
  std::string_view tail = rest.substr(slash);
  if (tail == "/totp") return {Route::kTotp, std::string(name)};
  if (tail == "/totp/backup") return {Route::kBackup, std::string(name)};
  return {};
}

bool NeedsKey(Route route) {
  return route == Route::kWhoami || route == Route::kList || route == Route::kCredential ||
         route == Route::kTotp || route == Route::kBackup || route == Route::kMcp;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hex(in[i + 1]);
    int lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace strongroom::api::internal
