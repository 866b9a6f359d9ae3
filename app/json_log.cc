#include "app/json_log.h"

#include <chrono>
#include <ctime>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace strongroom::app {
namespace {

// RFC 3339 UTC with milliseconds, quoted.
std::string QuotedTime(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count() % 1000;
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "\"%Y-%m-%dT%H:%M:%S", &utc);
  return std::string(text, n) + fmt::format(".{:03d}Z\"", static_cast<int>(millis));
}

void Append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

}  // namespace

void JsonLogFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const std::string_view payload(msg.payload.data(), msg.payload.size());
  Append(dest, "{\"time\":");
  Append(dest, QuotedTime(msg.time));
  Append(dest, ",\"level\":\"");
  const auto level = spdlog::level::to_string_view(msg.level);
  Append(dest, std::string_view(level.data(), level.size()));
  Append(dest, "\",");
  // An access log payload is a complete object starting with "msg": its
  // fields follow ours. Anything else is a message, escaped.
  constexpr std::string_view kObject = "{\"msg\":";
  if (payload.substr(0, kObject.size()) == kObject && payload.back() == '}') {
    Append(dest, payload.substr(1));
  } else {
    Append(dest, "\"msg\":");
    Append(dest, nlohmann::json(std::string(payload))
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    Append(dest, "}");
  }
  Append(dest, "\n");
}

std::unique_ptr<spdlog::formatter> JsonLogFormatter::clone() const {
  return std::make_unique<JsonLogFormatter>();
}

void UseJsonLogFormat() { spdlog::set_formatter(std::make_unique<JsonLogFormatter>()); }

}  // namespace strongroom::app
