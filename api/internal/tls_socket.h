// Socket helpers of the TLS front (api/internal/tls_front.h): plain POSIX, no OpenSSL.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.h"

namespace strongroom::api::internal {

// A non-blocking listening TCP socket bound to "host:port" ("[v6]:port" for
// IPv6; port 0 picks a free port). Unavailable if it cannot be bound.
Result<int> ListenOn(const std::string& host_port);
// The local port of a bound socket.
std::optional<std::uint16_t> LocalPort(int fd);
Result<std::uint16_t> LocalPortOrError(int fd);
// A non-blocking TCP socket connecting to 127.0.0.1:`port`; *connected tells
// whether connect() finished already. -1 on failure.
int ConnectLoopback(std::uint16_t port, bool* connected);
// Disables Nagle: requests and responses are small and latency-bound.
void SetNoDelay(int fd);
// The peer's address as text ("192.0.2.1", "2001:db8::1").
std::string HostText(const sockaddr_storage& address);

}  // namespace strongroom::api::internal
