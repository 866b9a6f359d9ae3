#include "api/internal/framed_handler.h"

#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>

#include <string>
#include <utility>

#include <pistache/peer.h>
#include <pistache/transport.h>
#include <spdlog/spdlog.h>

#include "api/internal/access_log.h"
#include "api/internal/framing.h"
#include "api/internal/http_status.h"

namespace strongroom::api::internal {
namespace {

namespace Http = Pistache::Http;
namespace Tcp = Pistache::Tcp;

constexpr const char* kStateKey = "sr.connection";

// What we keep per connection, as the peer's data: it lives as long as the
// peer, so the open-connection count is right however Pistache closes it.
struct ConnectionState {
  explicit ConnectionState(std::shared_ptr<ConnectionPolicy> p)
      : policy(std::move(p)), framing(policy->max_body_bytes) {
    open_now = policy->open.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  ~ConnectionState() { policy->open.fetch_sub(1, std::memory_order_relaxed); }
  ConnectionState(const ConnectionState&) = delete;
  ConnectionState& operator=(const ConnectionState&) = delete;

  std::shared_ptr<ConnectionPolicy> policy;
  RequestFraming framing;
  int open_now = 0;
  bool dropping = false;  // refused or closing: input is ignored
  bool gone = false;      // Pistache reported the disconnection
};

std::shared_ptr<ConnectionState> StateOf(const std::shared_ptr<Tcp::Peer>& peer) {
  return std::static_pointer_cast<ConnectionState>(peer->tryGetData(kStateKey));
}

// Shuts `fd` (`how`: SHUT_WR or SHUT_RDWR) unless its connection is gone; on
// the worker thread, after a write. Pistache sees the end of the stream and
// closes the socket itself.
void ShutdownLater(Pistache::Async::Promise<ssize_t> sent, std::weak_ptr<ConnectionState> weak,
                   int fd, int how) {
  auto shut = [weak, fd, how] {
    if (auto state = weak.lock(); state && !state->gone) ::shutdown(fd, how);
  };
  sent.then([shut](ssize_t) { shut(); }, [shut](std::exception_ptr) { shut(); });
}

// Our JSON 400/413 for a request that broke a framing rule (or that
// Pistache could not parse), then the end of the stream.
void Refuse(const std::shared_ptr<Tcp::Peer>& peer, const std::shared_ptr<ConnectionState>& state,
            int status, std::string_view reason) {
  state->dropping = true;
  const RequestFraming& framing = state->framing;
  HttpError error{status, "bad_request", std::string(reason)};
  if (status == 413) error.error = "payload_too_large";
  if (status == 500) {  // SPEC 5a: a generic message
    error.error = "internal_error";
    error.message = "internal error";
  }
  const std::string body = ErrorBody(error);
  std::string response = ResponseHead(error.http_status, "application/json", body.size(), "", true);
  response += body;
  LogRefused(state->policy->json_log, framing.request_line(), error.http_status, reason);
  const std::size_t size = response.size();
  ShutdownLater(peer->send(Pistache::RawBuffer(std::move(response), size)), state, peer->fd(),
                SHUT_WR);
}

int OpenDescriptors() {
  std::error_code error;
  int count = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
       it.increment(error)) {
    ++count;
  }
  return count;
}

}  // namespace

int ConnectionCapForFdLimit(int max_connections) {
  // Besides client sockets: what is open now (store, HSM, logs, listener)
  // and a reserve for what opens later (timers, store reconnects, files).
  constexpr int kReserve = 64;
  const int needed_besides = OpenDescriptors() + kReserve;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return max_connections;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + needed_besides;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return max_connections;
  const int cap = std::max(1, static_cast<int>(limit.rlim_cur) - needed_besides);
  spdlog::warn("server.max_connections {} lowered to {}: the file descriptor limit is {}",
               max_connections, cap, static_cast<long long>(limit.rlim_cur));
  return cap;
}

std::string ResponseHead(int status, std::string_view content_type, std::size_t content_length,
                         std::string_view extra_headers, bool close) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + ' ';
  head += Http::codeString(static_cast<Http::Code>(status));
  head += "\r\n";
  if (!content_type.empty()) {
    head += "Content-Type: ";
    head += content_type;
    head += "\r\n";
  }
  head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += extra_headers;
  head += close ? "Connection: close\r\n\r\n" : "Connection: Keep-Alive\r\n\r\n";
  return head;
}

FramedHandler::FramedHandler(std::shared_ptr<Http::Handler> inner,
                             std::shared_ptr<ConnectionPolicy> policy)
    : inner_(std::move(inner)), policy_(std::move(policy)) {}

FramedHandler::FramedHandler(const FramedHandler& other)
    : Http::Handler(other),
      inner_(std::static_pointer_cast<Http::Handler>(other.inner_->clone())),
      policy_(other.policy_) {
  inner_->setMaxRequestSize(other.inner_->getMaxRequestSize());
  inner_->setMaxResponseSize(other.inner_->getMaxResponseSize());
}

std::shared_ptr<Tcp::Handler> FramedHandler::clone() const {
  return std::make_shared<FramedHandler>(*this);
}

void FramedHandler::onRequest(const Http::Request& /*request*/, Http::ResponseWriter /*response*/) {
}

void FramedHandler::onConnection(const std::shared_ptr<Tcp::Peer>& peer) {
  auto state = std::make_shared<ConnectionState>(policy_);
  peer->putData(kStateKey, state);
  static_cast<Tcp::Handler&>(*inner_).onConnection(peer);  // Pistache's parser
  if (state->open_now > policy_->max_connections) {
    state->dropping = true;
    ::shutdown(peer->fd(), SHUT_RDWR);
  }
}

void FramedHandler::onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) {
  if (auto state = StateOf(peer)) state->gone = true;
  static_cast<Tcp::Handler&>(*inner_).onDisconnection(peer);
}

void FramedHandler::onInput(const char* buffer, size_t len,
                            const std::shared_ptr<Tcp::Peer>& peer) {
  std::shared_ptr<ConnectionState> state = StateOf(peer);
  if (!state) return;  // not ours: cannot happen, and nothing unchecked gets through
  std::string_view rest(buffer, len);
  while (!rest.empty() && !state->dropping) {
    const std::size_t accepted = state->framing.FeedRequest(rest);
    if (accepted > 0) {
      Dispatch(rest.data(), accepted, peer);
      rest.remove_prefix(accepted);
    }
    const RequestFraming& framing = state->framing;
    if (framing.verdict() != FramingVerdict::kOk) {
      if (!state->dropping) {
        Refuse(peer, state, framing.verdict() == FramingVerdict::kTooLarge ? 413 : 400,
               framing.reason());
      }
      return;
    }
  }
}

void FramedHandler::Dispatch(const char* data, size_t len, const std::shared_ptr<Tcp::Peer>& peer) {
  std::shared_ptr<Http::RequestParser> parser = Http::Handler::getParser(peer);
  Http::Request& request = parser->request;
  bool handling = false;
  try {
    // Framing keeps requests far below the parser's limit; over it is a 413 all the same.
    if (!parser->feed(data, len)) {
      parser->reset();
      if (auto state = StateOf(peer)) Refuse(peer, state, 413, "request too large");
      return;
    }
    if (parser->parse() != Http::Private::State::Done) return;
    Http::ResponseWriter response(request.version(), transport(), inner_.get(), peer);
    request.copyAddress(peer->address());
    auto connection = request.headers().tryGet<Http::Header::Connection>();
    response.headers().add<Http::Header::Connection>(connection ? connection->control()
                                                                : Http::ConnectionControl::Close);
    peer->setIdle(false);
    handling = true;
    inner_->onRequest(request, std::move(response));
    parser->reset();
  } catch (...) {
    // Pistache's parser throws on what it cannot read (a typed header it
    // rejects, an unknown method); its message stays here. The inner
    // handler catches its own exceptions, so `handling` is a last resort.
    parser->reset();
    std::shared_ptr<ConnectionState> state = StateOf(peer);
    if (state && !state->dropping) {
      Refuse(peer, state, handling ? 500 : 400,
             handling ? "unhandled exception" : "malformed request");
    }
  }
}

void FramedHandler::CloseAfter(const Http::ResponseWriter& response,
                               Pistache::Async::Promise<ssize_t> sent) {
  std::shared_ptr<Tcp::Peer> peer = response.getPeer();
  if (!peer) return;
  std::shared_ptr<ConnectionState> state = StateOf(peer);
  if (!state) return;
  state->dropping = true;
  ShutdownLater(std::move(sent), state, peer->fd(), SHUT_RDWR);
}

}  // namespace strongroom::api::internal
