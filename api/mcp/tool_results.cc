#include "api/mcp/tool_results.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

#include "api/internal/http_status.h"

namespace strongroom::api::mcp {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json ToolResult(ordered_json body, bool is_error) {
  ordered_json out = ordered_json::object();
  // ordered_map is a vector whose pair<const string, json> elements are
  // copied, not moved, when it grows: room for all three keys up front, so no
  // unwiped copy of the body is freed.
  out.get_ref<ordered_json::object_t&>().reserve(3);
  SecretStdString text = DumpSecretText(body);
  // Built by moves: an initializer list would copy the text and free the
  // copies unwiped.
  ordered_json item = ordered_json::object();
  item["type"] = "text";
  item["text"] = std::string(text.data(), text.size());
  ordered_json content = ordered_json::array();
  content.push_back(std::move(item));
  out["content"] = std::move(content);
  out["structuredContent"] = std::move(body);  // moved, not copied: it can be a 1,000-item list
  out["isError"] = is_error;
  return out;
}

RpcOutcome ToolError(const Status& status) {
  internal::HttpError error = internal::MapStatus(status);
  if (error.http_status >= 500 && error.http_status != 503) {
    spdlog::error("mcp tool call failed: {}", status.ToString());
    return RpcFault{kInternalError, "Internal error: " + error.message};
  }
  return ToolResult(ordered_json{{"error", error.error}, {"message", error.message}}, true);
}

RpcOutcome RenderToolResult(Result<ordered_json> result) {
  if (!result.ok()) return ToolError(result.status());
  return ToolResult(std::move(result).value(), false);
}

std::optional<RpcFault> CheckArgumentNames(const std::string& tool, const json& args,
                                           std::initializer_list<std::string_view> allowed,
                                           std::initializer_list<std::string_view> required) {
  for (const auto& [key, value] : args.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return RpcFault{kInvalidParams, "Invalid params: " + tool + " does not take argument '" +
                                          key.substr(0, 64) + "'"};
    }
  }
  for (std::string_view key : required) {
    if (!args.contains(key)) {
      return RpcFault{kInvalidParams,
                      "Invalid params: " + tool + " requires argument '" + std::string(key) + "'"};
    }
  }
  return std::nullopt;
}

RpcFault WrongType(const std::string& tool, std::string_view key, std::string_view expected) {
  return RpcFault{kInvalidParams, "Invalid params: " + tool + " argument '" + std::string(key) +
                                      "' must be " + std::string(expected)};
}

std::variant<std::string, RpcFault> NameArgument(const std::string& tool, const json& args) {
  if (auto fault = CheckArgumentNames(tool, args, {"name"}, {"name"})) return std::move(*fault);
  const json& name = args["name"];
  if (!name.is_string()) return WrongType(tool, "name", "a string");
  return name.get<std::string>();
}

}  // namespace strongroom::api::mcp
