// The names of the MCP tools (SPEC 6): vault.list, vault.get, vault.totp,
// vault.totp_use_backup, vault.store, vault.delete, or vault_list ... in the
// underscore spelling some agent hosts need. Read from the one tool catalog
// (api/mcp/tool_catalog.cc), so the MCP handler and the stdio bridge
// (app/mcp_bridge.cc) never keep lists of their own.
//
// Thread safety: all functions are pure and may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom::api {

// Every tool's name suffix ("list", "get", ...), in tools/list order.
std::vector<std::string_view> McpToolSuffixes();

// The exposed name of the tool with `suffix`: "vault.get", or "vault_get" when
// `underscore`. Any suffix is spelled, known or not.
std::string McpToolName(std::string_view suffix, bool underscore);

// The suffix of the catalog tool that `name` spells in the given style
// ("vault_get" with underscore -> "get"); nullopt for any other name.
std::optional<std::string_view> McpToolSuffix(std::string_view name, bool underscore);

}  // namespace strongroom::api
