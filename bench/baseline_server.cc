// The ceiling for bench/run.sh: a Pistache 0.0.5 endpoint that answers every
// request with a fixed small JSON body, configured like api/http_server.cc
// (same thread count, flags and request-size limit) and with the same
// keep-alive fix, so a Strongroom path's ratio to it is the cost of our code.
//
// Usage: baseline_server [--listen 127.0.0.1:0] [--threads 2] [--no-keepalive-fix]
// Prints "baseline: listening on http://HOST:PORT" once bound, then serves
// until SIGINT or SIGTERM.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/net.h>

namespace {

namespace Http = Pistache::Http;

bool g_keepalive_fix = true;

class BaselineHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(BaselineHandler)

  void onRequest(const Http::Request& request, Http::ResponseWriter response) override {
    auto& headers = response.headers();
    // Pistache 0.0.5 (Http::Handler::onInput) puts "Connection: Close" on the
    // response to any request without a Connection header; HTTP/1.1 is
    // persistent by default (RFC 9112 section 9.3), so undo that here.
    if (g_keepalive_fix && request.version() == Http::Version::Http11 &&
        !request.headers().has<Http::Header::Connection>()) {
      headers.remove<Http::Header::Connection>();
      headers.add<Http::Header::Connection>(Http::ConnectionControl::KeepAlive);
    }
    static const std::string kBody = R"({"status":"ok","name":"baseline"})";
    response.send(Http::Code::Ok, kBody, MIME(Application, Json));
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:0";
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      listen = argv[++i];
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (arg == "--no-keepalive-fix") {
      g_keepalive_fix = false;
    } else {
      std::fprintf(stderr, "usage: %s [--listen ADDR] [--threads N] [--no-keepalive-fix]\n",
                   argv[0]);
      return 2;
    }
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // worker threads inherit the mask

  try {
    Http::Endpoint endpoint{Pistache::Address(listen)};
    // Same options as api/http_server.cc PistacheServer::Listen.
    endpoint.init(Http::Endpoint::options()
                      .threads(threads)
                      .flags(Pistache::Tcp::Options::ReuseAddr)
                      .maxRequestSize(std::max<std::size_t>(1 << 20, 64 * 1024 * 2 + 16384)));
    endpoint.setHandler(Http::make_handler<BaselineHandler>());
    endpoint.serveThreaded();
    std::printf("baseline: listening on http://127.0.0.1:%u\n",
                static_cast<unsigned>(endpoint.getPort()));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&signals, &sig);
    endpoint.shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "baseline: %s\n", e.what());
    return 1;
  }
  return 0;
}
