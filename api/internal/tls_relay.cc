#include "api/internal/tls_relay.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace strongroom::api::internal {
namespace {

// One TLS record's plaintext (RFC 8446 section 5.1): a full record fits in one read.
constexpr std::size_t kBufferBytes = 16 * 1024;
// Passes over the four transfers before yielding to other connections.
constexpr int kMaxPasses = 16;

int ClampInt(std::size_t n) { return n > INT_MAX ? INT_MAX : static_cast<int>(n); }

// The epoll event an SSL_ERROR_WANT_* asks for; 0 for anything else.
std::uint32_t WantOf(int ssl_error) {
  if (ssl_error == SSL_ERROR_WANT_READ) return EPOLLIN;
  if (ssl_error == SSL_ERROR_WANT_WRITE) return EPOLLOUT;
  return 0;
}

}  // namespace

ByteQueue::~ByteQueue() { ::OPENSSL_cleanse(buffer_.data(), buffer_.size()); }

char* ByteQueue::space() {
  if (end_ == buffer_.size() && begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, size());
    end_ -= begin_;
    begin_ = 0;
  }
  return buffer_.data() + end_;
}

void ByteQueue::Consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

TlsConnection::TlsConnection(int client_fd, SslPtr ssl)
    : client_fd_(client_fd), ssl_(std::move(ssl)) {}

TlsConnection::~TlsConnection() {
  ssl_.reset();
  ::close(client_fd_);
  if (upstream_fd_ >= 0) ::close(upstream_fd_);
}

void TlsConnection::AttachUpstream(int fd, bool connected) {
  upstream_fd_ = fd;
  phase_ = connected ? Phase::kRelay : Phase::kConnecting;
}

TlsConnection::Wants TlsConnection::Handshake() {
  ::ERR_clear_error();
  const int rc = ::SSL_accept(ssl_.get());
  Wants wants;
  if (rc == 1) {
    phase_ = Phase::kNeedUpstream;
    to_upstream_ = std::make_unique<ByteQueue>(kBufferBytes);
    to_client_ = std::make_unique<ByteQueue>(kBufferBytes);
    wants.need_upstream = true;
    return wants;
  }
  handshake_wants_ = WantOf(::SSL_get_error(ssl_.get(), rc));
  wants.close = handshake_wants_ == 0;  // a failed handshake (no client certificate, bad hello)
  wants.client = handshake_wants_;
  return wants;
}

TlsConnection::Wants TlsConnection::Advance(std::uint32_t upstream_events) {
  if (phase_ == Phase::kHandshake) return Handshake();
  if (phase_ == Phase::kConnecting && upstream_events != 0) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (::getsockopt(upstream_fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      return Wants{.close = true};
    }
    phase_ = Phase::kRelay;
  }
  bool more = true;
  for (int pass = 0; pass < kMaxPasses && more; ++pass) more = PumpOnce();
  if (failed_) return Wants{.close = true};
  // Either side gone: deliver what is buffered towards the other, then close both.
  if (client_eof_ && to_upstream_->empty()) return Wants{.close = true};
  if (upstream_eof_ && to_client_->empty()) {
    ::ERR_clear_error();
    (void)::SSL_shutdown(ssl_.get());  // best effort close_notify; never waited for
    return Wants{.close = true};
  }
  return RelayWants(more);
}

bool TlsConnection::PumpOnce() {
  bool progress = ReadClient();
  if (phase_ == Phase::kRelay) {
    progress = WriteUpstream() || progress;
    progress = ReadUpstream() || progress;
  }
  progress = WriteClient() || progress;
  return progress && !failed_;
}

bool TlsConnection::ReadClient() {
  if (client_eof_ || failed_ || to_upstream_->full()) return false;
  ::ERR_clear_error();
  const int n = ::SSL_read(ssl_.get(), to_upstream_->space(), ClampInt(to_upstream_->space_size()));
  if (n > 0) {
    to_upstream_->Commit(static_cast<std::size_t>(n));
    ssl_read_wants_ = 0;
    return true;
  }
  const int error = ::SSL_get_error(ssl_.get(), n);
  ssl_read_wants_ = WantOf(error);
  if (error == SSL_ERROR_ZERO_RETURN) {
    client_eof_ = true;
    return true;
  }
  if (ssl_read_wants_ == 0) failed_ = true;  // reset, bad record, unexpected EOF
  return false;
}

bool TlsConnection::WriteClient() {
  if (failed_ || to_client_->empty()) return false;
  ::ERR_clear_error();
  const int n = ::SSL_write(ssl_.get(), to_client_->data(), ClampInt(to_client_->size()));
  if (n > 0) {
    to_client_->Consume(static_cast<std::size_t>(n));
    ssl_write_wants_ = 0;
    return true;
  }
  ssl_write_wants_ = WantOf(::SSL_get_error(ssl_.get(), n));
  if (ssl_write_wants_ == 0) failed_ = true;
  return false;
}

bool TlsConnection::WriteUpstream() {
  if (failed_ || to_upstream_->empty()) return false;
  const ssize_t n =
      ::send(upstream_fd_, to_upstream_->data(), to_upstream_->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  if (n > 0) {
    to_upstream_->Consume(static_cast<std::size_t>(n));
    return true;
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) failed_ = true;
  return false;
}

bool TlsConnection::ReadUpstream() {
  if (upstream_eof_ || failed_ || to_client_->full()) return false;
  const ssize_t n = ::recv(upstream_fd_, to_client_->space(), to_client_->space_size(), 0);
  if (n > 0) {
    to_client_->Commit(static_cast<std::size_t>(n));
    return true;
  }
  if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    upstream_eof_ = true;  // closed or reset: what was read still goes to the client
    return true;
  }
  return false;
}

TlsConnection::Wants TlsConnection::RelayWants(bool more) const {
  Wants wants;
  if (!client_eof_ && !to_upstream_->full()) wants.client |= ssl_read_wants_;
  if (!to_client_->empty()) wants.client |= ssl_write_wants_;
  if (phase_ == Phase::kConnecting) {
    wants.upstream = EPOLLOUT;
  } else {
    if (!upstream_eof_ && !to_client_->full()) wants.upstream |= EPOLLIN;
    if (!to_upstream_->empty()) wants.upstream |= EPOLLOUT;
  }
  // Work left after kMaxPasses: a writable socket brings the loop straight back.
  if (more) wants.client |= EPOLLOUT;
  return wants;
}

}  // namespace strongroom::api::internal
