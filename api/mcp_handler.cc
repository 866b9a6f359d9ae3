#include "api/mcp_handler.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/internal/http_status.h"
#include "api/render.h"
#include "base/secret_json.h"
#include "model/credential.h"
#include "vault/vault.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// JSON-RPC 2.0 error codes (JSON-RPC 2.0 specification, section 5.1).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;

// The revision assumed when a request carries no MCP-Protocol-Version header
// (MCP 2025-11-25, basic/transports, "Protocol Version Header"). It is also the
// only one of ours that allows JSON-RPC batches.
constexpr std::string_view kBatchingVersion = "2025-03-26";

// Nesting deeper than this is refused before parsing: credential bodies are
// flat, and deep input would only cost stack in the JSON library.
constexpr int kMaxJsonDepth = 32;

constexpr std::string_view kNamePattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$";

std::string Dump(const ordered_json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string Lower(std::string_view in) {
  std::string out(in);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view in) {
  while (!in.empty() && (in.front() == ' ' || in.front() == '\t')) in.remove_prefix(1);
  while (!in.empty() && (in.back() == ' ' || in.back() == '\t')) in.remove_suffix(1);
  return in;
}

// "application/json; charset=utf-8" -> "application/json".
std::string MediaTypeEssence(std::string_view value) {
  return Lower(Trim(value.substr(0, value.find(';'))));
}

bool AcceptsJson(std::string_view accept) {
  if (Trim(accept).empty()) return true;
  while (!accept.empty()) {
    std::size_t comma = accept.find(',');
    std::string type = MediaTypeEssence(accept.substr(0, comma));
    if (type == "application/json" || type == "application/*" || type == "*/*") return true;
    if (comma == std::string_view::npos) break;
    accept.remove_prefix(comma + 1);
  }
  return false;
}

// The deepest nesting of arrays/objects in `text`, ignoring brackets in strings.
int JsonDepth(std::string_view text) {
  int depth = 0;
  int max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

bool SupportedVersion(std::string_view version) {
  return std::find(std::begin(kMcpProtocolVersions), std::end(kMcpProtocolVersions), version) !=
         std::end(kMcpProtocolVersions);
}

ordered_json RpcErrorMessage(const json& id, int code, std::string message) {
  ordered_json out;
  out["jsonrpc"] = "2.0";
  out["id"] = id;
  out["error"] = ordered_json{{"code", code}, {"message", std::move(message)}};
  return out;
}

ordered_json RpcResultMessage(const json& id, ordered_json result) {
  ordered_json out;
  out["jsonrpc"] = "2.0";
  out["id"] = id;
  out["result"] = std::move(result);
  return out;
}

McpHttpResponse JsonResponse(int status, const ordered_json& body) {
  McpHttpResponse out;
  out.status = status;
  out.body = Dump(body);
  return out;
}

// An HTTP-level refusal carrying a JSON-RPC error without an id, as the
// transport allows for input the server cannot accept.
McpHttpResponse TransportError(int status, int code, std::string message) {
  return JsonResponse(status, RpcErrorMessage(nullptr, code, std::move(message)));
}

// A REST error response (the Loomal {"error","message"} body) for a Status.
McpHttpResponse RestError(const Status& status) {
  internal::HttpError error = internal::MapStatus(status);
  McpHttpResponse out;
  out.status = error.http_status;
  out.body = internal::ErrorBody(error);
  if (error.www_authenticate) out.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.retry_after) out.headers.emplace_back("Retry-After", "1");
  return out;
}

// Origin check of the transport's security warning (MCP 2025-11-25,
// basic/transports): no Origin (non-browser clients), the same origin, or one
// configured explicitly.
bool OriginAllowed(std::string_view origin, std::string_view host,
                   const std::vector<std::string>& allowed) {
  if (origin.empty()) return true;
  for (const std::string& entry : allowed) {
    if (Lower(entry) == Lower(origin)) return true;
  }
  std::size_t scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos || host.empty()) return false;
  std::string_view authority = origin.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  return Lower(authority) == Lower(Trim(host));
}

// --- tools ---------------------------------------------------------------

enum class ToolKind { kList, kGet, kTotp, kUseBackup, kStore, kDelete };

struct ToolSpec {
  ToolKind kind;
  std::string_view suffix;  // after "vault." / "vault_"
  std::string_view title;
  vault::Operation operation;  // the use case, for vault::Authorize
  bool read_only;
  bool destructive;
  bool idempotent;
};

constexpr ToolSpec kTools[] = {
    {ToolKind::kList, "list", "List credentials", vault::Operation::kList, true, false, true},
    {ToolKind::kGet, "get", "Get a credential", vault::Operation::kGet, true, false, true},
    {ToolKind::kTotp, "totp", "Get a TOTP code", vault::Operation::kTotp, true, false, true},
    {ToolKind::kUseBackup, "totp_use_backup", "Use a TOTP backup code",
     vault::Operation::kPopBackupCode, false, true, false},
    {ToolKind::kStore, "store", "Store a credential", vault::Operation::kPut, false, true, true},
    {ToolKind::kDelete, "delete", "Delete a credential", vault::Operation::kDelete, false, true,
     true},
};

// A JSON-RPC fault while handling one request.
struct RpcFault {
  int code;
  std::string message;
};

ordered_json NameProperty(std::string_view what) {
  return ordered_json{{"type", "string"},
                      {"pattern", kNamePattern},
                      {"maxLength", 128},
                      {"description", std::string(what)}};
}

ordered_json ObjectSchema(ordered_json properties, std::vector<std::string> required) {
  ordered_json schema;
  schema["type"] = "object";
  schema["properties"] = std::move(properties);
  if (!required.empty()) schema["required"] = std::move(required);
  schema["additionalProperties"] = false;
  return schema;
}

class ToolCatalog {
 public:
  explicit ToolCatalog(bool underscore) : separator_(underscore ? "_" : ".") {}

  std::string Name(std::string_view suffix) const {
    return "vault" + separator_ + std::string(suffix);
  }

  const ToolSpec* Find(std::string_view name) const {
    for (const ToolSpec& tool : kTools) {
      if (Name(tool.suffix) == name) return &tool;
    }
    return nullptr;
  }

  ordered_json Describe(const ToolSpec& tool) const {
    ordered_json out;
    out["name"] = Name(tool.suffix);
    out["title"] = tool.title;
    out["description"] = Description(tool.kind);
    out["inputSchema"] = InputSchema(tool.kind);
    out["annotations"] = ordered_json{{"title", tool.title},
                                      {"readOnlyHint", tool.read_only},
                                      {"destructiveHint", tool.destructive},
                                      {"idempotentHint", tool.idempotent},
                                      {"openWorldHint", false}};
    return out;
  }

 private:
  std::string Description(ToolKind kind) const {
    switch (kind) {
      case ToolKind::kList:
        return "List the credentials in the vault (of the identity that owns this API key), "
               "sorted by name. Returns names, types and plaintext metadata only, never secret "
               "values: use " +
               Name("get") +
               " to read a credential's secret data. Result: {\"credentials\":[{\"name\",\"type\","
               "\"metadata\",\"expiresAt\",...}],\"count\",\"nextCursor\"}. When nextCursor is "
               "not null, call again with cursor=nextCursor for the next page.";
      case ToolKind::kGet:
        return "Retrieve one credential by exact name, including its secret fields in `data` "
               "(e.g. password, key, accessToken, privateKey, connectionString). TOTP seeds "
               "come back as \"[REDACTED]\": use " +
               Name("totp") +
               " for a one-time code. Errors: not_found (no credential of that name), expired "
               "(past its expiresAt). Call " +
               Name("list") + " first if you do not know the name.";
      case ToolKind::kTotp:
        return "Generate the current TOTP (2FA one-time password) code for a credential holding "
               "a TOTP seed: a TOTP credential, or any credential with data.totp (e.g. a LOGIN "
               "with 2FA). Result: {\"code\",\"remaining\" (seconds the code stays valid),"
               "\"backupCodesRemaining\",\"digits\",\"period\"}. If remaining is very small, wait "
               "and call again for a fresh code. Errors: not_totp (no seed), not_found, expired.";
      case ToolKind::kUseBackup:
        return "Consume the next unused backup (recovery) code of a TOTP credential and return "
               "it: {\"code\",\"remaining\",\"backupCodesRemaining\"}. Each code is handed out "
               "exactly once and moves to usedBackupCodes, so only call this when a backup code "
               "is actually needed (prefer " +
               Name("totp") + "). Errors: no_backup_codes (none left), not_found, expired.";
      case ToolKind::kStore:
        return "Create or replace the credential `name` with `type`, secret `data` (encrypted "
               "at rest) and optional plaintext `metadata` and `expiresAt` (RFC 3339). Secret "
               "values are strings. Required data fields by type: LOGIN: password (metadata: "
               "uri, username); API_KEY: key, or clientId + secret (metadata: service, prefix); "
               "OAUTH: accessToken, optional refreshToken (metadata: provider, scopes, "
               "expiresAt); TOTP: secret (base32, at least 80 bits) or otpauthUri, optional "
               "backupCodes (array of strings) (metadata: issuer, account, algorithm "
               "SHA1|SHA256|SHA512, digits 6|8, period seconds); SSH_KEY: privateKey, optional "
               "passphrase (metadata: publicKey, keyType); DATABASE: password or "
               "connectionString (metadata: engine, host, port, database); SMTP: password "
               "(metadata: host, port, username, encryption); AWS: secretAccessKey, optional "
               "sessionToken (metadata: accessKeyId, region); CERTIFICATE: privateKey (metadata: "
               "certificate, chain, domain, expiresAt); CUSTOM: any string fields, at least one. "
               "Any credential may also carry data.totp, a base32 TOTP seed for its 2FA. Never "
               "put secrets in metadata: metadata keys named like secret fields (password, key, "
               "secret, token, ...) are rejected. Replacing an existing name overwrites it; the "
               "result is the credential summary with \"created\": true (new) or false "
               "(replaced). Validation errors name the offending field.";
      case ToolKind::kDelete:
        return "Permanently delete the credential `name` and its secret data. This cannot be "
               "undone. Result: {\"deleted\":true,\"name\"}. Errors: not_found.";
    }
    return {};
  }

  static ordered_json InputSchema(ToolKind kind) {
    switch (kind) {
      case ToolKind::kList:
        return ObjectSchema(
            ordered_json{
                {"limit", ordered_json{{"type", "integer"},
                                       {"minimum", 1},
                                       {"maximum", 1000},
                                       {"description", "Page size, 1..1000 (default 100)."}}},
                {"cursor", ordered_json{{"type", "string"},
                                        {"description",
                                         "nextCursor from a previous page; omit for the "
                                         "first page."}}}},
            {});
      case ToolKind::kGet:
      case ToolKind::kTotp:
      case ToolKind::kUseBackup:
      case ToolKind::kDelete:
        return ObjectSchema(ordered_json{{"name", NameProperty("The credential's name.")}},
                            {"name"});
      case ToolKind::kStore: {
        std::vector<std::string> types;
        for (auto type : {model::CredentialType::kLogin, model::CredentialType::kApiKey,
                          model::CredentialType::kOauth, model::CredentialType::kTotp,
                          model::CredentialType::kSshKey, model::CredentialType::kDatabase,
                          model::CredentialType::kSmtp, model::CredentialType::kAws,
                          model::CredentialType::kCertificate, model::CredentialType::kCustom}) {
          types.emplace_back(model::TypeName(type));
        }
        ordered_json secret_value{
            {"anyOf", ordered_json::array(
                          {ordered_json{{"type", "string"}},
                           ordered_json{{"type", "array"}, {"items", {{"type", "string"}}}}})}};
        ordered_json metadata_value{
            {"anyOf", ordered_json::array(
                          {ordered_json{{"type", "string"}}, ordered_json{{"type", "number"}},
                           ordered_json{{"type", "boolean"}},
                           ordered_json{{"type", "array"}, {"items", {{"type", "string"}}}}})}};
        return ObjectSchema(
            ordered_json{
                {"name", NameProperty("The credential's name, unique per identity; an existing "
                                      "credential of this name is replaced.")},
                {"type",
                 ordered_json{
                     {"type", "string"}, {"enum", types}, {"description", "The credential type."}}},
                {"data", ordered_json{{"type", "object"},
                                      {"minProperties", 1},
                                      {"additionalProperties", secret_value},
                                      {"description",
                                       "Secret fields (encrypted at rest); the "
                                       "required ones depend on type."}}},
                {"metadata", ordered_json{{"type", ordered_json::array({"object", "null"})},
                                          {"additionalProperties", metadata_value},
                                          {"description",
                                           "Plaintext display fields; never "
                                           "secrets."}}},
                {"expiresAt", ordered_json{{"type", ordered_json::array({"string", "null"})},
                                           {"format", "date-time"},
                                           {"description",
                                            "RFC 3339 time after which reads "
                                            "fail with expired."}}}},
            {"name", "type", "data"});
      }
    }
    return ObjectSchema(ordered_json::object(), {});
  }

  std::string separator_;
};

// Checks a tools/call `arguments` object against the names a tool takes.
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

// A tool result (MCP tools: "Structured Content"): the JSON as structuredContent
// and, for clients without structured content, serialised as text.
ordered_json ToolResult(ordered_json body, bool is_error) {
  ordered_json out;
  out["content"] = ordered_json::array({ordered_json{{"type", "text"}, {"text", Dump(body)}}});
  out["structuredContent"] = std::move(body);  // moved, not copied: it can be a 1,000-item list
  out["isError"] = is_error;
  return out;
}

// Everything about answering the JSON-RPC messages of one authenticated HTTP request.
class Dispatcher {
 public:
  Dispatcher(vault::Vault& vault, const ToolCatalog& tools, const McpOptions& options,
             const vault::Principal& principal)
      : vault_(vault), tools_(tools), options_(options), principal_(principal) {}

  struct Outcome {
    std::optional<ordered_json> reply;  // nullopt: nothing to answer (notification, response)
    bool malformed = false;             // not a valid JSON-RPC message at all
  };

  Outcome Process(const json& message, bool in_batch) {
    Outcome out;
    if (!message.is_object()) {
      out.malformed = true;
      out.reply = RpcErrorMessage(nullptr, kInvalidRequest,
                                  "Invalid Request: a JSON-RPC message must be an object");
      return out;
    }
    // MCP 2025-11-25 basic: request ids are strings or integers, never null.
    json id = nullptr;
    bool has_id = message.contains("id");
    if (has_id) {
      const json& raw_id = message["id"];
      if (!raw_id.is_string() && !raw_id.is_number_integer()) {
        out.malformed = true;
        out.reply = RpcErrorMessage(nullptr, kInvalidRequest,
                                    "Invalid Request: id must be a string or an integer");
        return out;
      }
      id = raw_id;
    }
    auto jsonrpc = message.find("jsonrpc");
    if (jsonrpc == message.end() || !jsonrpc->is_string() || *jsonrpc != "2.0") {
      out.malformed = true;
      out.reply = RpcErrorMessage(id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\"");
      return out;
    }
    auto method = message.find("method");
    if (method == message.end()) {
      // A response to a server request. This server sends none, so there is
      // nothing to match it with; the transport says to accept it (202).
      if (has_id && (message.contains("result") || message.contains("error"))) return out;
      out.malformed = true;
      out.reply = RpcErrorMessage(id, kInvalidRequest, "Invalid Request: method is missing");
      return out;
    }
    if (!method->is_string()) {
      out.malformed = true;
      out.reply = RpcErrorMessage(id, kInvalidRequest, "Invalid Request: method must be a string");
      return out;
    }
    // Notifications (initialized, cancelled, progress, ...) need no answer and
    // change nothing on a stateless server.
    if (!has_id) return out;

    const json empty = json::object();
    auto params_it = message.find("params");
    const json* params = &empty;
    if (params_it != message.end() && !params_it->is_null()) {
      if (!params_it->is_object()) {
        out.reply = RpcErrorMessage(id, kInvalidParams, "Invalid params: params must be an object");
        return out;
      }
      params = &*params_it;
    }

    const std::string& name = method->get_ref<const std::string&>();
    Result<ordered_json> result = Call(name, *params, in_batch);
    if (!result.ok()) {
      out.reply = RpcErrorMessage(id, fault_.code, fault_.message);
    } else {
      out.reply = RpcResultMessage(id, std::move(*result));
    }
    return out;
  }

 private:
  // Returns the result of request `method`, or an error Status with the
  // JSON-RPC fault left in fault_.
  Result<ordered_json> Call(const std::string& method, const json& params, bool in_batch) {
    if (method == "initialize") {
      if (in_batch) {
        return Fail(kInvalidRequest, "Invalid Request: initialize must not be part of a batch");
      }
      auto version = params.find("protocolVersion");
      if (version == params.end() || !version->is_string()) {
        return Fail(kInvalidParams, "Invalid params: protocolVersion (string) is required");
      }
      return Initialize(version->get<std::string>());
    }
    if (method == "ping") return ordered_json::object();
    if (method == "tools/list") return ListTools();
    if (method == "tools/call") return CallTool(params);
    return Fail(kMethodNotFound, "Method not found: " + method.substr(0, 100));
  }

  Status Fail(int code, std::string message) {
    fault_ = RpcFault{code, std::move(message)};
    return InvalidArgumentError("json-rpc fault");
  }
  Status Fail(RpcFault fault) {
    fault_ = std::move(fault);
    return InvalidArgumentError("json-rpc fault");
  }

  // MCP 2025-11-25 basic/lifecycle, "Version Negotiation": answer the client's
  // version if supported, otherwise the latest this server supports.
  ordered_json Initialize(const std::string& requested) const {
    ordered_json out;
    out["protocolVersion"] =
        SupportedVersion(requested) ? requested : std::string(kMcpProtocolVersions[0]);
    out["capabilities"] = ordered_json{{"tools", ordered_json{{"listChanged", false}}}};
    out["serverInfo"] = ordered_json{
        {"name", "strongroom"}, {"title", "Strongroom"}, {"version", options_.server_version}};
    out["instructions"] =
        "Strongroom is a credential vault. Use " + tools_.Name("list") + " to find a credential, " +
        tools_.Name("get") + " to read its secret data and " + tools_.Name("totp") +
        " for a current 2FA code. Secrets are returned only to this API key's identity; do not "
        "repeat them to the user or write them to files unless asked to.";
    return out;
  }

  ordered_json ListTools() const {
    ordered_json list = ordered_json::array();
    for (const ToolSpec& tool : kTools) {
      if (vault::Allows(principal_, tool.operation)) list.push_back(tools_.Describe(tool));
    }
    return ordered_json{{"tools", std::move(list)}};
  }

  Result<ordered_json> CallTool(const json& params) {
    auto name_it = params.find("name");
    if (name_it == params.end() || !name_it->is_string()) {
      return Fail(kInvalidParams, "Invalid params: name (string) is required");
    }
    const std::string& tool_name = name_it->get_ref<const std::string&>();
    const ToolSpec* tool = tools_.Find(tool_name);
    if (tool == nullptr) {
      return Fail(kInvalidParams, "Unknown tool: " + tool_name.substr(0, 100));
    }
    // Scope first, so a key without it learns nothing from argument checks.
    if (Status allowed = vault::Authorize(principal_, tool->operation); !allowed.ok()) {
      return ToolError(PermissionDeniedError(allowed.message() + " needed by " + tool_name));
    }
    const json empty = json::object();
    const json* args = &empty;
    auto args_it = params.find("arguments");
    if (args_it != params.end() && !args_it->is_null()) {
      if (!args_it->is_object()) {
        return Fail(kInvalidParams, "Invalid params: arguments must be an object");
      }
      args = &*args_it;
    }

    if (tool->kind == ToolKind::kList) return CallList(tool_name, *args);
    if (tool->kind == ToolKind::kStore) return CallStore(tool_name, *args);

    if (auto fault = CheckArgumentNames(tool_name, *args, {"name"}, {"name"})) {
      return Fail(std::move(*fault));
    }
    const json& name = (*args)["name"];
    if (!name.is_string()) return Fail(WrongType(tool_name, "name", "a string"));
    const std::string& credential = name.get_ref<const std::string&>();
    switch (tool->kind) {
      case ToolKind::kGet:
        return Render(ToJson(vault_.Get(principal_, credential)));
      case ToolKind::kTotp:
        return Render(ToJson(vault_.Totp(principal_, credential)));
      case ToolKind::kUseBackup:
        return Render(ToJson(vault_.PopBackupCode(principal_, credential)));
      case ToolKind::kDelete: {
        Status deleted = vault_.Delete(principal_, credential);
        if (!deleted.ok()) return ToolError(deleted);
        return ToolResult(ordered_json{{"deleted", true}, {"name", credential}}, false);
      }
      default:
        break;
    }
    return Fail(kInternalError, "Internal error");
  }

  Result<ordered_json> CallList(const std::string& tool_name, const json& args) {
    if (auto fault = CheckArgumentNames(tool_name, args, {"limit", "cursor"}, {})) {
      return Fail(std::move(*fault));
    }
    std::optional<std::string> limit;
    std::optional<std::string> cursor;
    if (auto it = args.find("limit"); it != args.end() && !it->is_null()) {
      if (it->is_number_integer()) {
        limit = it->dump();
      } else {
        return Fail(WrongType(tool_name, "limit", "an integer"));
      }
    }
    if (auto it = args.find("cursor"); it != args.end() && !it->is_null()) {
      if (!it->is_string()) return Fail(WrongType(tool_name, "cursor", "a string"));
      cursor = it->get<std::string>();
    }
    auto view = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
      if (!s) return std::nullopt;
      return std::string_view(*s);
    };
    return Render(ToJson(vault_.List(principal_, view(limit), view(cursor))));
  }

  Result<ordered_json> CallStore(const std::string& tool_name, const json& args) {
    if (auto fault =
            CheckArgumentNames(tool_name, args, {"name", "type", "data", "metadata", "expiresAt"},
                               {"name", "type", "data"})) {
      return Fail(std::move(*fault));
    }
    if (!args["name"].is_string()) return Fail(WrongType(tool_name, "name", "a string"));
    if (!args["type"].is_string()) return Fail(WrongType(tool_name, "type", "a string"));
    if (!args["data"].is_object()) return Fail(WrongType(tool_name, "data", "an object"));
    // The PUT body of SPEC 5; value checks (type names, required fields, TOTP
    // seeds, metadata rules) are the vault service's, exactly as for REST.
    json body = json::object();
    body["type"] = args["type"];
    body["data"] = args["data"];
    if (auto it = args.find("metadata"); it != args.end()) {
      if (!it->is_object() && !it->is_null()) {
        return Fail(WrongType(tool_name, "metadata", "an object or null"));
      }
      body["metadata"] = *it;
    }
    if (auto it = args.find("expiresAt"); it != args.end()) {
      if (!it->is_string() && !it->is_null()) {
        return Fail(WrongType(tool_name, "expiresAt", "an RFC 3339 string or null"));
      }
      body["expiresAt"] = *it;
    }
    const SecretStdString text = DumpToSecret(body);
    return Render(ToJson(vault_.Put(principal_, args["name"].get_ref<const std::string&>(),
                                    std::string_view(text.data(), text.size()))));
  }

  Result<ordered_json> Render(Result<ordered_json> result) {
    if (!result.ok()) return ToolError(result.status());
    return ToolResult(std::move(result).value(), false);
  }

  // Failures of the use case are tool results with isError (MCP tools, "Error
  // Handling"), carrying the REST error body; a server fault (500, 501) is a
  // JSON-RPC internal error, since the caller can do nothing about it.
  Result<ordered_json> ToolError(const Status& status) {
    internal::HttpError error = internal::MapStatus(status);
    if (error.http_status >= 500 && error.http_status != 503) {
      spdlog::error("mcp tool call failed: {}", status.ToString());
      return Fail(kInternalError, "Internal error: " + error.message);
    }
    return ToolResult(ordered_json{{"error", error.error}, {"message", error.message}}, true);
  }

  vault::Vault& vault_;
  const ToolCatalog& tools_;
  const McpOptions& options_;
  const vault::Principal& principal_;
  RpcFault fault_{kInternalError, "Internal error"};
};

McpHttpResponse HandleUnguarded(vault::Vault& vault, const McpOptions& options,
                                const McpHttpRequest& request) {
  if (request.method != "POST") {
    // No server-initiated SSE stream (GET) and no sessions to end (DELETE):
    // MCP 2025-11-25 basic/transports, "Listening for Messages from the Server".
    McpHttpResponse out;
    out.status = 405;
    out.body = internal::ErrorBody(
        internal::HttpError{405, "method_not_allowed", "the MCP endpoint accepts POST only"});
    out.headers.emplace_back("Allow", "POST");
    return out;
  }
  if (!OriginAllowed(request.origin, request.host, options.allowed_origins)) {
    return TransportError(403, kInvalidRequest, "Forbidden: Origin not allowed");
  }
  // Authentication precedes everything else, as for REST.
  Result<vault::Principal> principal = vault.Authenticate(request.authorization);
  if (!principal.ok()) return RestError(principal.status());

  if (MediaTypeEssence(request.content_type) != "application/json") {
    return TransportError(415, kInvalidRequest,
                          "Unsupported Media Type: Content-Type must be application/json");
  }
  if (!AcceptsJson(request.accept)) {
    return TransportError(406, kInvalidRequest,
                          "Not Acceptable: this server answers with application/json");
  }
  if (request.body.size() > options.max_body_bytes) {
    return TransportError(413, kInvalidRequest, "Request body too large");
  }
  std::string_view version = Trim(request.protocol_version);
  if (!version.empty() && !SupportedVersion(version)) {
    return TransportError(400, kInvalidRequest, "Bad Request: unsupported MCP-Protocol-Version");
  }
  if (version.empty()) version = kBatchingVersion;
  if (JsonDepth(request.body) > kMaxJsonDepth) {
    return TransportError(400, kInvalidRequest, "Invalid Request: JSON nested too deeply");
  }
  json message = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    return TransportError(400, kParseError, "Parse error: the body is not valid JSON");
  }

  ToolCatalog tools(options.underscore_names);
  Dispatcher dispatcher(vault, tools, options, *principal);

  if (message.is_array()) {
    // JSON-RPC 2.0 section 6 batches: MCP 2025-03-26 allows them; 2025-06-18
    // removed them (changelog), so later versions get Invalid Request.
    if (version != kBatchingVersion) {
      return TransportError(400, kInvalidRequest,
                            "Invalid Request: JSON-RPC batches are not supported in protocol "
                            "version " +
                                std::string(version));
    }
    if (message.empty()) {
      return TransportError(400, kInvalidRequest, "Invalid Request: empty batch");
    }
    ordered_json replies = ordered_json::array();
    for (const json& item : message) {
      Dispatcher::Outcome outcome = dispatcher.Process(item, /*in_batch=*/true);
      if (outcome.reply) replies.push_back(std::move(*outcome.reply));
    }
    if (replies.empty()) return McpHttpResponse{202, {}, {}};
    return JsonResponse(200, replies);
  }

  Dispatcher::Outcome outcome = dispatcher.Process(message, /*in_batch=*/false);
  if (!outcome.reply) return McpHttpResponse{202, {}, {}};
  return JsonResponse(outcome.malformed ? 400 : 200, *outcome.reply);
}

}  // namespace

McpHandler::McpHandler(vault::Vault* vault, McpOptions options)
    : vault_(vault), options_(std::move(options)) {}

std::string McpHandler::ToolName(std::string_view suffix) const {
  return ToolCatalog(options_.underscore_names).Name(suffix);
}

McpHttpResponse McpHandler::Handle(const McpHttpRequest& request) const {
  try {
    return HandleUnguarded(*vault_, options_, request);
  } catch (...) {
    // Exception text may carry anything; neither the client nor the log gets it.
    spdlog::error("unhandled exception in the MCP handler");
    return TransportError(500, kInternalError, "Internal error");
  }
}

}  // namespace strongroom::api
