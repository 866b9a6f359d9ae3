// Building blocks of tools/call (MCP 2025-11-25, server/tools): the tool result
// ({"content","structuredContent","isError"}), the mapping of a use-case
// failure to a tool error or a JSON-RPC error, and the checks of a call's
// `arguments`. Internal to api/.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "api/mcp/json_rpc.h"
#include "base/result.h"
#include "base/status.h"

namespace strongroom::api::mcp {

// A tool result: `body` as structuredContent and, for clients without
// structured content, serialised as text (through wiping memory: it may hold
// secrets).
nlohmann::ordered_json ToolResult(nlohmann::ordered_json body, bool is_error);

// A failure of the use case as a tool result with isError, carrying the REST
// error body; a server fault (500, 501) as JSON-RPC -32603, since the caller
// can do nothing about it. The Status message goes to the log, never out.
RpcOutcome ToolError(const Status& status);

// The tool result for `result` (ToolError when it failed).
RpcOutcome RenderToolResult(Result<nlohmann::ordered_json> result);

// Checks `args` against the argument names a tool takes and needs:
// -32602 naming the first unknown or missing argument.
std::optional<RpcFault> CheckArgumentNames(const std::string& tool, const nlohmann::json& args,
                                           std::initializer_list<std::string_view> allowed,
                                           std::initializer_list<std::string_view> required);

// -32602 "<tool> argument '<key>' must be <expected>".
RpcFault WrongType(const std::string& tool, std::string_view key, std::string_view expected);

// The one `name` argument (a string) of the tools that take only a credential name.
std::variant<std::string, RpcFault> NameArgument(const std::string& tool,
                                                 const nlohmann::json& args);

}  // namespace strongroom::api::mcp
