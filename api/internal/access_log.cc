#include "api/internal/access_log.h"

#include <cmath>
#include <random>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace strongroom::api::internal {
namespace {

bool IsPlain(char c) { return c >= 0x20 && c <= 0x7e && c != '\\'; }

// Most paths need no escaping: those are logged without a copy.
class Escaped {
 public:
  explicit Escaped(std::string_view bytes) : view_(bytes) {
    for (char c : bytes) {
      if (!IsPlain(c)) {
        copy_ = EscapeForLog(bytes);
        view_ = copy_;
        break;
      }
    }
  }
  std::string_view view() const { return view_; }

 private:
  std::string_view view_;
  std::string copy_;
};

}  // namespace

std::string EscapeForLog(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    if (IsPlain(c)) {
      out += c;
    } else if (c == '\\') {
      out += "\\\\";
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

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
    spdlog::info("{} {} {} {:.3f}ms", Escaped(record.method).view(), Escaped(record.path).view(),
                 record.status, record.duration_ms);
    return;
  }
  nlohmann::ordered_json line;
  line["msg"] = "request";
  line["requestId"] = std::string(record.request_id);
  line["method"] = std::string(Escaped(record.method).view());
  line["route"] = std::string(record.route);
  line["status"] = record.status;
  line["duration_ms"] = std::round(record.duration_ms * 1000.0) / 1000.0;
  line["identity"] = record.identity_id ? nlohmann::ordered_json(*record.identity_id) : nullptr;
  line["keyId"] =
      record.key_id.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(record.key_id);
  spdlog::info("{}", line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void LogRefused(bool json, std::string_view request_line, int status, std::string_view reason) {
  const std::string line = EscapeForLog(request_line);
  if (!json) {
    spdlog::info("{} {} refused: {}", line, status, reason);
    return;
  }
  nlohmann::ordered_json record;
  record["msg"] = "request_refused";
  record["requestLine"] = line;
  record["status"] = status;
  record["reason"] = std::string(reason);
  spdlog::info("{}", record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace strongroom::api::internal
