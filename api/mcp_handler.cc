#include "api/mcp_handler.h"

#include <utility>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/mcp/json_rpc.h"
#include "api/mcp/lifecycle.h"
#include "api/mcp/vault_calls.h"
#include "api/mcp_tools.h"
#include "base/secret_json.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Answers every message of a batch (already checked by mcp::CheckBatch).
McpHttpResponse AnswerBatch(const mcp::McpCall& call, const json& batch) {
  SecretOrderedJson replies(ordered_json::array());  // tool results may hold secrets
  for (const json& item : batch) {
    mcp::McpReply reply = mcp::AnswerMessage(call, item, /*in_batch=*/true);
    if (reply.message) replies->push_back(std::move(*reply.message));
  }
  if (replies->empty()) return McpHttpResponse{202, {}, {}};
  return mcp::JsonResponse(200, *replies);
}

McpHttpResponse HandleUnguarded(vault::Vault& vault, const McpOptions& options,
                                const McpHttpRequest& request) {
  if (auto refused = mcp::CheckBeforeAuth(request, options)) return std::move(*refused);
  // Authentication precedes everything else, as for REST.
  Result<vault::Principal> principal =
      mcp::AuthenticateCaller(vault, request.authorization, request.context);
  if (!principal.ok()) return mcp::RestError(principal.status());
  std::string_view version;
  if (auto refused = mcp::CheckBeforeParse(request, options, &version)) return std::move(*refused);

  // vault.store arguments hold secrets: the parsed body is wiped when it dies.
  SecretJson message(json::parse(request.body, nullptr, /*allow_exceptions=*/false));
  if (message->is_discarded()) {
    return mcp::TransportError(400, {mcp::kParseError, "Parse error: the body is not valid JSON"});
  }
  const mcp::McpCall call{vault, *principal, options};
  if (message->is_array()) {
    if (auto refused = mcp::CheckBatch(*message, version)) return std::move(*refused);
    return AnswerBatch(call, *message);
  }
  mcp::McpReply reply = mcp::AnswerMessage(call, *message, /*in_batch=*/false);
  if (!reply.message) return McpHttpResponse{202, {}, {}};
  SecretOrderedJson answer(std::move(*reply.message));
  return mcp::JsonResponse(reply.malformed ? 400 : 200, *answer);
}

}  // namespace

McpHandler::McpHandler(vault::Vault* vault, McpOptions options)
    : vault_(vault), options_(std::move(options)) {}

std::string McpHandler::ToolName(std::string_view suffix) const {
  return McpToolName(suffix, options_.underscore_names);
}

McpHttpResponse McpHandler::Handle(const McpHttpRequest& request) const {
  try {
    return HandleUnguarded(*vault_, options_, request);
  } catch (...) {
    // Exception text may carry anything; neither the client nor the log gets it.
    spdlog::error("unhandled exception in the MCP handler");
    return mcp::TransportError(500, {mcp::kInternalError, "Internal error"});
  }
}

}  // namespace strongroom::api
