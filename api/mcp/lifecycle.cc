#include "api/mcp/lifecycle.h"

#include <string>
#include <utility>

#include "api/mcp/json_rpc.h"
#include "api/mcp/tool_catalog.h"
#include "api/mcp/tool_results.h"
#include "api/mcp_tools.h"
#include "model/credential.h"

namespace strongroom::api::mcp {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kInstructions =
    "Strongroom is a credential vault. Use {tool:list} to find a credential, {tool:get} to read "
    "its secret data and {tool:totp} for a current 2FA code. Secrets are returned only to this "
    "API key's identity; do not repeat them to the user or write them to files unless asked to.";

// MCP 2025-11-25 basic/lifecycle, "Version Negotiation": answer the client's
// version if supported, otherwise the latest this server supports.
RpcOutcome Initialize(const McpCall& call, const json& params, bool in_batch) {
  if (in_batch) {
    return RpcFault{kInvalidRequest, "Invalid Request: initialize must not be part of a batch"};
  }
  auto version = params.find("protocolVersion");
  if (version == params.end() || !version->is_string()) {
    return RpcFault{kInvalidParams, "Invalid params: protocolVersion (string) is required"};
  }
  const std::string& requested = version->get_ref<const std::string&>();
  bool supported = false;
  for (std::string_view known : kMcpProtocolVersions) supported = supported || known == requested;
  ordered_json out;
  out["protocolVersion"] = supported ? requested : std::string(kMcpProtocolVersions[0]);
  out["capabilities"] = ordered_json{{"tools", ordered_json{{"listChanged", false}}}};
  out["serverInfo"] = ordered_json{
      {"name", "strongroom"}, {"title", "Strongroom"}, {"version", call.options.server_version}};
  out["instructions"] = ExpandToolNames(kInstructions, call.options.underscore_names);
  return out;
}

// The tools the caller's scopes allow, in catalog order.
ordered_json ListTools(const McpCall& call) {
  ordered_json list = ordered_json::array();
  for (const ToolSpec& tool : Tools()) {
    if (vault::Allows(call.principal, tool.operation)) {
      list.push_back(ToolListEntry(tool, call.options.underscore_names));
    }
  }
  return ordered_json{{"tools", std::move(list)}};
}

RpcOutcome CallTool(const McpCall& call, const json& params) {
  auto name = params.find("name");
  if (name == params.end() || !name->is_string()) {
    return RpcFault{kInvalidParams, "Invalid params: name (string) is required"};
  }
  const std::string& tool_name = name->get_ref<const std::string&>();
  const ToolSpec* tool = FindTool(tool_name, call.options.underscore_names);
  if (tool == nullptr) return RpcFault{kInvalidParams, "Unknown tool: " + tool_name.substr(0, 100)};
  // Scope first, so a key without it learns nothing from argument checks.
  if (Status allowed = vault::Authorize(call.principal, tool->operation); !allowed.ok()) {
    // The call still gets its audit event (SPEC 12).
    allowed = call.vault.Refuse(call.principal, tool->operation, {}, allowed);
    // "this API key lacks the vault:write scope needed by vault.store"
    return ToolError(Status(allowed.code(), "this " + allowed.message() + " needed by " + tool_name,
                            allowed.error_code()));
  }
  static const json kNoArguments = json::object();
  auto args = params.find("arguments");
  if (args != params.end() && !args->is_null() && !args->is_object()) {
    return RpcFault{kInvalidParams, "Invalid params: arguments must be an object"};
  }
  const json& arguments = args == params.end() || args->is_null() ? kNoArguments : *args;
  return CallVaultTool(call.vault, call.principal, tool->id, tool_name, arguments);
}

RpcOutcome CallMethod(const McpCall& call, const std::string& method, const json& params,
                      bool in_batch) {
  if (method == "initialize") return Initialize(call, params, in_batch);
  if (method == "ping") return ordered_json::object();
  if (method == "tools/list") return ListTools(call);
  if (method == "tools/call") return CallTool(call, params);
  return RpcFault{kMethodNotFound, "Method not found: " + method.substr(0, 100)};
}

}  // namespace

McpReply AnswerMessage(const McpCall& call, const json& message, bool in_batch) {
  Envelope envelope = OpenEnvelope(message);
  if (!envelope.id) return McpReply{std::move(envelope.reply), envelope.malformed};
  RpcOutcome outcome = CallMethod(call, *envelope.method, *envelope.params, in_batch);
  if (auto* fault = std::get_if<RpcFault>(&outcome)) {
    return McpReply{RpcErrorMessage(*envelope.id, *fault), false};
  }
  return McpReply{RpcResultMessage(*envelope.id, std::move(std::get<ordered_json>(outcome))),
                  false};
}

}  // namespace strongroom::api::mcp
