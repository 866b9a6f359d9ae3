// One connection of the TLS front (api/internal/tls_front.h): the TLS side
// towards the client, the plain side towards the upstream HTTP server, and the
// bounded buffers between them. No sockets are polled here: the event loop
// calls Advance() whenever either descriptor is ready and waits for what the
// returned Wants says.
//
// Thread safety: none; a connection belongs to one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <openssl/ssl.h>

#include "base/c_handle.h"

namespace strongroom::api::internal {

using SslPtr = std::unique_ptr<SSL, FreeWith<&::SSL_free>>;

// A fixed-capacity byte FIFO that keeps its bytes contiguous.
class ByteQueue {
 public:
  explicit ByteQueue(std::size_t capacity) : buffer_(capacity) {}
  ~ByteQueue();  // wipes: the bytes are decrypted requests and plaintext responses
  ByteQueue(const ByteQueue&) = delete;
  ByteQueue& operator=(const ByteQueue&) = delete;
  const char* data() const { return buffer_.data() + begin_; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  bool full() const { return size() == buffer_.size(); }
  // Room after the bytes held (compacting first if needed).
  char* space();
  std::size_t space_size() const { return buffer_.size() - size(); }
  void Commit(std::size_t n) { end_ += n; }
  void Consume(std::size_t n);

 private:
  std::vector<char> buffer_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

class TlsConnection {
 public:
  // What the event loop should do next. `client` and `upstream` are epoll
  // event masks (EPOLLIN / EPOLLOUT) to wait for on each descriptor.
  struct Wants {
    bool close = false;          // done or failed: close both sides
    bool need_upstream = false;  // handshake done: call AttachUpstream
    std::uint32_t client = 0;
    std::uint32_t upstream = 0;
  };

  // Takes ownership of `client_fd` (non-blocking, accepted) and `ssl` (set to
  // that descriptor, server side).
  TlsConnection(int client_fd, SslPtr ssl);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  int client_fd() const { return client_fd_; }
  int upstream_fd() const { return upstream_fd_; }
  bool handshaking() const { return phase_ == Phase::kHandshake; }

  // Gives the connection its upstream socket (non-blocking; `connected` false
  // while connect() is in progress). Takes ownership of `fd`.
  void AttachUpstream(int fd, bool connected);
  // Makes all the progress possible without blocking. `upstream_events` are
  // the epoll events just reported for the upstream descriptor (0 if none).
  Wants Advance(std::uint32_t upstream_events);

 private:
  enum class Phase { kHandshake, kNeedUpstream, kConnecting, kRelay };

  Wants Handshake();
  // One pass of each of the four transfers; true if any moved bytes.
  bool PumpOnce();
  bool ReadClient();
  bool WriteUpstream();
  bool ReadUpstream();
  bool WriteClient();
  Wants RelayWants(bool more) const;

  int client_fd_;
  SslPtr ssl_;
  int upstream_fd_ = -1;
  Phase phase_ = Phase::kHandshake;
  std::unique_ptr<ByteQueue> to_upstream_;  // decrypted from the client
  std::unique_ptr<ByteQueue> to_client_;    // plain from the upstream, to encrypt
  std::uint32_t ssl_read_wants_ = 0;        // EPOLLIN/EPOLLOUT the last SSL_read asked for
  std::uint32_t ssl_write_wants_ = 0;       // the same for SSL_write
  std::uint32_t handshake_wants_ = 0;
  bool client_eof_ = false;
  bool upstream_eof_ = false;
  bool failed_ = false;
};

}  // namespace strongroom::api::internal
