#include "api/internal/metrics.h"

#include <array>
#include <atomic>
#include <mutex>
#include <string_view>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace strongroom::api::internal {
namespace {

constexpr std::array<int, 17> kStatuses = {200, 201, 204, 400, 401, 403, 404, 405, 406,
                                           408, 409, 410, 413, 415, 429, 500, 503};
constexpr int kStatusCount = static_cast<int>(kStatuses.size()) + 1;  // + "other"

int StatusIndex(int status) {
  for (int i = 0; i < static_cast<int>(kStatuses.size()); ++i) {
    if (kStatuses[static_cast<std::size_t>(i)] == status) return i;
  }
  return kStatusCount - 1;
}

std::string StatusText(int index) {
  if (index == kStatusCount - 1) return "other";
  return std::to_string(kStatuses[static_cast<std::size_t>(index)]);
}

const char* MethodText(int method) {
  static constexpr const char* kNames[kMethodLabelCount] = {"GET", "HEAD",   "POST",
                                                            "PUT", "DELETE", "other"};
  return kNames[method];
}

// Request latencies: a warm GET is well under a millisecond, an HSM unwrap a few.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
  return kBuckets;
}

// Moves `counter` up to `total` (a monotonic count kept elsewhere).
void SyncCounter(prometheus::Counter& counter, std::uint64_t total) {
  const double now = static_cast<double>(total);
  if (now > counter.Value()) counter.Increment(now - counter.Value());
}

}  // namespace

MethodLabel MethodLabelOf(std::string_view method) {
  if (method == "GET") return MethodLabel::kGet;
  if (method == "HEAD") return MethodLabel::kHead;
  if (method == "POST") return MethodLabel::kPost;
  if (method == "PUT") return MethodLabel::kPut;
  if (method == "DELETE") return MethodLabel::kDelete;
  return MethodLabel::kOther;
}

struct Metrics::Impl {
  explicit Impl(vault::Vault* the_vault)
      : keys(the_vault),
        registry(std::make_shared<prometheus::Registry>()),
        requests(prometheus::BuildCounter()
                     .Name("strongroom_requests_total")
                     .Help("HTTP requests answered, by route template, method and status.")
                     .Register(*registry)),
        request_seconds(prometheus::BuildHistogram()
                            .Name("strongroom_request_duration_seconds")
                            .Help("HTTP request latency by route template.")
                            .Register(*registry)),
        hsm_operations(prometheus::BuildCounter()
                           .Name("strongroom_hsm_operations_total")
                           .Help("HSM (PKCS#11) operations since start.")
                           .Register(*registry)
                           .Add({})),
        hsm_seconds(prometheus::BuildHistogram()
                        .Name("strongroom_hsm_operation_duration_seconds")
                        .Help("Latency of key manager calls into the HSM (KEK unwrap and wrap, "
                              "health probe).")
                        .Register(*registry)
                        .Add({}, LatencyBuckets())),
        cache_hits(prometheus::BuildCounter()
                       .Name("strongroom_key_cache_hits_total")
                       .Help("Key cache hits by level (kek, dek).")
                       .Register(*registry)),
        cache_misses(prometheus::BuildCounter()
                         .Name("strongroom_key_cache_misses_total")
                         .Help("Key cache misses by level (kek, dek).")
                         .Register(*registry)),
        kek_hits(cache_hits.Add({{"level", "kek"}})),
        dek_hits(cache_hits.Add({{"level", "dek"}})),
        kek_misses(cache_misses.Add({{"level", "kek"}})),
        dek_misses(cache_misses.Add({{"level", "dek"}})),
        store_errors(prometheus::BuildCounter()
                         .Name("strongroom_store_errors_total")
                         .Help("Requests that failed because the store was unavailable.")
                         .Register(*registry)
                         .Add({})),
        audit_events(prometheus::BuildCounter()
                         .Name("strongroom_audit_events_total")
                         .Help("Audit events recorded.")
                         .Register(*registry)
                         .Add({})) {
    for (int route = 0; route < kRouteCount; ++route) {
      route_seconds[static_cast<std::size_t>(route)] = &request_seconds.Add(
          {{"route", RouteTemplate(static_cast<Route>(route))}}, LatencyBuckets());
    }
  }

  prometheus::Counter& RequestCounter(int route, int method, int status) {
    std::atomic<prometheus::Counter*>& slot = counters[route][method][status];
    prometheus::Counter* counter = slot.load(std::memory_order_acquire);
    if (counter != nullptr) return *counter;
    // First request of this kind: Family::Add returns the existing series if
    // another thread added it meanwhile.
    counter = &requests.Add({{"route", RouteTemplate(static_cast<Route>(route))},
                             {"method", MethodText(method)},
                             {"status", StatusText(status)}});
    slot.store(counter, std::memory_order_release);
    return *counter;
  }

  vault::Vault* keys;  // the key manager's numbers, through the vault
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Counter>& requests;
  prometheus::Family<prometheus::Histogram>& request_seconds;
  prometheus::Counter& hsm_operations;
  prometheus::Histogram& hsm_seconds;
  prometheus::Family<prometheus::Counter>& cache_hits;
  prometheus::Family<prometheus::Counter>& cache_misses;
  prometheus::Counter& kek_hits;
  prometheus::Counter& dek_hits;
  prometheus::Counter& kek_misses;
  prometheus::Counter& dek_misses;
  prometheus::Counter& store_errors;
  prometheus::Counter& audit_events;
  std::array<prometheus::Histogram*, kRouteCount> route_seconds{};
  std::atomic<prometheus::Counter*> counters[kRouteCount][kMethodLabelCount][kStatusCount]{};
  std::mutex scrape_mu;  // serialises the sync of key manager counts
};

Metrics::Metrics(vault::Vault* keys, const BuildInfo& build) : impl_(std::make_unique<Impl>(keys)) {
  prometheus::BuildGauge()
      .Name("strongroom_build_info")
      .Help("Always 1; the labels name the running build.")
      .Register(*impl_->registry)
      .Add({{"version", build.version}, {"commit", build.commit}})
      .Set(1);
  if (keys != nullptr) keys->ObserveHsmCalls([this](double seconds) { ObserveHsmCall(seconds); });
}

Metrics::~Metrics() {
  if (impl_->keys != nullptr) impl_->keys->ObserveHsmCalls({});
}

void Metrics::ObserveRequest(Route route, MethodLabel method, int status, double seconds) {
  const int r = static_cast<int>(route);
  impl_->RequestCounter(r, static_cast<int>(method), StatusIndex(status)).Increment();
  impl_->route_seconds[static_cast<std::size_t>(r)]->Observe(seconds);
}

void Metrics::CountStoreError() { impl_->store_errors.Increment(); }

void Metrics::ObserveHsmCall(double seconds) { impl_->hsm_seconds.Observe(seconds); }

std::string Metrics::Scrape() {
  std::lock_guard<std::mutex> lock(impl_->scrape_mu);
  if (impl_->keys != nullptr) {
    SyncCounter(impl_->hsm_operations, impl_->keys->HsmOperations());
    const vault::Vault::KeyCacheCounts counts = impl_->keys->KeyCacheStatistics();
    SyncCounter(impl_->kek_hits, counts.kek_hits);
    SyncCounter(impl_->kek_misses, counts.kek_misses);
    SyncCounter(impl_->dek_hits, counts.dek_hits);
    SyncCounter(impl_->dek_misses, counts.dek_misses);
  }
  return prometheus::TextSerializer().Serialize(impl_->registry->Collect());
}

}  // namespace strongroom::api::internal
