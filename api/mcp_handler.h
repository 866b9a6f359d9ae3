// McpHandler: the MCP face of the vault (SPEC 6), the Streamable HTTP transport
// endpoint (`POST /mcp`) as plain request -> response logic, independent of the
// HTTP library. api/http_server.cc passes it the method, a few headers and the
// body of each request to /mcp and writes back what it returns.
//
// Protocol: JSON-RPC 2.0 with initialize (versions 2025-11-25, 2025-06-18,
// 2025-03-26), notifications/*, ping, tools/list and tools/call. The server is
// stateless: it issues no Mcp-Session-Id, offers no server-initiated SSE stream
// (GET and DELETE answer 405, as the transport allows) and answers every request
// with one application/json body. JSON-RPC batches are accepted only when the
// request is for protocol 2025-03-26 (MCP-Protocol-Version absent or equal to
// it); later revisions removed batching and get -32600.
//
// Tools: vault.list, vault.get, vault.totp (vault:read), vault.totp_use_backup,
// vault.store, vault.delete (vault:write), or vault_list ... with
// `underscore_names`. Each call goes to one vault::Vault use case; the tool result
// carries the REST response body as structuredContent and as text. Failures of
// the use case (not found, validation, expired, scope) are tool results with
// isError; malformed calls (unknown tool, missing or mistyped arguments) are
// JSON-RPC errors -32602.
//
// What is protected: the same as REST. Authentication (vault::Vault::Authenticate
// on the Authorization header) happens before any JSON-RPC is read: 401 with
// `WWW-Authenticate: Bearer` and the REST error body. Requests carrying an
// Origin header from another site get 403 (DNS-rebinding defence the transport
// spec requires). Nothing this class returns or logs contains a secret besides
// the tool results the caller is entitled to.
//
// Thread safety: Handle is const and may be called concurrently. The vault is
// not owned and must outlive the handler.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vault/api_key.h"

namespace strongroom::vault {
class Vault;
}

namespace strongroom::api {

// The parts of an HTTP request to /mcp the handler looks at. Absent headers are
// empty strings.
struct McpHttpRequest {
  std::string_view method;  // "POST", "GET", ...
  std::string_view authorization;
  std::string_view accept;
  std::string_view content_type;
  std::string_view protocol_version;  // MCP-Protocol-Version
  std::string_view session_id;        // Mcp-Session-Id
  std::string_view origin;            // Origin
  std::string_view host;              // Host
  std::string_view body;
  vault::RequestContext context;  // requestId and remote of its audit events
};

struct McpHttpResponse {
  int status = 200;
  // JSON text; empty means no body (202 Accepted, 405 carries an error body).
  std::string body;
  // Headers to send besides Content-Type, which is application/json whenever
  // `body` is non-empty: e.g. {"WWW-Authenticate", "Bearer"}, {"Allow", "POST"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

struct McpOptions {
  bool underscore_names = false;  // vault_get instead of vault.get
  std::size_t max_body_bytes = 64 * 1024;
  std::string server_version = "0.1.0";  // serverInfo.version
  // Origins (e.g. "http://localhost:6274") allowed besides requests without an
  // Origin header and same-origin ones (Origin's host:port equals Host).
  std::vector<std::string> allowed_origins;
};

// The protocol revisions this server speaks, newest first.
inline constexpr std::string_view kMcpProtocolVersions[] = {"2025-11-25", "2025-06-18",
                                                            "2025-03-26"};

class McpHandler final {
 public:
  McpHandler(vault::Vault* vault, McpOptions options);
  McpHandler(const McpHandler&) = delete;
  McpHandler& operator=(const McpHandler&) = delete;

  // Handles one HTTP request to the MCP endpoint. Never throws: every failure
  // becomes an HTTP error or a JSON-RPC error in the body.
  McpHttpResponse Handle(const McpHttpRequest& request) const;

  // The tool name as exposed, e.g. ToolName("get") is "vault.get" or "vault_get".
  std::string ToolName(std::string_view suffix) const;

 private:
  vault::Vault* vault_;
  McpOptions options_;
};

}  // namespace strongroom::api
