#include "api/internal/tls_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/internal/tls_relay.h"
#include "api/internal/tls_socket.h"
#include "api/server.h"

namespace strongroom::api::internal {
namespace {

using Clock = std::chrono::steady_clock;
using SslCtxPtr = std::unique_ptr<SSL_CTX, FreeWith<&::SSL_CTX_free>>;

constexpr std::uint64_t kListenTag = 0;
constexpr std::uint64_t kWakeTag = 1;
constexpr int kAcceptBatch = 64;
constexpr std::chrono::milliseconds kAcceptPause{100};  // out of descriptors

// The first queued OpenSSL error as text (file names and reasons, no key bytes).
std::string SslErrorText() {
  char text[256] = "unknown error";
  if (const unsigned long code = ::ERR_get_error(); code != 0) {
    ::ERR_error_string_n(code, text, sizeof(text));
  }
  ::ERR_clear_error();
  return text;
}

// SPEC 5a and modern defaults: TLS 1.2 or later, no compression, no
// renegotiation (a client-driven CPU sink), the server's cipher order;
// OpenSSL wipes its copy of what it decrypted (PUT bodies carry secrets).
Result<SslCtxPtr> MakeContext(const TlsFrontOptions& options) {
  SslCtxPtr ctx(::SSL_CTX_new(::TLS_server_method()));
  if (!ctx) return InternalError("cannot create a TLS context: " + SslErrorText());
  ::SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  ::SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                       SSL_OP_CIPHER_SERVER_PREFERENCE |
                                       SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_CLEANSE_PLAINTEXT);
  ::SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (::SSL_CTX_use_certificate_chain_file(ctx.get(), options.cert_file.c_str()) != 1) {
    return InvalidArgumentError("tls_cert " + options.cert_file + ": " + SslErrorText());
  }
  if (::SSL_CTX_use_PrivateKey_file(ctx.get(), options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      ::SSL_CTX_check_private_key(ctx.get()) != 1) {
    // The key's contents never reach the message: OpenSSL reports reasons only.
    return InvalidArgumentError("tls_key " + options.key_file + ": " + SslErrorText());
  }
  if (!options.client_ca_file.empty()) {
    const char* ca = options.client_ca_file.c_str();
    STACK_OF(X509_NAME)* names = ::SSL_load_client_CA_file(ca);
    if (names == nullptr || ::SSL_CTX_load_verify_locations(ctx.get(), ca, nullptr) != 1) {
      if (names != nullptr) sk_X509_NAME_pop_free(names, ::X509_NAME_free);
      return InvalidArgumentError("client_ca " + options.client_ca_file + ": " + SslErrorText());
    }
    ::SSL_CTX_set_client_CA_list(ctx.get(), names);  // takes ownership
    ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// State every event loop shares.
struct Shared {
  TlsFrontOptions options;
  std::uint16_t upstream_port = 0;  // the plain HTTP server on 127.0.0.1
  SslCtxPtr ctx;
  int listen_fd = -1;
  std::atomic<int> open{0};
  std::atomic<bool> stopping{false};
  mutable std::shared_mutex clients_mutex;
  std::unordered_map<std::uint16_t, std::string> clients;  // upstream local port -> client host
};

// One epoll loop and the connections it accepted.
class Loop {
 public:
  explicit Loop(Shared* shared) : shared_(shared) {}
  ~Loop() {
    for (auto& [id, entry] : entries_) Forget(entry);
    entries_.clear();
    if (spare_fd_ >= 0) ::close(spare_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  Status Open() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0) return UnavailableError("cannot create the TLS event loop");
    epoll_event wake{.events = EPOLLIN, .data = {.u64 = kWakeTag}};
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0 || !WatchListener()) {
      return UnavailableError("cannot watch the TLS listener");
    }
    return Status::Ok();
  }

  void Wake() {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }

  void Run();

 private:
  struct Entry {
    std::unique_ptr<TlsConnection> conn;
    std::uint32_t client_mask = 0;
    std::uint32_t upstream_mask = 0;
    bool upstream_hung_up = false;  // no longer watched: what it sent is read as the client drains
    std::uint16_t upstream_port = 0;
    std::string client_host;
  };

  bool WatchListener() {
    epoll_event ev{.events = EPOLLIN | EPOLLEXCLUSIVE, .data = {.u64 = kListenTag}};
    return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, shared_->listen_fd, &ev) == 0;
  }
  int TimeoutMs(Clock::time_point now);
  void Expire(Clock::time_point now);
  void AcceptSome();
  void Shed();
  void Admit(int fd, const sockaddr_storage& peer);
  void Drive(std::uint64_t id, std::uint32_t upstream_events);
  bool ConnectUpstream(Entry& entry);
  void Close(std::uint64_t id);
  void Forget(Entry& entry);
  static void Mask(int epoll_fd, int fd, std::uint64_t tag, std::uint32_t want,
                   std::uint32_t* have);

  Shared* shared_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // given up to accept-and-close when out of descriptors
  std::uint64_t next_id_ = 1;
  std::unordered_map<std::uint64_t, Entry> entries_;
  // Handshake deadlines in accept order (one timeout for all, so FIFO is sorted).
  std::deque<std::pair<Clock::time_point, std::uint64_t>> deadlines_;
  std::optional<Clock::time_point> accept_paused_until_;
};

void Loop::Run() {
  // The socket BIO writes with write(2): a peer gone mid-write must be EPIPE, not SIGPIPE.
  sigset_t pipe;
  ::sigemptyset(&pipe);
  ::sigaddset(&pipe, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  epoll_event events[64];
  while (!shared_->stopping.load()) {
    const int n = ::epoll_wait(epoll_fd_, events, 64, TimeoutMs(Clock::now()));
    for (int i = 0; i < n; ++i) {
      const std::uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        AcceptSome();
      } else if (tag != kWakeTag) {
        const bool upstream = (tag & 1) != 0;
        const std::uint32_t happened = events[i].events;
        // epoll reports hang-ups whatever the mask: a client that is gone
        // can be sent nothing, so its connection ends here (no spin on it).
        if (!upstream && (happened & (EPOLLERR | EPOLLHUP)) != 0) {
          Close(tag >> 1);
        } else {
          Drive(tag >> 1, upstream ? happened : 0);
        }
      }
    }
    Expire(Clock::now());
  }
}

int Loop::TimeoutMs(Clock::time_point now) {
  std::optional<Clock::time_point> next = accept_paused_until_;
  if (!deadlines_.empty() && (!next || deadlines_.front().first < *next)) {
    next = deadlines_.front().first;
  }
  if (!next) return -1;
  if (*next <= now) return 0;
  // Rounded up, so the loop never wakes just before a deadline and sleeps 0 ms in a spin.
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*next - now).count());
}

void Loop::Expire(Clock::time_point now) {
  while (!deadlines_.empty() && deadlines_.front().first <= now) {
    const std::uint64_t id = deadlines_.front().second;
    deadlines_.pop_front();
    auto it = entries_.find(id);
    if (it != entries_.end() && it->second.conn->handshaking()) Close(id);
  }
  if (accept_paused_until_ && *accept_paused_until_ <= now) {
    accept_paused_until_.reset();
    if (!WatchListener()) accept_paused_until_ = now + kAcceptPause;
  }
}

void Loop::AcceptSome() {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    const int fd = ::accept4(shared_->listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) Shed();
      return;  // EAGAIN: another loop took it, or the queue is empty
    }
    // SPEC 5a: over the cap, closed at once.
    if (shared_->open.fetch_add(1) >= shared_->options.max_connections) {
      shared_->open.fetch_sub(1);
      ::close(fd);
      continue;
    }
    Admit(fd, peer);
  }
}

// Out of descriptors: close the oldest waiting connection with the spare
// descriptor's slot, or, without one, stop watching the listener for a while.
// Either way the level-triggered listener cannot wake the loop in a spin.
void Loop::Shed() {
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
    const int fd = ::accept4(shared_->listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) ::close(fd);
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (spare_fd_ >= 0 && fd >= 0) return;
  }
  spdlog::warn("TLS listener out of file descriptors; pausing accepts for {} ms",
               kAcceptPause.count());
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, shared_->listen_fd, nullptr);
  accept_paused_until_ = Clock::now() + kAcceptPause;
}

void Loop::Admit(int fd, const sockaddr_storage& peer) {
  SetNoDelay(fd);
  SslPtr ssl(::SSL_new(shared_->ctx.get()));
  if (!ssl || ::SSL_set_fd(ssl.get(), fd) != 1) {
    ::ERR_clear_error();
    ::close(fd);
    shared_->open.fetch_sub(1);
    return;
  }
  ::SSL_set_accept_state(ssl.get());
  const std::uint64_t id = next_id_++;
  Entry& entry = entries_[id];
  entry.conn = std::make_unique<TlsConnection>(fd, std::move(ssl));
  entry.client_host = HostText(peer);
  deadlines_.emplace_back(Clock::now() + shared_->options.handshake_timeout, id);
  epoll_event ev{.events = 0, .data = {.u64 = id << 1}};
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    Close(id);
    return;
  }
  Drive(id, 0);
}

void Loop::Drive(std::uint64_t id, std::uint32_t upstream_events) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;  // closed earlier in this batch of events
  Entry& entry = it->second;
  if ((upstream_events & (EPOLLERR | EPOLLHUP)) != 0 && !entry.upstream_hung_up) {
    // Reported on every wait until closed: stop watching it. The data it left
    // stays readable and is read whenever the client side makes room.
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, entry.conn->upstream_fd(), nullptr);
    entry.upstream_hung_up = true;
  }
  TlsConnection::Wants wants = entry.conn->Advance(upstream_events);
  if (wants.need_upstream) {
    if (!ConnectUpstream(entry)) {
      Close(id);
      return;
    }
    wants = entry.conn->Advance(0);
  }
  if (wants.close) {
    Close(id);
    return;
  }
  Mask(epoll_fd_, entry.conn->client_fd(), id << 1, wants.client, &entry.client_mask);
  if (entry.conn->upstream_fd() >= 0 && !entry.upstream_hung_up) {
    Mask(epoll_fd_, entry.conn->upstream_fd(), (id << 1) | 1, wants.upstream, &entry.upstream_mask);
  }
}

bool Loop::ConnectUpstream(Entry& entry) {
  bool connected = false;
  const int fd = ConnectLoopback(shared_->upstream_port, &connected);
  if (fd < 0) return false;
  const std::optional<std::uint16_t> port = LocalPort(fd);
  if (!port) {
    ::close(fd);
    return false;
  }
  entry.upstream_port = *port;
  {
    std::unique_lock lock(shared_->clients_mutex);
    shared_->clients[*port] = entry.client_host;
  }
  entry.conn->AttachUpstream(fd, connected);
  epoll_event ev{.events = 0, .data = {.u64 = 0}};
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Loop::Mask(int epoll_fd, int fd, std::uint64_t tag, std::uint32_t want, std::uint32_t* have) {
  if (want == *have) return;
  epoll_event ev{.events = want, .data = {.u64 = tag}};
  ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &ev);
  *have = want;
}

void Loop::Forget(Entry& entry) {
  if (entry.upstream_port != 0) {
    // Before the descriptor closes, so the port is never mapped while another socket holds it.
    std::unique_lock lock(shared_->clients_mutex);
    shared_->clients.erase(entry.upstream_port);
  }
  entry.conn.reset();  // closes both descriptors, which also leaves the epoll set
  shared_->open.fetch_sub(1);
}

void Loop::Close(std::uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Forget(it->second);
  entries_.erase(it);
}

}  // namespace

class TlsFront::Impl {
 public:
  ~Impl() {
    loops.clear();
    if (shared.listen_fd >= 0) ::close(shared.listen_fd);
  }
  Shared shared;
  std::vector<std::unique_ptr<Loop>> loops;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  std::once_flag stopped;
};

Result<std::unique_ptr<TlsFront>> TlsFront::Bind(const TlsFrontOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->shared.options = options;
  SR_ASSIGN_OR_RETURN(impl->shared.ctx, MakeContext(options));
  SR_ASSIGN_OR_RETURN(impl->shared.listen_fd, ListenOn(options.listen));
  SR_ASSIGN_OR_RETURN(impl->port, LocalPortOrError(impl->shared.listen_fd));
  for (int i = 0; i < std::max(1, options.threads); ++i) {
    impl->loops.push_back(std::make_unique<Loop>(&impl->shared));
    SR_RETURN_IF_ERROR(impl->loops.back()->Open());
  }
  return std::unique_ptr<TlsFront>(new TlsFront(std::move(impl)));
}

Result<std::unique_ptr<TlsFront>> TlsFront::Bind(const ServerOptions& options) {
  return Bind(TlsFrontOptions{.listen = options.listen,
                              .cert_file = options.tls_cert,
                              .key_file = options.tls_key,
                              .client_ca_file = options.client_ca,
                              .threads = std::max(1, options.threads),
                              .max_connections = options.max_connections,
                              .handshake_timeout = options.tls_handshake_timeout});
}

std::uint16_t TlsFront::Serve(std::uint16_t upstream_port) {
  impl_->shared.upstream_port = upstream_port;
  for (auto& loop : impl_->loops) impl_->threads.emplace_back([l = loop.get()] { l->Run(); });
  return impl_->port;
}

TlsFront::TlsFront(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsFront::~TlsFront() { Shutdown(); }

std::uint16_t TlsFront::port() const { return impl_->port; }

std::optional<std::string> TlsFront::ClientHost(std::uint16_t upstream_local_port) const {
  std::shared_lock lock(impl_->shared.clients_mutex);
  auto it = impl_->shared.clients.find(upstream_local_port);
  if (it == impl_->shared.clients.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> TlsFront::ClientHost(const std::string& peer_host,
                                                std::uint16_t pistache_peer_port) const {
  // The front connects from 127.0.0.1 only. Pistache 0.0.5 reports the peer
  // port still in network byte order; only that reading is tried, since
  // trying both would let a local process pick the swapped port of a live
  // front connection.
  if (peer_host != "127.0.0.1") return std::nullopt;
  return ClientHost(ntohs(pistache_peer_port));
}

int TlsFront::open_connections() const { return impl_->shared.open.load(); }

void TlsFront::Shutdown() {
  std::call_once(impl_->stopped, [this] {
    impl_->shared.stopping.store(true);
    for (auto& loop : impl_->loops) loop->Wake();
    for (auto& thread : impl_->threads) thread.join();
    impl_->loops.clear();  // closes every connection
  });
}

}  // namespace strongroom::api::internal
