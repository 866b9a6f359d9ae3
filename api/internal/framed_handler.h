// The connection layer in front of our Pistache handler (SPEC 5a).
//
// FramedHandler is the handler Pistache calls for every connection. Before a
// byte reaches Pistache's parser it goes through the connection's
// RequestFraming (api/internal/framing.h): a request that breaks a framing
// rule gets our JSON 400 bad_request or 413 payload_too_large, the
// connection's write side is shut (the client sees the end of the stream
// after the response) and every later byte is dropped. Bytes are handed to
// Pistache one request at a time, so its parser never holds the start of the
// next (pipelined) request and cannot disagree with us about where it starts.
// Over `max_connections` open connections, a new connection is shut at once.
//
// Http::Handler's own onInput is private, so FramedHandler wraps the real
// handler (`inner`) instead of deriving from it, and runs Pistache's request
// parser itself (getParser, feed, parse: public API), as Http::Handler's
// onInput does, but with our answers where Pistache's would carry a library
// message: a request Pistache cannot parse (a typed header it rejects, an
// unknown method) is our 400 bad_request, and the connection is closed.
//
// Thread safety: Pistache clones the handler per worker thread; a clone and
// its connections are used by that worker only. ConnectionPolicy is shared.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <pistache/async.h>
#include <pistache/http.h>

namespace strongroom::api::internal {

struct ConnectionPolicy {
  std::size_t max_body_bytes = 64 * 1024;
  int max_connections = 1024;
  bool json_log = false;
  std::atomic<int> open{0};  // connections open now
};

// A response's status line and headers, up to and including the empty line:
// Content-Type (when not empty), Content-Length, `extra_headers` (complete
// "Name: value\r\n" lines) and Connection. For responses we write ourselves
// (framing refusals, HEAD).
std::string ResponseHead(int status, std::string_view content_type, std::size_t content_length,
                         std::string_view extra_headers, bool close);

// The connection cap that fits the file descriptor limit: raises the soft
// RLIMIT_NOFILE towards what `max_connections` needs (up to the hard limit)
// and returns `max_connections`, or less if the limit cannot hold that many
// connections besides the descriptors already open and a reserve (logged as
// a warning). So the accept thread never meets EMFILE because of clients.
int ConnectionCapForFdLimit(int max_connections);

class FramedHandler final : public Pistache::Http::Handler {
 public:
  FramedHandler(std::shared_ptr<Pistache::Http::Handler> inner,
                std::shared_ptr<ConnectionPolicy> policy);
  FramedHandler(const FramedHandler& other);

  std::shared_ptr<Pistache::Tcp::Handler> clone() const override;

  // Never called: requests go to the inner handler.
  void onRequest(const Pistache::Http::Request& request,
                 Pistache::Http::ResponseWriter response) override;

  // Closes the connection of `response` once `sent` (its response) is written;
  // bytes that arrive meanwhile are dropped (Connection: close).
  static void CloseAfter(const Pistache::Http::ResponseWriter& response,
                         Pistache::Async::Promise<ssize_t> sent);

 private:
  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t len,
               const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  // Parses `len` bytes of one request with Pistache's parser and, once it is
  // complete, hands it to the inner handler.
  void Dispatch(const char* data, size_t len, const std::shared_ptr<Pistache::Tcp::Peer>& peer);

  std::shared_ptr<Pistache::Http::Handler> inner_;
  std::shared_ptr<ConnectionPolicy> policy_;
};

}  // namespace strongroom::api::internal
