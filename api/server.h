// The HTTP server: REST (SPEC 5) and MCP (SPEC 6) on one listener.
//
// Thread safety: Start/port/Shutdown are called from one thread (the app's);
// request handling runs on the server's own worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/result.h"
#include "vault/audit.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::api {

struct ServerOptions {
  std::string listen = "127.0.0.1:8700";  // host:port; port 0 binds a free port
  int threads = 2;
  std::size_t max_body_bytes = 64 * 1024;  // larger bodies get 413
  // SPEC 5a: open connections beyond this are closed at once (also lowered to
  // what RLIMIT_NOFILE allows; the TLS front counts its client connections
  // against it too); idle keep-alive connections close after idle_timeout_seconds.
  int max_connections = 1024;
  int idle_timeout_seconds = 60;
  std::string tls_cert;  // PEM paths; empty = plain HTTP
  std::string tls_key;
  std::string client_ca;  // non-empty = require client certificates (mTLS)
  // SPEC 5a: a TLS handshake not finished this long after accept is dropped
  // (tests shorten it).
  std::chrono::milliseconds tls_handshake_timeout{10000};
  bool mcp_underscore_names = false;  // vault_get instead of vault.get
  // SPEC 14 [limits]: 401s per client IP per minute and requests per second
  // per API key; over either, 429 rate_limited with Retry-After. 0 = off.
  int auth_failures_per_minute_per_ip = 0;
  int requests_per_second_per_identity = 0;
  bool json_log = false;      // access log lines as JSON payloads (app/json_log)
  std::string build_version;  // strongroom_build_info labels
  std::string build_commit;
  vault::AuditOptions audit;  // SPEC 12 audit log; off by default here
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds and starts serving in background threads. The store, key manager and
  // clock are not owned and must outlive the server.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                               store::CredentialStore* store, kms::KeyManager* keys,
                                               const Clock* clock);
  // The bound port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  // Stops accepting, finishes in-flight requests, flushes pending writes.
  virtual void Shutdown() = 0;
};

}  // namespace strongroom::api
