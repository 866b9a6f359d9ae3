#include "api/internal/reply.h"

#include <sstream>
#include <utility>

#include <pistache/http_headers.h>
#include <pistache/peer.h>
#include <nlohmann/json.hpp>

#include "api/internal/framed_handler.h"

namespace strongroom::api::internal {
namespace {

namespace Http = Pistache::Http;

// Pistache 0.0.5 has no typed WWW-Authenticate or Retry-After header; these
// two are what Collection::add<> needs to write them.
class WwwAuthenticateHeader final : public Http::Header::Header {
 public:
  NAME("WWW-Authenticate")
  void write(std::ostream& os) const override { os << "Bearer"; }
};
class RetryAfterHeader final : public Http::Header::Header {
 public:
  NAME("Retry-After")
  RetryAfterHeader() = default;
  explicit RetryAfterHeader(int seconds) : seconds_(seconds) {}
  void write(std::ostream& os) const override { os << seconds_; }

 private:
  int seconds_ = 1;
};

const char* ContentTypeOf(const Reply& reply) {
  if (reply.text) return "text/plain";
  if (reply.status == 204 || !reply.json) return "";
  return "application/json";
}

// HEAD: what the GET would send, without the body, written by us (Pistache
// always writes the body it is given and a Content-Length to match).
Pistache::Async::Promise<ssize_t> SendHead(const Http::Request& request, const Reply& reply,
                                           Http::ResponseWriter& response) {
  std::string extra;
  if (reply.error && reply.error->www_authenticate) extra += "WWW-Authenticate: Bearer\r\n";
  if (reply.error && reply.error->retry_after) {
    extra += "Retry-After: " + std::to_string(reply.retry_after_seconds) + "\r\n";
  }
  if (!reply.allow.empty()) {
    std::ostringstream allow;
    Http::Header::Allow(reply.allow).write(allow);
    extra += "Allow: " + allow.str() + "\r\n";
  }
  std::string head = ResponseHead(reply.status, ContentTypeOf(reply), reply.body.size(), extra,
                                  WantsClose(request));
  std::shared_ptr<Pistache::Tcp::Peer> peer = response.getPeer();
  if (!peer) return Pistache::Async::Promise<ssize_t>::resolved(0);
  peer->setIdle(true);  // as Pistache's own send does: keep-alive timing starts
  const std::size_t size = head.size();
  return peer->send(Pistache::RawBuffer(std::move(head), size));
}

}  // namespace

Reply JsonReply(int status, const nlohmann::ordered_json& body) {
  Reply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

Reply ErrorReply(const Status& status) {
  Reply reply;
  reply.error = MapStatus(status);
  reply.status = reply.error->http_status;
  reply.body = ErrorBody(*reply.error);
  return reply;
}

Reply ErrorReply(int http_status, std::string error, std::string message) {
  Reply reply;
  reply.error = HttpError{http_status, std::move(error), std::move(message)};
  reply.status = http_status;
  reply.body = ErrorBody(*reply.error);
  return reply;
}

// Pistache keeps a raw copy of every header; typed headers are written back as a fallback.
std::optional<std::string> HeaderValue(const Http::Request& request, const std::string& name) {
  const auto& headers = request.headers();
  if (auto raw = headers.tryGetRaw(name)) return raw->value();
  if (auto typed = headers.tryGet(name)) {
    std::ostringstream os;
    typed->write(os);
    return os.str();
  }
  return std::nullopt;
}

std::vector<Http::Method> AllowedMethods(Route route) {
  switch (route) {
    case Route::kHealthz:
    case Route::kReadyz:
    case Route::kMetrics:
    case Route::kWhoami:
    case Route::kList:
    case Route::kTotp:
      return {Http::Method::Get};
    case Route::kCredential:
      return {Http::Method::Get, Http::Method::Put, Http::Method::Delete};
    case Route::kBackup:
      return {Http::Method::Post};
    case Route::kMcp:
      return {Http::Method::Get, Http::Method::Post};
    case Route::kOther:
      break;
  }
  return {};
}

bool WantsClose(const Http::Request& request) {
  auto connection = request.headers().tryGet<Http::Header::Connection>();
  if (connection) return connection->control() == Http::ConnectionControl::Close;
  return request.version() != Http::Version::Http11;
}

Pistache::Async::Promise<ssize_t> SendReply(const Http::Request& request, const Reply& reply,
                                            Http::ResponseWriter& response) {
  if (request.method() == Http::Method::Head) return SendHead(request, reply, response);
  auto& headers = response.headers();
  // Pistache 0.0.5 answers every request without a Connection header with
  // "Connection: Close", but HTTP/1.1 connections are persistent by default
  // (RFC 9112 section 9.3): keep them open unless the client asked otherwise.
  if (request.version() == Http::Version::Http11 &&
      !request.headers().has<Http::Header::Connection>()) {
    headers.remove<Http::Header::Connection>();
    headers.add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
  }
  if (reply.error && reply.error->www_authenticate) headers.add<WwwAuthenticateHeader>();
  if (reply.error && reply.error->retry_after) {
    headers.add<RetryAfterHeader>(reply.retry_after_seconds);
  }
  if (!reply.allow.empty()) headers.add<Http::Header::Allow>(reply.allow);
  const auto code = static_cast<Http::Code>(reply.status);
  if (reply.text) return response.send(code, reply.body, MIME(Text, Plain));
  if (reply.status == 204 || !reply.json) return response.send(code);
  return response.send(code, reply.body, MIME(Application, Json));
}

}  // namespace strongroom::api::internal
