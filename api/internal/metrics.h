// The Prometheus metrics of SPEC 14, kept with prometheus-cpp-core (a Registry
// serialised by TextSerializer on GET /metrics; no pull server of its own).
//
// Labels are bounded by construction: the route label is a route TEMPLATE
// ("/v0/vault/:name"), never a path, credential name or key id; unknown paths
// are "other", as are methods and statuses outside fixed lists. So at most
// 9 routes x 6 methods x 18 statuses request series can ever exist.
//
// Hot path: ObserveRequest indexes a fixed table of counter pointers (created
// on first use) and one histogram per route; no map lookup or string
// building per request. HSM operation and key cache counts are read from the
// key manager at scrape time, so they cost the request path nothing.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/internal/routes.h"
#include "vault/vault.h"

namespace strongroom::api::internal {

enum class MethodLabel : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kOther };
inline constexpr int kMethodLabelCount = 6;

// The `method` label of an HTTP method name ("GET"); unknown names are kOther.
MethodLabel MethodLabelOf(std::string_view method);

struct BuildInfo {
  std::string version;
  std::string commit;
};

class Metrics final {
 public:
  // `vault` is not owned and must outlive this object; it may be null (no HSM
  // or cache numbers). Registers itself as the key manager's HSM observer and
  // unregisters on destruction.
  Metrics(vault::Vault* vault, const BuildInfo& build);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One answered request: counted in requests_total and its route's histogram.
  void ObserveRequest(Route route, MethodLabel method, int status, double seconds);
  // A request that failed because the store was unavailable.
  void CountStoreError();
  // One HSM call of `seconds` (the vault forwards the key manager's).
  void ObserveHsmCall(double seconds);

  // The Prometheus text exposition of every metric.
  std::string Scrape();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::api::internal
