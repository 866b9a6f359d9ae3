#include "api/internal/access_log.h"

#include <cmath>
#include <random>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace strongroom::api::internal {

std::string NewRequestId() {
  // Request ids need to be unique, not unpredictable: a per-thread PRNG seeded once.
  thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t bits = generator();
  std::string id(16, '0');
  for (char& c : id) {
    c = kHex[bits & 0xf];
    bits >>= 4;
  }
  return id;
}

void LogAccess(bool json, const AccessRecord& record) {
  if (!json) {
    spdlog::info("{} {} {} {:.3f}ms", record.method, record.path, record.status,
                 record.duration_ms);
    return;
  }
  nlohmann::ordered_json line;
  line["msg"] = "request";
  line["requestId"] = std::string(record.request_id);
  line["method"] = std::string(record.method);
  line["route"] = std::string(record.route);
  line["status"] = record.status;
  line["duration_ms"] = std::round(record.duration_ms * 1000.0) / 1000.0;
  line["identity"] = record.identity_id ? nlohmann::ordered_json(*record.identity_id) : nullptr;
  line["keyId"] =
      record.key_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(record.key_id);
  spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace strongroom::api::internal
