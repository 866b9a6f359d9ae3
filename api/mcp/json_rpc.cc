#include "api/mcp/json_rpc.h"

#include <algorithm>
#include <cctype>
#include <iterator>
#include <utility>
#include <vector>

#include "api/internal/http_status.h"
#include "base/secret_json.h"

namespace strongroom::api::mcp {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The revision assumed when a request carries no MCP-Protocol-Version header
// (MCP 2025-11-25, basic/transports, "Protocol Version Header"). It is also the
// only one of ours that allows JSON-RPC batches.
constexpr std::string_view kBatchingVersion = "2025-03-26";

// Nesting deeper than this is refused before parsing: credential bodies are
// flat, and deep input would only cost stack in the JSON library.
constexpr int kMaxJsonDepth = 32;

std::string Lower(std::string_view in) {
  std::string out(in);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view in) {
  while (!in.empty() && (in.front() == ' ' || in.front() == '\t')) in.remove_prefix(1);
  while (!in.empty() && (in.back() == ' ' || in.back() == '\t')) in.remove_suffix(1);
  return in;
}

// "application/json; charset=utf-8" -> "application/json".
std::string MediaTypeEssence(std::string_view value) {
  return Lower(Trim(value.substr(0, value.find(';'))));
}

bool AcceptsJson(std::string_view accept) {
  if (Trim(accept).empty()) return true;
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string type = MediaTypeEssence(accept.substr(0, comma));
    if (type == "application/json" || type == "application/*" || type == "*/*") return true;
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

// The deepest nesting of arrays/objects in `text`, ignoring brackets in strings.
int JsonDepth(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

bool SupportedVersion(std::string_view version) {
  return std::find(std::begin(kMcpProtocolVersions), std::end(kMcpProtocolVersions), version) !=
         std::end(kMcpProtocolVersions);
}

// Origin check of the transport's security warning (MCP 2025-11-25,
// basic/transports): no Origin (non-browser clients), the same origin, or one
// configured explicitly.
bool OriginAllowed(std::string_view origin, std::string_view host,
                   const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  for (const std::string& entry : allowed) {
    if (Lower(entry) == Lower(origin)) return true;
  }
  std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  std::string_view authority = origin.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  return Lower(authority) == Lower(Trim(host));
}

Envelope Malformed(const json& id, std::string message) {
  Envelope out;
  out.malformed = true;
  out.reply = RpcErrorMessage(id, RpcFault{kInvalidRequest, std::move(message)});
  return out;
}

}  // namespace

ordered_json RpcErrorMessage(const json& id, const RpcFault& fault) {
  ordered_json out;
  out["jsonrpc"] = "2.0";
  out["id"] = id;
  out["error"] = ordered_json{{"code", fault.code}, {"message", fault.message}};
  return out;
}

ordered_json RpcResultMessage(const json& id, ordered_json result) {
  ordered_json out;
  out["jsonrpc"] = "2.0";
  out["id"] = id;
  out["result"] = std::move(result);
  return out;
}

SecretStdString DumpSecretText(const ordered_json& value) {
  try {
    return DumpToSecret(value);
  } catch (const json::type_error&) {
    // Invalid UTF-8; nothing secret is invalid UTF-8 (every secret arrived as JSON).
    std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    SecretStdString out(text.data(), text.size());
    SecureWipe(text.data(), text.size());
    return out;
  }
}

McpHttpResponse JsonResponse(int status, const ordered_json& body) {
  McpHttpResponse out;
  out.status = status;
  SecretStdString text = DumpSecretText(body);
  // One exact-size copy, handed to the HTTP server (which owns it from here).
  out.body.assign(text.data(), text.size());
  return out;
}

McpHttpResponse TransportError(int status, const RpcFault& fault) {
  return JsonResponse(status, RpcErrorMessage(nullptr, fault));
}

McpHttpResponse RestError(const Status& status) {
  internal::HttpError error = internal::MapStatus(status);
  McpHttpResponse out;
  out.status = error.http_status;
  out.body = internal::ErrorBody(error);
  if (error.www_authenticate) out.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.retry_after) out.headers.emplace_back("Retry-After", "1");
  return out;
}

std::optional<McpHttpResponse> CheckBeforeAuth(const McpHttpRequest& request,
                                               const McpOptions& options) {
  if (request.method != "POST") {
    // No server-initiated SSE stream (GET) and no sessions to end (DELETE):
    // MCP 2025-11-25 basic/transports, "Listening for Messages from the Server".
    McpHttpResponse out;
    out.status = 405;
    out.body = internal::ErrorBody(
        internal::HttpError{405, "method_not_allowed", "the MCP endpoint accepts POST only"});
    out.headers.emplace_back("Allow", "POST");
    return out;
  }
  if (!OriginAllowed(request.origin, request.host, options.allowed_origins)) {
    return TransportError(403, {kInvalidRequest, "Forbidden: Origin not allowed"});
  }
  return std::nullopt;
}

std::optional<McpHttpResponse> CheckBeforeParse(const McpHttpRequest& request,
                                                const McpOptions& options,
                                                std::string_view* version) {
  if (MediaTypeEssence(request.content_type) != "application/json") {
    return TransportError(
        415, {kInvalidRequest, "Unsupported Media Type: Content-Type must be application/json"});
  }
  if (!AcceptsJson(request.accept)) {
    return TransportError(
        406, {kInvalidRequest, "Not Acceptable: this server answers with application/json"});
  }
  if (request.body.size() > options.max_body_bytes) {
    return TransportError(413, {kInvalidRequest, "Request body too large"});
  }
  *version = Trim(request.protocol_version);
  if (!version->empty() && !SupportedVersion(*version)) {
    return TransportError(400, {kInvalidRequest, "Bad Request: unsupported MCP-Protocol-Version"});
  }
  if (version->empty()) *version = kBatchingVersion;
  if (JsonDepth(request.body) > kMaxJsonDepth) {
    return TransportError(400, {kInvalidRequest, "Invalid Request: JSON nested too deeply"});
  }
  return std::nullopt;
}

std::optional<McpHttpResponse> CheckBatch(const json& batch, std::string_view version) {
  // JSON-RPC 2.0 section 6 batches: MCP 2025-03-26 allows them; 2025-06-18
  // removed them (changelog), so later versions get Invalid Request.
  if (version != kBatchingVersion) {
    return TransportError(400, {kInvalidRequest,
                                "Invalid Request: JSON-RPC batches are not supported in protocol "
                                "version " +
                                    std::string(version)});
  }
  if (batch.empty()) return TransportError(400, {kInvalidRequest, "Invalid Request: empty batch"});
  // SPEC 5a: a bounded amount of work per HTTP request; nothing of a larger
  // batch is executed.
  if (batch.size() > kMaxBatchMessages) {
    return TransportError(400,
                          {kInvalidRequest, "Invalid Request: a batch holds at most " +
                                                std::to_string(kMaxBatchMessages) + " messages"});
  }
  return std::nullopt;
}

Envelope OpenEnvelope(const json& message) {
  if (!message.is_object()) {
    return Malformed(nullptr, "Invalid Request: a JSON-RPC message must be an object");
  }
  // MCP 2025-11-25 basic: request ids are strings or integers, never null.
  auto id = message.find("id");
  if (id != message.end() && !id->is_string() && !id->is_number_integer()) {
    return Malformed(nullptr, "Invalid Request: id must be a string or an integer");
  }
  const json id_value = id == message.end() ? json(nullptr) : *id;
  auto jsonrpc = message.find("jsonrpc");
  if (jsonrpc == message.end() || !jsonrpc->is_string() || *jsonrpc != "2.0") {
    return Malformed(id_value, "Invalid Request: jsonrpc must be \"2.0\"");
  }
  auto method = message.find("method");
  if (method == message.end()) {
    // A response to a server request. This server sends none, so there is
    // nothing to match it with; the transport says to accept it (202).
    if (id != message.end() && (message.contains("result") || message.contains("error"))) {
      return Envelope{};
    }
    return Malformed(id_value, "Invalid Request: method is missing");
  }
  if (!method->is_string()) return Malformed(id_value, "Invalid Request: method must be a string");
  // Notifications (initialized, cancelled, progress, ...) need no answer and
  // change nothing on a stateless server.
  if (id == message.end()) return Envelope{};

  static const json kNoParams = json::object();
  Envelope out;
  auto params = message.find("params");
  if (params != message.end() && !params->is_null() && !params->is_object()) {
    out.reply =
        RpcErrorMessage(id_value, {kInvalidParams, "Invalid params: params must be an object"});
    return out;
  }
  out.id = id_value;
  out.method = &method->get_ref<const std::string&>();
  out.params = params == message.end() || params->is_null() ? &kNoParams : &*params;
  return out;
}

}  // namespace strongroom::api::mcp
