// A tiny HTTP client for tests (libcurl easy interface).
//
// One HttpClient is one connection cache: consecutive requests reuse a kept-alive
// connection, as real clients do. Not thread-safe: use one client per thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strongroom::testing {

struct HttpResponse {
  long status = 0;    // 0 when the request failed at the transport level
  std::string error;  // libcurl's message when status is 0
  // Header names lower-cased; the last value wins for repeated headers.
  std::map<std::string, std::string> headers;
  std::string body;
  long connects = 0;  // new connections opened for this request (0 = reused)

  std::optional<std::string> Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    if (it == headers.end()) return std::nullopt;
    return it->second;
  }
};

// For https:// URLs and special clients; the defaults are a plain client.
struct HttpClientOptions {
  std::string ca_file;    // PEM CA that signs the server's certificate (https)
  std::string cert_file;  // PEM client certificate and key for mTLS (https), optional
  std::string key_file;
  std::string local_address;  // local IP to connect from (e.g. "127.0.0.2"); empty: any
};

class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:8700" (no trailing slash).
  explicit HttpClient(std::string base_url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends `method` to base_url + `path` with `headers` ("Name: value") and `body`.
  // No Content-Type is added unless given in `headers`.
  HttpResponse Send(const std::string& method, const std::string& path,
                    const std::vector<std::string>& headers = {}, const std::string& body = "");

  // Shorthands that add "Authorization: Bearer <token>" when `token` is non-empty.
  HttpResponse Get(const std::string& path, const std::string& token = "");
  HttpResponse Delete(const std::string& path, const std::string& token = "");
  HttpResponse Post(const std::string& path, const std::string& token = "");
  // PUT with Content-Type: application/json.
  HttpResponse PutJson(const std::string& path, const std::string& body,
                       const std::string& token = "");

  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
  HttpClientOptions options_;
  void* curl_ = nullptr;  // CURL*
};

// Percent-encodes a path segment (RFC 3986 unreserved characters kept).
std::string UrlEncode(const std::string& text);

}  // namespace strongroom::testing
