// `strongroom mcp --addr URL`: the stdio face of MCP (SPEC 6).
//
// Agent hosts that launch MCP servers as processes talk newline-delimited
// JSON-RPC on the child's stdin/stdout (MCP 2025-11-25 basic/transports,
// "stdio"). The bridge forwards each line as one Streamable HTTP POST to
// URL/mcp with the API key from STRONGROOM_TOKEN and writes each JSON-RPC reply
// on one line of stdout; notifications (202) produce no output. Logs go to
// stderr only: stdout carries MCP messages and nothing else.
//
// What it holds: the API key, in memory, for the life of the process. No HSM
// PIN, no database access: everything goes through the server's own checks.
//
// Not thread-safe; one call per process.
#pragma once

#include <istream>
#include <ostream>
#include <string>

#include "base/secret.h"
#include "base/status.h"

namespace strongroom::app {

struct McpBridgeOptions {
  std::string addr;  // server base URL, e.g. http://127.0.0.1:8700 (or the /mcp URL itself)
  // Expose vault_get ... to the client whatever the server calls its tools
  // (for hosts whose function-name rules reject dots).
  bool underscore_names = false;
};

// Reads STRONGROOM_TOKEN and bridges stdin/stdout until EOF on stdin (OK).
// Errors: a usage error for a malformed --addr, FAILED_PRECONDITION when the
// token is unset. Server or network failures do not end the bridge: each
// affected request gets a JSON-RPC error reply and a line on stderr.
Status RunMcpBridge(const McpBridgeOptions& options);

// The loop behind RunMcpBridge with explicit streams and key (tests).
Status RunMcpBridge(const McpBridgeOptions& options, const SecretString& token, std::istream& in,
                    std::ostream& out);

}  // namespace strongroom::app
