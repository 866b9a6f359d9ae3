// SPEC 5a on the plain-HTTP listener, over raw sockets against an in-process
// server on an ephemeral loopback port: framing (duplicate Content-Length or
// Authorization, bad or huge Content-Length, Content-Length with
// Transfer-Encoding), HEAD, Connection: close, the connection cap, the idle
// timeout and escaping of request bytes in the access log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/server.h"
#include "tests/api/server_fixture.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// One client socket, raw.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  void Send(const std::string& bytes) {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads until the peer closes or `timeout` passes without data; closed()
  // says which.
  std::string ReadAll(milliseconds timeout = milliseconds(2000)) {
    std::string out;
    closed_ = false;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return out;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }
  // Reads one response whose end is known (head + Content-Length body).
  std::string ReadResponse(bool head_only = false) {
    std::string out;
    for (;;) {
      const std::size_t end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        const std::size_t length_at = out.find("Content-Length: ");
        std::size_t length = 0;
        if (!head_only && length_at != std::string::npos && length_at < end) {
          length = std::stoul(out.substr(length_at + 16));
        }
        if (out.size() >= end + 4 + length) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return out;
      char buffer[4096];
      const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) return out;
      out.append(buffer, static_cast<std::size_t>(n));
    }
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return 0;
  return std::stoi(response.substr(9, 3));
}

std::string BodyOf(const std::string& response) {
  const std::size_t end = response.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : response.substr(end + 4);
}

// Process CPU time (user + system), all threads.
double CpuSeconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

class HttpFramingTest : public ServerFixture {
 protected:
  // Sends `request` on a fresh connection: the whole answer and whether the
  // server closed the connection after it.
  std::pair<std::string, bool> Exchange(const std::string& request) {
    RawConnection connection(server_->port());
    EXPECT_TRUE(connection.connected());
    connection.Send(request);
    std::string response = connection.ReadAll();
    return {response, connection.closed()};
  }

  void ExpectRefused(const std::string& request, int status, const std::string& error) {
    auto [response, closed] = Exchange(request);
    EXPECT_EQ(StatusOf(response), status) << response;
    EXPECT_NE(response.find("Content-Type: application/json"), std::string::npos) << response;
    json body = json::parse(BodyOf(response), nullptr, false);
    ASSERT_TRUE(body.is_object()) << response;
    EXPECT_EQ(body.size(), 2u) << response;
    EXPECT_EQ(body["error"], error) << response;
    EXPECT_TRUE(closed) << "the connection stayed open after " << status;
    for (const char* leak : {"bad_alloc", "basic_string", "exception", "what()"}) {
      EXPECT_EQ(response.find(leak), std::string::npos) << response;
    }
  }

  std::string Put(const std::string& name, const std::string& extra_headers,
                  const std::string& body) {
    return "PUT /v0/vault/" + name + " HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer " + key_ +
           "\r\nContent-Type: application/json\r\n" + extra_headers + "\r\n" + body;
  }

  void ExpectNotStored(const std::string& name) {
    auto [response, closed] = Exchange("GET /v0/vault/" + name +
                                       " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
                                       "Authorization: Bearer " +
                                       key_ + "\r\n\r\n");
    EXPECT_EQ(StatusOf(response), 404) << response;
  }
};

const std::string kBody = R"({"type":"CUSTOM","data":{"a":"b"}})";

TEST_F(HttpFramingTest, DuplicateContentLengthIsBadRequestAndNothingIsStored) {
  StartServer();
  const std::string length = std::to_string(kBody.size());
  ExpectRefused(Put("dup", "Content-Length: " + length + "\r\nContent-Length: 5\r\n", kBody), 400,
                "bad_request");
  ExpectRefused(
      Put("same", "Content-Length: " + length + "\r\nContent-Length: " + length + "\r\n", kBody),
      400, "bad_request");
  ExpectNotStored("dup");
  ExpectNotStored("same");
}

TEST_F(HttpFramingTest, DuplicateAuthorizationIsBadRequest) {
  StartServer();
  ExpectRefused(Put("auth",
                    "Authorization: Bearer sr_0123456789abcdef_x\r\nContent-Length: " +
                        std::to_string(kBody.size()) + "\r\n",
                    kBody),
                400, "bad_request");
  ExpectNotStored("auth");
  ExpectRefused("GET /v0/vault HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer " +
                    key_ + "\r\n\r\n",
                400, "bad_request");
}

TEST_F(HttpFramingTest, BadContentLengthIsBadRequest) {
  StartServer();
  for (const char* value : {"-5", "abc", "5x", "0x10", ""}) {
    ExpectRefused(Put("bad", std::string("Content-Length: ") + value + "\r\n", kBody), 400,
                  "bad_request");
  }
  ExpectRefused(
      Put("te",
          "Content-Length: " + std::to_string(kBody.size()) + "\r\nTransfer-Encoding: chunked\r\n",
          kBody),
      400, "bad_request");
  ExpectNotStored("bad");
  ExpectNotStored("te");
}

// Pistache's parser rejects some header values and methods with its own
// message (it answered "500 Invalid port: :1", "500 Invalid Date format"...):
// now they are our JSON 400 with no library text, and the connection closes.
TEST_F(HttpFramingTest, WhatPistacheCannotParseIsOurBadRequest) {
  StartServer();
  for (const char* header : {"Host: [::1", "Host: a:99999999999", "Cache-Control: max-age=abc",
                             "Date: yesterday", "Accept: text/html;q=5", "Content-Type: ???"}) {
    SCOPED_TRACE(header);
    ExpectRefused(std::string("GET /healthz HTTP/1.1\r\n") + header + "\r\n\r\n", 400,
                  "bad_request");
  }
  ExpectRefused("FOO /healthz HTTP/1.1\r\n\r\n", 400, "bad_request");
  for (const char* text : {"Invalid", "Unknown", "port", "format"}) {
    auto [response, closed] = Exchange("GET /healthz HTTP/1.1\r\nHost: [::1\r\n\r\n");
    EXPECT_EQ(response.find(text), std::string::npos) << response;
  }
}

// Address space of this process (kB): a reservation for a huge body would show.
long VmPeakKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmPeak:", 0) == 0) return std::stol(line.substr(7));
  }
  return 0;
}

TEST_F(HttpFramingTest, HugeContentLengthIs413BeforeTheBody) {
  StartServer();
  const long before = VmPeakKb();
  for (const char* value : {"65537", "4000000000", "999999999999"}) {
    // No body byte is sent: the answer comes from the head alone.
    ExpectRefused(Put("huge", std::string("Content-Length: ") + value + "\r\n", ""), 413,
                  "payload_too_large");
  }
  EXPECT_LT(VmPeakKb() - before, 512 * 1024) << "the server reserved memory for the body";
  ExpectNotStored("huge");
}

TEST_F(HttpFramingTest, PipelinedRequestsAreAnsweredInOrderUntilABadOne) {
  StartServer();
  RawConnection connection(server_->port());
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n";
  connection.Send(health + health +
                  "GET /healthz HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n" +
                  health);
  const std::string all = connection.ReadAll();
  EXPECT_TRUE(connection.closed());
  std::size_t count = 0;
  for (std::size_t at = all.find("HTTP/1.1 200"); at != std::string::npos;
       at = all.find("HTTP/1.1 200", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 2u) << all;
  EXPECT_NE(all.find("HTTP/1.1 400"), std::string::npos) << all;
}

TEST_F(HttpFramingTest, HeadIsAnsweredWithoutABody) {
  StartServer();
  RawConnection connection(server_->port());
  connection.Send("HEAD /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string head = connection.ReadResponse(/*head_only=*/true);
  EXPECT_EQ(StatusOf(head), 200) << head;
  EXPECT_NE(head.find("Content-Length: 15\r\n"), std::string::npos) << head;  // {"status":"ok"}
  EXPECT_EQ(BodyOf(head), "");
  // Nothing follows the head: the next response on the connection is the GET's.
  connection.Send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string get = connection.ReadResponse();
  EXPECT_EQ(StatusOf(get), 200) << get;
  EXPECT_EQ(BodyOf(get), R"({"status":"ok"})");
  // A route without GET: 405 with Allow, and still no body.
  connection.Send("HEAD /v0/vault/x/totp/backup HTTP/1.1\r\nHost: a\r\n\r\n");
  head = connection.ReadResponse(/*head_only=*/true);
  EXPECT_EQ(StatusOf(head), 405) << head;
  EXPECT_NE(head.find("Allow: POST"), std::string::npos) << head;
  EXPECT_EQ(BodyOf(head), "");
  connection.Send("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  get = connection.ReadAll();
  EXPECT_EQ(StatusOf(get), 200) << get;
}

TEST_F(HttpFramingTest, ConnectionCloseClosesRightAfterTheResponse) {
  StartServer();
  for (const std::string& request :
       {std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
        std::string("GET /healthz HTTP/1.0\r\n\r\n")}) {
    RawConnection connection(server_->port());
    connection.Send(request);
    const auto started = std::chrono::steady_clock::now();
    const std::string response = connection.ReadAll(milliseconds(3000));
    EXPECT_EQ(StatusOf(response), 200) << response;
    EXPECT_TRUE(connection.closed()) << request;
    EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1000));
  }
}

TEST_F(HttpFramingTest, MaxConnectionsClosesNewConnectionsAtOnceWithoutSpinning) {
  ServerOptions options;
  options.max_connections = 4;
  StartServer(options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(std::make_unique<RawConnection>(server_->port()));
  std::this_thread::sleep_for(milliseconds(200));
  const double cpu_before = CpuSeconds();
  std::vector<std::unique_ptr<RawConnection>> over;
  for (int i = 0; i < 40; ++i) {
    over.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(over.back()->connected());
  }
  for (auto& connection : over) {
    connection->ReadAll(milliseconds(1000));
    EXPECT_TRUE(connection->closed()) << "a connection over the cap stayed open";
  }
  std::this_thread::sleep_for(milliseconds(2000));
  EXPECT_LT(CpuSeconds() - cpu_before, 0.5) << "the server spun while at its cap";
  // The connections under the cap still work; once they close, new ones are served.
  idle[0]->Send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(StatusOf(idle[0]->ReadResponse()), 200);
  idle.clear();
  over.clear();
  std::this_thread::sleep_for(milliseconds(300));
  auto [response, closed] = Exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(StatusOf(response), 200) << response;
}

TEST_F(HttpFramingTest, IdleConnectionsCloseAfterIdleTimeout) {
  ServerOptions options;
  options.idle_timeout_seconds = 1;
  StartServer(options);
  RawConnection used(server_->port());
  RawConnection silent(server_->port());
  used.Send("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(StatusOf(used.ReadResponse()), 200);
  const auto started = std::chrono::steady_clock::now();
  used.ReadAll(milliseconds(4000));
  EXPECT_TRUE(used.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(3500));
  silent.ReadAll(milliseconds(4000));
  EXPECT_TRUE(silent.closed());
}

// The access log captured from the default logger, as written.
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_)) {
    sink_->set_pattern("%v");
    previous_ = spdlog::default_logger();
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

void ExpectOnlyPrintable(const std::string& log) {
  for (char c : log) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (u >= 0x20 && u < 0x7f))
        << "raw byte " << static_cast<int>(u) << " in the log: " << log;
  }
}

TEST_F(HttpFramingTest, RequestBytesAreEscapedInTheLog) {
  for (const bool json_log : {false, true}) {
    ServerOptions options;
    options.json_log = json_log;
    StartServer(options);
    LogCapture capture;
    Exchange("GET /a\x1b[31mred HTTP/1.1\r\nConnection: close\r\n\r\n");
    Exchange("GET /b\x01 HTTP/1.1\r\nConnection: close\r\n\r\n");
    Exchange("GET /c\xff\xfe HTTP/1.1\r\nConnection: close\r\n\r\n");
    Exchange(
        "G\x1b"
        "T /d HTTP/1.1\r\nConnection: close\r\n\r\n");
    server_->Shutdown();
    server_.reset();
    const std::string log = capture.text();
    ExpectOnlyPrintable(log);
    // JSON escapes the escaping backslash once more.
    auto escaped = [json_log](std::string text) {
      return json_log ? text.replace(text.find('\\'), 1, "\\\\") : text;
    };
    EXPECT_NE(log.find(escaped(R"(/a\x1b[31mred)")), std::string::npos) << log;
    EXPECT_NE(log.find(escaped(R"(/b\x01)")), std::string::npos) << log;
    EXPECT_NE(log.find(escaped(R"(G\x1bT /d)")), std::string::npos) << log;
    if (!json_log) {
      EXPECT_NE(log.find(R"(/c\xff\xfe 404)"), std::string::npos) << log;
    }
  }
}

}  // namespace
}  // namespace strongroom::api
