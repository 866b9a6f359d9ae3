// The MCP tool catalog (SPEC 6) as data: one table row per tool with its name
// suffix, title, description, JSON Schema inputSchema, annotations and the
// use case it runs (whose scope vault::Authorize checks). tools/list renders the rows; tools/call
// finds a row by name and hands its ToolId to the dispatch (api/mcp/vault_calls.h). Internal to
// api/.
//
// Descriptions name other tools as "{tool:<suffix>}", replaced by the name in
// the caller's spelling. A schema value "@credential_types" becomes the wire
// names of every credential type model knows (model::AllCredentialTypes), so a
// new type appears in vault.store's schema without an edit here.
//
// Thread safety: everything is immutable after first use and may be read
// concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "vault/vault.h"

namespace strongroom::api::mcp {

enum class ToolId { kList, kGet, kTotp, kUseBackup, kStore, kDelete };

struct ToolSpec {
  ToolId id;
  std::string_view suffix;  // after "vault." / "vault_"
  std::string_view title;
  std::string_view description;   // with "{tool:<suffix>}" placeholders
  std::string_view input_schema;  // JSON Schema text
  vault::Operation operation;     // the use case it runs (vault::Authorize checks its scope)
  bool read_only;
  bool destructive;
  bool idempotent;
};

// Every tool, in tools/list order.
std::span<const ToolSpec> Tools();

// The tool called `name` in the given spelling; nullptr for any other name.
const ToolSpec* FindTool(std::string_view name, bool underscore);

// The tools/list entry of `tool`:
// {"name","title","description","inputSchema","annotations"}. Built once.
const nlohmann::ordered_json& ToolListEntry(const ToolSpec& tool, bool underscore);

// `text` with every "{tool:<suffix>}" replaced by McpToolName(suffix, underscore).
std::string ExpandToolNames(std::string_view text, bool underscore);

}  // namespace strongroom::api::mcp
