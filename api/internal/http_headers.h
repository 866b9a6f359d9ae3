// Response headers Pistache 0.0.5 has no typed class for. Internal to api/.
#pragma once

#include <ostream>

#include <pistache/http_headers.h>

namespace strongroom::api::internal {

// Pistache 0.0.5 has no typed WWW-Authenticate or Retry-After header; these
// two are what Collection::add<> needs to write them.
class WwwAuthenticateHeader final : public Pistache::Http::Header::Header {
 public:
  NAME("WWW-Authenticate")
  void write(std::ostream& os) const override { os << "Bearer"; }
};
class RetryAfterHeader final : public Pistache::Http::Header::Header {
 public:
  NAME("Retry-After")
  RetryAfterHeader() = default;
  explicit RetryAfterHeader(int seconds) : seconds_(seconds) {}
  void write(std::ostream& os) const override { os << seconds_; }

 private:
  int seconds_ = 1;
};

}  // namespace strongroom::api::internal
