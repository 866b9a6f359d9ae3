// The JSON-RPC 2.0 side of the MCP Streamable HTTP transport (MCP 2025-11-25,
// basic/transports): the HTTP request checks (method, Origin, Content-Type,
// Accept, size, MCP-Protocol-Version, nesting, batch rules), the message
// envelope (jsonrpc, id, method, params) and the error and result messages.
// Nothing here knows about tools or the vault. Internal to api/.
//
// Thread safety: stateless functions, safe to call concurrently.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/mcp_handler.h"
#include "base/secret.h"
#include "base/status.h"

namespace strongroom::api::mcp {

// JSON-RPC 2.0 error codes (JSON-RPC 2.0 specification, section 5.1).
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;

// The most messages one JSON-RPC batch may hold (SPEC 5a).
inline constexpr std::size_t kMaxBatchMessages = 16;

// A JSON-RPC error to answer one request with.
struct RpcFault {
  int code;
  std::string message;
};

// What a request is answered with: its result, or a JSON-RPC error.
using RpcOutcome = std::variant<nlohmann::ordered_json, RpcFault>;

// {"jsonrpc":"2.0","id":id,"error":{"code","message"}} / {..., "result":result}.
nlohmann::ordered_json RpcErrorMessage(const nlohmann::json& id, const RpcFault& fault);
nlohmann::ordered_json RpcResultMessage(const nlohmann::json& id, nlohmann::ordered_json result);

// Compact JSON text in wiping memory, for documents that may hold secrets.
// Invalid UTF-8 (only ever in echoed, truncated names) becomes U+FFFD, as in
// every answer of this handler.
SecretStdString DumpSecretText(const nlohmann::ordered_json& value);

// An HTTP response whose body is `body` (an HTTP status besides 200 for the
// transport's refusals). The body is serialised through wiping memory.
McpHttpResponse JsonResponse(int status, const nlohmann::ordered_json& body);

// An HTTP-level refusal carrying a JSON-RPC error without an id, as the
// transport allows for input the server cannot accept.
McpHttpResponse TransportError(int status, const RpcFault& fault);

// The REST error response ({"error","message"} and its headers) for `status`.
McpHttpResponse RestError(const Status& status);

// Checks made before authentication: POST only (405), Origin (403).
std::optional<McpHttpResponse> CheckBeforeAuth(const McpHttpRequest& request,
                                               const McpOptions& options);

// Checks made after authentication and before parsing: Content-Type (415),
// Accept (406), size (413), MCP-Protocol-Version (400), nesting (400). On
// success `*version` is the revision the request is for.
std::optional<McpHttpResponse> CheckBeforeParse(const McpHttpRequest& request,
                                                const McpOptions& options,
                                                std::string_view* version);

// The refusal of a batch (`batch` is a JSON array) that may not be executed:
// batching in a revision after 2025-03-26, an empty batch, more than
// kMaxBatchMessages messages. nullopt: execute it.
std::optional<McpHttpResponse> CheckBatch(const nlohmann::json& batch, std::string_view version);

// One JSON-RPC message after the envelope checks.
struct Envelope {
  // Set for a request to execute (a message with an id and a method).
  std::optional<nlohmann::json> id;
  const std::string* method = nullptr;
  const nlohmann::json* params = nullptr;  // an object
  // Set when the message is answered without executing it (an invalid message).
  std::optional<nlohmann::ordered_json> reply;
  bool malformed = false;  // not a valid JSON-RPC message at all (HTTP 400 when alone)
};

// Checks jsonrpc, id, method and params of `message`. Neither `id` nor `reply`
// is set for notifications and responses, which need no answer.
Envelope OpenEnvelope(const nlohmann::json& message);

}  // namespace strongroom::api::mcp
