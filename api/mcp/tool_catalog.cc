#include "api/mcp/tool_catalog.h"

#include <array>
#include <cstddef>
#include <utility>
#include <vector>

#include "api/mcp_tools.h"
#include "model/credential.h"

namespace strongroom::api::mcp {
namespace {

using nlohmann::ordered_json;

constexpr std::string_view kNameOnlySchema = R"json({"type":"object","properties":{
  "name":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$","maxLength":128,
          "description":"The credential's name."}},
  "required":["name"],"additionalProperties":false})json";

constexpr std::string_view kListSchema = R"json({"type":"object","properties":{
  "limit":{"type":"integer","minimum":1,"maximum":1000,
           "description":"Page size, 1..1000; omit to list every credential at once."},
  "cursor":{"type":"string",
            "description":"nextCursor from a previous page; omit for the first page."}},
  "additionalProperties":false})json";

constexpr std::string_view kStoreSchema = R"json({"type":"object","properties":{
  "name":{"type":"string","pattern":"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$","maxLength":128,
          "description":"The credential's name, unique per identity; an existing )json"
                                          R"json(credential of this name is replaced."},
  "type":{"type":"string","enum":"@credential_types","description":"The credential type."},
  "data":{"type":"object","minProperties":1,
          "additionalProperties":{"anyOf":[{"type":"string"},
                                           {"type":"array","items":{"type":"string"}}]},
          "description":"Secret fields (encrypted at rest); the required ones depend on type."},
  "metadata":{"type":["object","null"],
              "additionalProperties":{"anyOf":[{"type":"string"},{"type":"number"},
                                               {"type":"boolean"},
                                               {"type":"array","items":{"type":"string"}}]},
              "description":"Plaintext display fields; never secrets."},
  "expiresAt":{"type":["string","null"],"format":"date-time",
               "description":"RFC 3339 time after which reads fail with expired."}},
  "required":["name","type","data"],"additionalProperties":false})json";

constexpr ToolSpec kTools[] = {
    {ToolId::kList, "list", "List credentials",
     "List the credentials in the vault (of the identity that owns this API key), sorted by "
     "name. Returns names, types and plaintext metadata only, never secret values: use "
     "{tool:get} to read a credential's secret data. Result: "
     "{\"credentials\":[{\"name\",\"type\",\"metadata\",\"expiresAt\",...}],\"count\","
     "\"nextCursor\"}. Without limit every credential comes back at once (nextCursor null); with "
     "limit, when nextCursor is not null, call again with cursor=nextCursor for the next page.",
     kListSchema, vault::Operation::kList, true, false, true},
    {ToolId::kGet, "get", "Get a credential",
     "Retrieve one credential by exact name, including its secret fields in `data` (e.g. "
     "password, key, accessToken, privateKey, connectionString). TOTP seeds come back as "
     "\"[REDACTED]\": use {tool:totp} for a one-time code. Errors: not_found (no credential of "
     "that name), expired (past its expiresAt). Call {tool:list} first if you do not know the "
     "name.",
     kNameOnlySchema, vault::Operation::kGet, true, false, true},
    {ToolId::kTotp, "totp", "Get a TOTP code",
     "Generate the current TOTP (2FA one-time password) code for a credential holding a TOTP "
     "seed: a TOTP credential, or any credential with data.totp (e.g. a LOGIN with 2FA). "
     "Result: {\"code\",\"remaining\" (seconds the code stays valid),\"backupCodesRemaining\","
     "\"digits\",\"period\"}. If remaining is very small, wait and call again for a fresh code. "
     "Errors: not_totp (no seed), not_found, expired.",
     kNameOnlySchema, vault::Operation::kTotp, true, false, true},
    {ToolId::kUseBackup, "totp_use_backup", "Use a TOTP backup code",
     "Consume the next unused backup (recovery) code of a TOTP credential and return it: "
     "{\"code\",\"remaining\",\"backupCodesRemaining\"}. Each code is handed out exactly once "
     "and moves to usedBackupCodes, so only call this when a backup code is actually needed "
     "(prefer {tool:totp}). Errors: no_backup_codes (none left), not_found, expired.",
     kNameOnlySchema, vault::Operation::kPopBackupCode, false, true, false},
    {ToolId::kStore, "store", "Store a credential",
     "Create or replace the credential `name` with `type`, secret `data` (encrypted at rest) "
     "and optional plaintext `metadata` and `expiresAt` (RFC 3339). Secret values are strings. "
     "Required data fields by type: LOGIN: password (metadata: uri, username); API_KEY: key, or "
     "clientId + secret (metadata: service, prefix); OAUTH: accessToken, optional refreshToken "
     "(metadata: provider, scopes, expiresAt); TOTP: secret (base32, at least 80 bits) or "
     "otpauthUri, optional backupCodes (array of strings) (metadata: issuer, account, algorithm "
     "SHA1|SHA256|SHA512, digits 6|8, period seconds); SSH_KEY: privateKey, optional "
     "passphrase (metadata: publicKey, keyType); DATABASE: password or connectionString "
     "(metadata: engine, host, port, database); SMTP: password (metadata: host, port, "
     "username, encryption); AWS: secretAccessKey, optional sessionToken (metadata: "
     "accessKeyId, region); CERTIFICATE: privateKey (metadata: certificate, chain, domain, "
     "expiresAt); CARD: number (12-19 digits), expMonth (1-12), expYear (2 or 4 digits), "
     "optional cardholder, cvc, zip, all strings (metadata: brand, last4); SHIPPING_ADDRESS: "
     "name, line1, city, postcode, country, optional line2, state, phone (metadata: label); "
     "CUSTOM: any string fields, at least one. Any credential may also carry data.totp, a "
     "base32 TOTP seed for its 2FA. Never put secrets in metadata: metadata keys named like "
     "secret fields (password, key, secret, totp, token, cvc, otpauthUri, clientSecret, ...; "
     "number on a CARD) and any value containing otpauth:// are rejected. Replacing an "
     "existing name overwrites it; the result is the credential summary with \"created\": true "
     "(new) or false (replaced). Validation errors name the offending field.",
     kStoreSchema, vault::Operation::kPut, false, true, true},
    {ToolId::kDelete, "delete", "Delete a credential",
     "Permanently delete the credential `name` and its secret data. This cannot be undone. "
     "Result: {\"deleted\":true,\"name\"}. Errors: not_found.",
     kNameOnlySchema, vault::Operation::kDelete, false, true, true},
};

// Replaces the "@credential_types" marker (anywhere in `schema`) by the type names.
void FillCredentialTypes(ordered_json& schema) {
  if (schema.is_string() && schema.get_ref<const std::string&>() == "@credential_types") {
    schema = ordered_json::array();
    for (model::CredentialType type : model::AllCredentialTypes()) {
      schema.push_back(std::string(model::TypeName(type)));
    }
  } else if (schema.is_structured()) {
    for (ordered_json& child : schema) FillCredentialTypes(child);
  }
}

ordered_json BuildEntry(const ToolSpec& tool, bool underscore) {
  ordered_json schema = ordered_json::parse(tool.input_schema);
  FillCredentialTypes(schema);
  ordered_json out;
  out["name"] = McpToolName(tool.suffix, underscore);
  out["title"] = tool.title;
  out["description"] = ExpandToolNames(tool.description, underscore);
  out["inputSchema"] = std::move(schema);
  out["annotations"] = ordered_json{{"title", tool.title},
                                    {"readOnlyHint", tool.read_only},
                                    {"destructiveHint", tool.destructive},
                                    {"idempotentHint", tool.idempotent},
                                    {"openWorldHint", false}};
  return out;
}

using Entries = std::array<ordered_json, std::size(kTools)>;

Entries BuildEntries(bool underscore) {
  Entries out;
  for (std::size_t i = 0; i < std::size(kTools); ++i) out[i] = BuildEntry(kTools[i], underscore);
  return out;
}

}  // namespace

std::span<const ToolSpec> Tools() { return kTools; }

const ToolSpec* FindTool(std::string_view name, bool underscore) {
  std::optional<std::string_view> suffix = McpToolSuffix(name, underscore);
  if (!suffix) return nullptr;
  for (const ToolSpec& tool : kTools) {
    if (tool.suffix == *suffix) return &tool;
  }
  return nullptr;
}

const ordered_json& ToolListEntry(const ToolSpec& tool, bool underscore) {
  static const Entries dotted = BuildEntries(false);
  static const Entries underscored = BuildEntries(true);
  const auto index = static_cast<std::size_t>(&tool - kTools);
  return (underscore ? underscored : dotted)[index];
}

std::string ExpandToolNames(std::string_view text, bool underscore) {
  constexpr std::string_view kOpen = "{tool:";
  std::string out;
  while (!text.empty()) {
    std::size_t open = text.find(kOpen);
    std::size_t close = open == std::string_view::npos ? open : text.find('}', open + kOpen.size());
    if (close == std::string_view::npos) break;
    out.append(text.substr(0, open));
    out += McpToolName(text.substr(open + kOpen.size(), close - open - kOpen.size()), underscore);
    text.remove_prefix(close + 1);
  }
  out.append(text);
  return out;
}

}  // namespace strongroom::api::mcp

namespace strongroom::api {

std::vector<std::string_view> McpToolSuffixes() {
  std::vector<std::string_view> out;
  for (const mcp::ToolSpec& tool : mcp::Tools()) out.push_back(tool.suffix);
  return out;
}

std::string McpToolName(std::string_view suffix, bool underscore) {
  std::string out = underscore ? "vault_" : "vault.";
  out.append(suffix);
  return out;
}

std::optional<std::string_view> McpToolSuffix(std::string_view name, bool underscore) {
  const std::string_view prefix = underscore ? "vault_" : "vault.";
  if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view suffix = name.substr(prefix.size());
  for (const mcp::ToolSpec& tool : mcp::Tools()) {
    if (tool.suffix == suffix) return tool.suffix;
  }
  return std::nullopt;
}

}  // namespace strongroom::api
