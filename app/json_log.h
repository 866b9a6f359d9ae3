// `[log] format = "json"` (SPEC 14): every log line one JSON object,
// {"time","level","msg",...}. Access log lines (api/internal/access_log) carry
// their own fields (requestId, method, route, status, duration_ms, identity,
// keyId) as a JSON object payload, which is merged in; any other message
// becomes "msg", escaped. Sinks are unchanged, so stderr keeps its buffering
// when it is not a terminal (app/log_sink.h).
#pragma once

#include <memory>

#include <spdlog/formatter.h>

namespace strongroom::app {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

// Switches every logger to JsonLogFormatter.
void UseJsonLogFormat();

}  // namespace strongroom::app
