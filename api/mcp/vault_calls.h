// The one place the MCP face calls the vault: authentication and one function
// per tool, each mapping a tools/call `arguments` object onto one use case and
// its answer onto a tool result (api/mcp/tool_results.h). Everything else in
// the MCP face sees the vault only through this header. Internal to api/.
//
// Thread safety: as the vault's own methods (safe to call concurrently).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/mcp/json_rpc.h"
#include "api/mcp/tool_catalog.h"
#include "base/result.h"
#include "vault/vault.h"

namespace strongroom::api::mcp {

// The caller of an HTTP request, from its Authorization header. Errors as
// vault::Vault::Authenticate (UNAUTHENTICATED, UNAVAILABLE).
Result<vault::Principal> AuthenticateCaller(vault::Vault& vault, std::string_view authorization,
                                            const vault::RequestContext& context);

// Runs tool `tool` (called by the name `tool_name`, echoed in messages) with
// `args`, an object. The caller has checked the scope. Returns the tool result
// (isError for use-case failures) or -32602 for malformed arguments, -32603
// for server faults.
RpcOutcome CallVaultTool(vault::Vault& vault, const vault::Principal& principal, ToolId tool,
                         const std::string& tool_name, const nlohmann::json& args);

}  // namespace strongroom::api::mcp
