#include "audit/event.h"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>

#include "audit/internal/crypto.h"
#include "audit/internal/json_line.h"
#include "base/clock.h"

namespace strongroom::audit {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// The JSON keys in SPEC 12 order; kKeys.back() is "hash".
constexpr std::array<std::string_view, 14> kKeys = {
    "seq",        "time",         "server",  "requestId", "action", "identity", "keyId",
    "credential", "credentialId", "version", "status",    "remote", "prev",     "hash"};

template <typename T>
ordered_json OrNull(const std::optional<T>& value) {
  return value ? ordered_json(*value) : ordered_json(nullptr);
}

ordered_json ToJson(const Event& e) {
  ordered_json j = ordered_json::object();
  j["seq"] = e.seq;
  j["time"] = e.time;
  j["server"] = e.server;
  j["requestId"] = OrNull(e.request_id);
  j["action"] = e.action;
  j["identity"] = OrNull(e.identity);
  j["keyId"] = OrNull(e.key_id);
  j["credential"] = OrNull(e.credential);
  j["credentialId"] = OrNull(e.credential_id);
  j["version"] = OrNull(e.version);
  j["status"] = e.status;
  j["remote"] = OrNull(e.remote);
  j["prev"] = e.prev;
  return j;
}

// json::dump() with no spaces; invalid UTF-8 becomes U+FFFD instead of throwing.
std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

void SanitizeString(std::string* s) {
  try {
    (void)json(*s).dump();  // strict: throws only for invalid UTF-8
  } catch (const json::type_error&) {
    *s = json::parse(json(*s).dump(-1, ' ', false, json::error_handler_t::replace))
             .get<std::string>();
  }
}

void SanitizeString(std::optional<std::string>* s) {
  if (*s) SanitizeString(&**s);
}

Result<Event> FromJsonLine(const internal::JsonLine& j) {
  Event e;
  SR_ASSIGN_OR_RETURN(e.seq, j.Int("seq"));
  if (e.seq < 1) return j.Invalid("seq must be at least 1");
  SR_ASSIGN_OR_RETURN(e.time, j.String("time"));
  if (!ParseRfc3339(e.time)) return j.Invalid("time must be an RFC 3339 date-time");
  SR_ASSIGN_OR_RETURN(e.server, j.String("server"));
  SR_ASSIGN_OR_RETURN(e.request_id, j.OptionalString("requestId"));
  SR_ASSIGN_OR_RETURN(e.action, j.String("action"));
  SR_ASSIGN_OR_RETURN(e.identity, j.OptionalString("identity"));
  SR_ASSIGN_OR_RETURN(e.key_id, j.OptionalString("keyId"));
  SR_ASSIGN_OR_RETURN(e.credential, j.OptionalString("credential"));
  SR_ASSIGN_OR_RETURN(e.credential_id, j.OptionalString("credentialId"));
  SR_ASSIGN_OR_RETURN(e.version, j.OptionalInt("version"));
  SR_ASSIGN_OR_RETURN(e.status, j.Int("status"));
  SR_ASSIGN_OR_RETURN(e.remote, j.OptionalString("remote"));
  SR_ASSIGN_OR_RETURN(e.prev, j.String("prev"));
  SR_ASSIGN_OR_RETURN(e.hash, j.String("hash"));
  return e;
}

}  // namespace

bool IsKnownAction(std::string_view name) {
  return std::find(kActions.begin(), kActions.end(), name) != kActions.end();
}

std::string CanonicalJson(const Event& event) { return Dump(ToJson(event)); }

std::string EventHash(const Event& event) { return internal::Sha256Hex(CanonicalJson(event)); }

std::string EventJsonLine(const Event& event) {
  ordered_json j = ToJson(event);
  j["hash"] = event.hash;
  return Dump(j);
}

void SanitizeUtf8(Event* event) {
  SanitizeString(&event->time);
  SanitizeString(&event->server);
  SanitizeString(&event->request_id);
  SanitizeString(&event->action);
  SanitizeString(&event->identity);
  SanitizeString(&event->key_id);
  SanitizeString(&event->credential);
  SanitizeString(&event->credential_id);
  SanitizeString(&event->remote);
  SanitizeString(&event->prev);
  SanitizeString(&event->hash);
}

Result<Event> ParseEventLine(std::string_view line) {
  SR_ASSIGN_OR_RETURN(internal::JsonLine j, internal::JsonLine::Parse(line, kKeys, "audit event"));
  return FromJsonLine(j);
}

}  // namespace strongroom::audit
