#include "api/mcp/vault_calls.h"

#include <optional>
#include <utility>
#include <variant>

#include "api/mcp/tool_results.h"
#include "api/render.h"
#include "base/secret_json.h"

namespace strongroom::api::mcp {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

RpcOutcome CallList(vault::Vault& vault, const vault::Principal& principal, const std::string& tool,
                    const json& args) {
  if (auto fault = CheckArgumentNames(tool, args, {"limit", "cursor"}, {})) return *fault;
  std::optional<std::string> limit;
  std::optional<std::string> cursor;
  if (auto it = args.find("limit"); it != args.end() && !it->is_null()) {
    if (!it->is_number_integer()) return WrongType(tool, "limit", "an integer");
    limit = it->dump();
  }
  if (auto it = args.find("cursor"); it != args.end() && !it->is_null()) {
    if (!it->is_string()) return WrongType(tool, "cursor", "a string");
    cursor = it->get<std::string>();
  }
  auto view = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
    if (!s) return std::nullopt;
    return std::string_view(*s);
  };
  return RenderToolResult(ToJson(vault.List(principal, view(limit), view(cursor))));
}

// Runs `use` with the `name` argument of a tool that takes only a credential name.
template <class UseCase>
RpcOutcome WithName(const std::string& tool, const json& args, UseCase use) {
  auto name = NameArgument(tool, args);
  if (auto* fault = std::get_if<RpcFault>(&name)) return std::move(*fault);
  return use(std::get<std::string>(name));
}

RpcOutcome CallGet(vault::Vault& vault, const vault::Principal& principal, const std::string& tool,
                   const json& args) {
  return WithName(tool, args, [&](const std::string& name) {
    return RenderToolResult(ToJson(vault.Get(principal, name)));
  });
}

RpcOutcome CallTotp(vault::Vault& vault, const vault::Principal& principal, const std::string& tool,
                    const json& args) {
  return WithName(tool, args, [&](const std::string& name) {
    return RenderToolResult(ToJson(vault.Totp(principal, name)));
  });
}

RpcOutcome CallUseBackup(vault::Vault& vault, const vault::Principal& principal,
                         const std::string& tool, const json& args) {
  return WithName(tool, args, [&](const std::string& name) {
    return RenderToolResult(ToJson(vault.PopBackupCode(principal, name)));
  });
}

RpcOutcome CallDelete(vault::Vault& vault, const vault::Principal& principal,
                      const std::string& tool, const json& args) {
  return WithName(tool, args, [&](const std::string& name) -> RpcOutcome {
    Status deleted = vault.Delete(principal, name);
    if (!deleted.ok()) return ToolError(deleted);
    return ToolResult(ordered_json{{"deleted", true}, {"name", name}}, false);
  });
}

// The PUT body of SPEC 5 from the arguments; value checks (type names,
// required fields, TOTP seeds, metadata rules) are the vault's, exactly as for
// REST.
RpcOutcome CallStore(vault::Vault& vault, const vault::Principal& principal,
                     const std::string& tool, const json& args) {
  if (auto fault = CheckArgumentNames(tool, args, {"name", "type", "data", "metadata", "expiresAt"},
                                      {"name", "type", "data"})) {
    return *fault;
  }
  if (!args["name"].is_string()) return WrongType(tool, "name", "a string");
  if (!args["type"].is_string()) return WrongType(tool, "type", "a string");
  if (!args["data"].is_object()) return WrongType(tool, "data", "an object");
  SecretJson body(json::object());  // copies of the secret data: wiped when it dies
  (*body)["type"] = args["type"];
  (*body)["data"] = args["data"];
  if (auto it = args.find("metadata"); it != args.end()) {
    if (!it->is_object() && !it->is_null()) return WrongType(tool, "metadata", "an object or null");
    (*body)["metadata"] = *it;
  }
  if (auto it = args.find("expiresAt"); it != args.end()) {
    if (!it->is_string() && !it->is_null()) {
      return WrongType(tool, "expiresAt", "an RFC 3339 string or null");
    }
    (*body)["expiresAt"] = *it;
  }
  const SecretStdString text = DumpToSecret(*body);
  return RenderToolResult(ToJson(vault.Put(principal, args["name"].get_ref<const std::string&>(),
                                           std::string_view(text.data(), text.size()))));
}

}  // namespace

Result<vault::Principal> AuthenticateCaller(vault::Vault& vault, std::string_view authorization,
                                            const vault::RequestContext& context) {
  return vault.Authenticate(authorization, context);
}

RpcOutcome CallVaultTool(vault::Vault& vault, const vault::Principal& principal, ToolId tool,
                         const std::string& tool_name, const json& args) {
  switch (tool) {
    case ToolId::kList:
      return CallList(vault, principal, tool_name, args);
    case ToolId::kGet:
      return CallGet(vault, principal, tool_name, args);
    case ToolId::kTotp:
      return CallTotp(vault, principal, tool_name, args);
    case ToolId::kUseBackup:
      return CallUseBackup(vault, principal, tool_name, args);
    case ToolId::kStore:
      return CallStore(vault, principal, tool_name, args);
    case ToolId::kDelete:
      return CallDelete(vault, principal, tool_name, args);
  }
  return RpcFault{kInternalError, "Internal error"};
}

}  // namespace strongroom::api::mcp
