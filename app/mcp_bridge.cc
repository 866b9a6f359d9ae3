#include "app/mcp_bridge.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/mcp_tools.h"
#include "app/commands.h"
#include "base/result.h"
#include "base/secret_json.h"

namespace strongroom::app {
namespace {

using nlohmann::json;

// A JSON-RPC "server error" (implementation-defined range, JSON-RPC 2.0 5.1)
// for requests the bridge could not get answered.
constexpr int kBridgeError = -32000;

struct CurlDeleter {
  void operator()(CURL* curl) const { ::curl_easy_cleanup(curl); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* list) const { ::curl_slist_free_all(list); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

std::string Lower(std::string_view in) {
  std::string out(in);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view in) {
  while (!in.empty() && std::isspace(static_cast<unsigned char>(in.front()))) in.remove_prefix(1);
  while (!in.empty() && std::isspace(static_cast<unsigned char>(in.back()))) in.remove_suffix(1);
  return in;
}

struct HttpResult {
  HttpResult() = default;
  HttpResult(HttpResult&&) = default;
  HttpResult& operator=(HttpResult&&) = default;
  ~HttpResult() { SecureWipe(body.data(), body.size()); }  // tool results hold secrets

  long status = 0;
  std::string body;
  std::string content_type;
  std::optional<std::string> session_id;
};

size_t WriteBody(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* result = static_cast<HttpResult*>(user);
  std::string_view line(data, size * count);
  std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Lower(Trim(line.substr(0, colon)));
    std::string value(Trim(line.substr(colon + 1)));
    if (name == "content-type") result->content_type = Lower(value);
    if (name == "mcp-session-id") result->session_id = value;
  }
  return size * count;
}

// One keep-alive connection to the server's MCP endpoint.
class McpClient {
 public:
  static Result<McpClient> Open(std::string url, const SecretString& token) {
    CurlPtr curl(::curl_easy_init());
    if (!curl) return InternalError("cannot initialise libcurl");
    return McpClient(std::move(url), token, std::move(curl));
  }

  // POSTs one JSON-RPC payload. Network failures are UNAVAILABLE.
  Result<HttpResult> Post(std::string_view body, const std::string& protocol_version,
                          const std::string& session_id) {
    SlistPtr headers;
    auto add = [&headers](const std::string& header) {
      curl_slist* next = ::curl_slist_append(headers.get(), header.c_str());
      if (next != nullptr) {
        (void)headers.release();
        headers.reset(next);
      }
    };
    add(authorization_);
    add("Content-Type: application/json");
    add("Accept: application/json, text/event-stream");
    if (!protocol_version.empty()) add("MCP-Protocol-Version: " + protocol_version);
    if (!session_id.empty()) add("Mcp-Session-Id: " + session_id);
    add("Expect:");  // no 100-continue round trip

    HttpResult result;
    CURL* curl = curl_.get();
    ::curl_easy_setopt(curl, CURLOPT_URL, url_.c_str());
    ::curl_easy_setopt(curl, CURLOPT_POST, 1L);
    ::curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    ::curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    ::curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
    ::curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &WriteBody);
    ::curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
    ::curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
    ::curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result);
    ::curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    ::curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    ::curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
    ::curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    CURLcode code = ::curl_easy_perform(curl);
    ::curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    if (code != CURLE_OK) {
      // curl's message names the host and the failure, never the headers.
      return UnavailableError(std::string("cannot reach ") + url_ + ": " +
                              ::curl_easy_strerror(code));
    }
    ::curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
    return result;
  }

  McpClient(McpClient&&) = default;
  McpClient& operator=(McpClient&&) = default;
  ~McpClient() {
    // The curl_slist copies are freed per request; wipe our own copy here.
    SecureWipe(authorization_.data(), authorization_.size());
  }

 private:
  McpClient(std::string url, const SecretString& token, CurlPtr curl)
      : url_(std::move(url)), curl_(std::move(curl)) {
    authorization_ = "Authorization: Bearer ";
    authorization_.append(token.view());
  }

  std::string url_;
  std::string authorization_;
  CurlPtr curl_;
};

// The JSON-RPC messages of an SSE body (each event's joined data lines).
std::vector<std::string> SseMessages(std::string_view body) {
  std::vector<std::string> out;
  std::string data;
  bool has_data = false;
  auto flush = [&] {
    if (has_data && !Trim(data).empty()) out.push_back(data);
    data.clear();
    has_data = false;
  };
  while (!body.empty()) {
    std::size_t end = body.find('\n');
    std::string_view line = body.substr(0, end);
    body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      flush();
    } else if (line.substr(0, 5) == "data:") {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (has_data) data.push_back('\n');
      data.append(value);
      has_data = true;
    }
  }
  flush();
  return out;
}

// "vault_get" -> "vault.get" for the server; other names unchanged.
void ToDottedToolName(json& request) {
  if (!request.is_object() || request.value("method", "") != "tools/call") return;
  auto params = request.find("params");
  if (params == request.end() || !params->is_object()) return;
  auto name = params->find("name");
  if (name == params->end() || !name->is_string()) return;
  // The suffix views the catalog, not *name, which the assignment below frees.
  if (auto suffix = api::McpToolSuffix(name->get_ref<const std::string&>(), /*underscore=*/true)) {
    *name = api::McpToolName(*suffix, /*underscore=*/false);
  }
}

// "vault.get" -> "vault_get" in a tools/list result.
void ToUnderscoreToolNames(json& response) {
  if (!response.is_object()) return;
  auto result = response.find("result");
  if (result == response.end() || !result->is_object()) return;
  auto tools = result->find("tools");
  if (tools == result->end() || !tools->is_array()) return;
  for (json& tool : *tools) {
    if (!tool.is_object() || !tool.contains("name") || !tool["name"].is_string()) continue;
    auto suffix = api::McpToolSuffix(tool["name"].get_ref<const std::string&>(), false);
    if (suffix) tool["name"] = api::McpToolName(*suffix, /*underscore=*/true);
  }
}

json ErrorReply(const json& id, int code, std::string message) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"error", json{{"code", code}, {"message", std::move(message)}}}};
}

class Bridge {
 public:
  Bridge(const McpBridgeOptions& options, McpClient client, std::ostream& out)
      : options_(options), client_(std::move(client)), out_(out) {}

  // Forwards one stdin line; false when stdout is gone.
  bool Forward(std::string_view line) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    JsonWipeGuard parsed_guard(parsed);  // vault.store arguments hold secrets
    // Requests in this line, by id, with their method: replies are matched to
    // them (initialize result, tools/list renaming, error replies).
    std::map<std::string, std::string> requests;
    std::vector<json> request_ids;
    auto note = [&](json& message) {
      if (!message.is_object() || !message.contains("method") || !message.contains("id")) return;
      if (!message["method"].is_string()) return;
      requests[message["id"].dump()] = message["method"].get<std::string>();
      request_ids.push_back(message["id"]);
      if (options_.underscore_names) ToDottedToolName(message);
    };
    SecretStdString body(line.data(), line.size());
    if (!parsed.is_discarded()) {
      if (parsed.is_array()) {
        for (json& item : parsed) note(item);
      } else {
        note(parsed);
      }
      if (options_.underscore_names) body = DumpToSecret(parsed);
    }
    // A line that is not JSON still goes to the server, whose parse error is
    // the reply: one place decides what is malformed.

    Result<HttpResult> http = client_.Post(body, protocol_version_, session_id_);
    if (!http.ok()) {
      spdlog::error("mcp bridge: {}", http.status().message());
      for (const json& id : request_ids) {
        if (!Write(ErrorReply(id, kBridgeError, http.status().message()))) return false;
      }
      return true;
    }
    if (http->session_id) session_id_ = *http->session_id;
    if (http->status == 404 && !session_id_.empty()) session_id_.clear();  // session gone
    if (http->status == 202 || Trim(http->body).empty()) {
      if (http->status >= 400) return FailAll(request_ids, *http);
      return true;
    }

    std::vector<std::string> payloads;
    if (http->content_type.rfind("text/event-stream", 0) == 0) {
      payloads = SseMessages(http->body);
    } else {
      payloads.push_back(http->body);
    }
    for (const std::string& payload : payloads) {
      json reply = json::parse(payload, nullptr, false);
      JsonWipeGuard reply_guard(reply);
      if (reply.is_discarded()) {
        spdlog::error("mcp bridge: server answered HTTP {} with a body that is not JSON",
                      http->status);
        return FailAll(request_ids, *http);
      }
      if (reply.is_object() && !reply.contains("jsonrpc")) {
        // A REST error body ({"error","message"}): 401, 403, 503 ...
        return FailAll(request_ids, *http, reply.value("message", std::string()));
      }
      if (reply.is_array()) {
        for (json& item : reply) Fix(item, requests, request_ids);
      } else {
        Fix(reply, requests, request_ids);
      }
      if (!Write(reply)) return false;
    }
    return true;
  }

 private:
  // Adjusts one reply: remembers the negotiated version, renames tools, and
  // gives an id-less transport error the id of the single request it answers.
  void Fix(json& reply, const std::map<std::string, std::string>& requests,
           const std::vector<json>& request_ids) {
    if (!reply.is_object()) return;
    if (reply.contains("error") && reply["id"].is_null() && request_ids.size() == 1) {
      reply["id"] = request_ids.front();
    }
    if (!reply.contains("id")) return;
    auto it = requests.find(reply["id"].dump());
    if (it == requests.end()) return;
    if (it->second == "initialize" && reply.contains("result") && reply["result"].is_object()) {
      const json& result = reply["result"];
      if (result.contains("protocolVersion") && result["protocolVersion"].is_string()) {
        protocol_version_ = result["protocolVersion"].get<std::string>();
      }
    }
    if (it->second == "tools/list" && options_.underscore_names) ToUnderscoreToolNames(reply);
  }

  bool FailAll(const std::vector<json>& request_ids, const HttpResult& http,
               std::string detail = {}) {
    std::string message = "server answered HTTP " + std::to_string(http.status);
    if (!detail.empty()) message += ": " + detail;
    if (http.status == 401) message += " (check STRONGROOM_TOKEN)";
    spdlog::error("mcp bridge: {}", message);
    for (const json& id : request_ids) {
      if (!Write(ErrorReply(id, kBridgeError, message))) return false;
    }
    return true;
  }

  bool Write(const json& message) {
    // dump() escapes control characters, so a message is always one line.
    out_ << message.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
    out_.flush();
    return static_cast<bool>(out_);
  }

  const McpBridgeOptions& options_;
  McpClient client_;
  std::ostream& out_;
  std::string protocol_version_;  // negotiated by initialize; sent as MCP-Protocol-Version
  std::string session_id_;        // Mcp-Session-Id, if the server issues one
};

Result<std::string> EndpointUrl(const std::string& addr) {
  std::string url(Trim(addr));
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return UsageError("--addr must be an http:// or https:// URL, e.g. http://127.0.0.1:8700");
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() < 4 || url.compare(url.size() - 4, 4, "/mcp") != 0) url += "/mcp";
  return url;
}

}  // namespace

Status RunMcpBridge(const McpBridgeOptions& options, const SecretString& token, std::istream& in,
                    std::ostream& out) {
  Result<std::string> url = EndpointUrl(options.addr);
  if (!url.ok()) return url.status();
  Result<McpClient> client = McpClient::Open(*url, token);
  if (!client.ok()) return client.status();
  Bridge bridge(options, std::move(*client), out);
  spdlog::info("mcp bridge: forwarding stdin to {}", *url);
  std::string line;
  while (std::getline(in, line)) {
    if (Trim(line).empty()) continue;
    if (!bridge.Forward(line)) {
      spdlog::warn("mcp bridge: stdout closed, stopping");
      break;
    }
  }
  return Status::Ok();
}

Status RunMcpBridge(const McpBridgeOptions& options) {
  const char* env = std::getenv("STRONGROOM_TOKEN");
  if (env == nullptr || *env == '\0') {
    return FailedPreconditionError(
        "STRONGROOM_TOKEN is not set: export the API key the bridge should use", "missing_token");
  }
  SecretString token{std::string_view(env)};
  if (::curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    return InternalError("cannot initialise libcurl");
  }
  std::ios::sync_with_stdio(false);
  Status status = RunMcpBridge(options, token, std::cin, std::cout);
  ::curl_global_cleanup();
  return status;
}

}  // namespace strongroom::app
