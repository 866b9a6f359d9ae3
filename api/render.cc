// The SPEC 5 bodies as JSON documents. The text renderings are in render_text.cc.
#include "api/render.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "base/secret_json.h"
#include "model/redaction.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json TimeOrNull(const std::optional<UnixMillis>& t) {
  if (!t) return nullptr;
  return FormatRfc3339(*t);
}

template <class T, class Render>
Result<ordered_json> RenderResult(const Result<T>& result, Render render) {
  if (!result.ok()) return result.status();
  return render(*result);
}

}  // namespace

std::string DumpBody(const ordered_json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

ordered_json SummaryJson(const model::StoredCredential& c) {
  ordered_json out;
  out["credentialId"] = c.credential_id;
  out["name"] = c.name;
  out["type"] = std::string(model::TypeName(c.type));
  ordered_json metadata = ordered_json::parse(c.metadata_json, nullptr, /*allow_exceptions=*/false);
  out["metadata"] = metadata.is_object() ? std::move(metadata) : ordered_json(nullptr);
  out["expiresAt"] = TimeOrNull(c.expires_at);
  out["lastUsedAt"] = TimeOrNull(c.last_used_at);
  out["lastRotatedAt"] = TimeOrNull(c.last_rotated_at);
  out["createdAt"] = FormatRfc3339(c.created_at);
  out["updatedAt"] = FormatRfc3339(c.updated_at);
  out["version"] = c.version;
  return out;
}

ordered_json PutJson(const vault::PutOutcome& outcome) {
  ordered_json out = SummaryJson(outcome.credential);
  out["created"] = outcome.created;
  return out;
}

ordered_json ListJson(const vault::Page& page) {
  ordered_json items = ordered_json::array();
  for (const auto& row : page.credentials) items.push_back(SummaryJson(row));
  ordered_json out;
  out["credentials"] = std::move(items);
  out["count"] = page.credentials.size();
  out["nextCursor"] = page.next_cursor ? ordered_json(*page.next_cursor) : ordered_json(nullptr);
  return out;
}

Result<ordered_json> CredentialJson(const vault::OpenedCredential& opened) {
  const SecretBytes& plain = opened.data;
  json data = json::parse(plain.begin(), plain.end(), nullptr, /*allow_exceptions=*/false);
  JsonWipeGuard<json> wipe_data(data);
  if (!data.is_object()) return DataLossError("stored credential is not a JSON object");
  ordered_json out = SummaryJson(opened.credential);
  // json -> ordered_json copies: the redacted copy is wiped once copied.
  json redacted = model::RedactData(opened.credential.type, data);
  JsonWipeGuard<json> wipe_redacted(redacted);
  out["data"] = redacted;
  return out;
}

ordered_json TotpJson(const vault::TotpReading& reading) {
  ordered_json out;
  out["code"] = reading.code;
  out["remaining"] = reading.remaining;
  out["backupCodesRemaining"] = reading.backup_codes_remaining;
  out["digits"] = reading.digits;
  out["period"] = reading.period;
  return out;
}

ordered_json BackupJson(const vault::PoppedBackupCode& popped) {
  ordered_json out;
  out["code"] = popped.code;
  out["remaining"] = popped.remaining;
  out["backupCodesRemaining"] = popped.remaining;
  return out;
}

ordered_json WhoamiJson(const vault::CallerIdentity& caller) {
  ordered_json scopes = ordered_json::array();
  const std::string names = model::ScopeNames(caller.key.scopes);  // space-separated
  for (std::size_t start = 0; start < names.size();) {
    std::size_t end = std::min(names.find(' ', start), names.size());
    scopes.push_back(names.substr(start, end - start));
    start = end + 1;
  }
  ordered_json out;
  out["identityId"] = std::to_string(caller.identity.id);
  out["name"] = caller.identity.name;
  out["displayName"] = caller.identity.name;
  out["email"] = nullptr;
  out["type"] = "AGENT";
  out["purpose"] = nullptr;
  out["scopes"] = std::move(scopes);
  out["keyId"] = caller.key.key_id;
  out["keyExpiresAt"] = TimeOrNull(caller.key.expires_at);
  out["createdAt"] = FormatRfc3339(caller.identity.created_at);
  out["wallet"] = nullptr;
  return out;
}

ordered_json ReadinessJson(const vault::Readiness& readiness) {
  ordered_json out;
  out["status"] = readiness.ready() ? "ready" : "unavailable";
  out["store"] = readiness.store_ok ? "ok" : "unavailable";
  out["hsm"] = readiness.hsm_ok ? "ok" : "unavailable";
  return out;
}

Result<ordered_json> ToJson(const Result<vault::CallerIdentity>& result) {
  return RenderResult(result, WhoamiJson);
}
Result<ordered_json> ToJson(const Result<vault::PutOutcome>& result) {
  return RenderResult(result, PutJson);
}
Result<ordered_json> ToJson(const Result<vault::Page>& result) {
  return RenderResult(result, ListJson);
}
Result<ordered_json> ToJson(const Result<vault::OpenedCredential>& result) {
  if (!result.ok()) return result.status();
  return CredentialJson(*result);
}
Result<ordered_json> ToJson(const Result<vault::TotpReading>& result) {
  return RenderResult(result, TotpJson);
}
Result<ordered_json> ToJson(const Result<vault::PoppedBackupCode>& result) {
  return RenderResult(result, BackupJson);
}

}  // namespace strongroom::api
