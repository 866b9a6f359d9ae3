// The HTTPS listener: TLS terminated by our own event loop in front of the
// plain HTTP server.
//
// Why: Pistache 0.0.5 runs SSL_accept blocking on its accept thread, so one
// socket that never sends a ClientHello stalls every new client for the
// handshake timeout (issue 12). SPEC 5a asks that such sockets delay nobody.
//
// Design: the front owns the public listening socket. Each of its threads runs
// one epoll loop (level-triggered) over the shared listening socket
// (EPOLLEXCLUSIVE) and the connections it accepted. A connection does a
// non-blocking SSL_accept with an absolute deadline from accept; only after
// the handshake does it open a plain TCP connection to the upstream (the HTTP
// server on a loopback port) and relay bytes both ways through bounded
// buffers. When either side closes, what is buffered towards the other side is
// flushed and both are closed. Over `max_connections` open connections a new
// one is closed at once; out of file descriptors, a spare descriptor is given
// up to accept and close the waiting connection, and accepting pauses briefly
// when even that fails, so nothing spins.
//
// The upstream sees every request as coming from 127.0.0.1; ClientHost() maps
// the local port of an upstream connection back to the real client address
// for per-IP rate limits.
//
// Thread safety: Bind/Serve/Shutdown from one thread; ClientHost from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/result.h"

namespace strongroom::api {
struct ServerOptions;
}

namespace strongroom::api::internal {

struct TlsFrontOptions {
  std::string listen;          // public host:port; port 0 binds a free port
  std::string cert_file;       // PEM certificate chain
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // non-empty: require a client certificate from this CA (mTLS)
  int threads = 1;             // event loops
  int max_connections = 1024;  // open client connections, handshaking or relaying
  std::chrono::milliseconds handshake_timeout{10000};  // SPEC 5a
};

class TlsFront {
 public:
  // Loads the certificate and key and binds the public address; serves
  // nothing until Serve. InvalidArgument for unreadable or mismatched PEM
  // files, Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<TlsFront>> Bind(const TlsFrontOptions& options);
  // The same from the server's options (listen, tls_*, client_ca, threads,
  // max_connections, tls_handshake_timeout).
  static Result<std::unique_ptr<TlsFront>> Bind(const ServerOptions& options);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Starts the event loops, relaying to the plain HTTP server on
  // 127.0.0.1:`upstream_port`. Returns the public port. Call once.
  std::uint16_t Serve(std::uint16_t upstream_port);
  // The bound public port.
  std::uint16_t port() const;
  // The client address (host, as text) behind the upstream connection whose
  // local port is `upstream_local_port`, or nullopt if no such connection is open.
  std::optional<std::string> ClientHost(std::uint16_t upstream_local_port) const;
  // The same for a request whose peer Pistache reports as `peer_host` and
  // `pistache_peer_port`; nullopt for a peer that is not one of the front's
  // connections (a local process on the upstream port, bypassing TLS and mTLS).
  std::optional<std::string> ClientHost(const std::string& peer_host,
                                        std::uint16_t pistache_peer_port) const;
  // Open client connections (handshaking or relaying).
  int open_connections() const;
  // Stops accepting and closes every connection. Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit TlsFront(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace strongroom::api::internal
