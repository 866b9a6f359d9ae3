// The MCP methods a stateless server answers (MCP 2025-11-25 basic/lifecycle
// and server/tools): initialize, ping, tools/list, tools/call, and
// notifications (no answer). One JSON-RPC message in, its reply out; the
// transport (api/mcp/json_rpc.h) has checked the HTTP request. Internal to api/.
//
// Thread safety: stateless; safe to call concurrently.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "api/mcp/vault_calls.h"
#include "api/mcp_handler.h"

namespace strongroom::api::mcp {

// One authenticated HTTP request to /mcp.
struct McpCall {
  vault::Vault& vault;
  const vault::Principal& principal;
  const McpOptions& options;
};

struct McpReply {
  std::optional<nlohmann::ordered_json> message;  // nullopt: nothing to answer
  bool malformed = false;  // not a valid JSON-RPC message at all (HTTP 400 when alone)
};

// Answers one JSON-RPC message of `call`'s body (`in_batch`: one of a batch).
McpReply AnswerMessage(const McpCall& call, const nlohmann::json& message, bool in_batch);

}  // namespace strongroom::api::mcp
