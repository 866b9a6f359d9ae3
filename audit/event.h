// Audit events (SPEC 12): the record of one request, failed authentication or admin command,
// and its canonical encoding, whose SHA-256 links the per-server hash chain (audit/chain.h).
//
// What is protected: the history of who did what with which credential, against later edits
// by someone with write access to the database or the export. How: each event's `hash` covers
// its content and the previous event's hash (`prev`); checkpoints (audit/checkpoint.h) sign the
// newest hash with a key on the HSM; audit/verifier.h checks both offline.
//
// Never put a secret value, an API key or a PIN in an event: keys appear as their key id.
//
// Thread safety: Event is a value; the functions here are pure and safe to call concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strongroom::audit {

// The `action` names of SPEC 12.
namespace action {
inline constexpr std::string_view kVaultList = "vault.list";
inline constexpr std::string_view kVaultGet = "vault.get";
inline constexpr std::string_view kVaultTotp = "vault.totp";
inline constexpr std::string_view kVaultTotpUseBackup = "vault.totp_use_backup";
inline constexpr std::string_view kVaultStore = "vault.store";
inline constexpr std::string_view kVaultDelete = "vault.delete";
inline constexpr std::string_view kWhoami = "whoami";
inline constexpr std::string_view kAuthFailed = "auth.failed";
inline constexpr std::string_view kAdminIdentityCreate = "admin.identity.create";
inline constexpr std::string_view kAdminIdentityDelete = "admin.identity.delete";
inline constexpr std::string_view kAdminKeyCreate = "admin.key.create";
inline constexpr std::string_view kAdminKeyRevoke = "admin.key.revoke";
inline constexpr std::string_view kAdminMasterKeyRotate = "admin.master_key.rotate";
inline constexpr std::string_view kAdminMasterKeyRetire = "admin.master_key.retire";
inline constexpr std::string_view kAdminIdentityRotateKek = "admin.identity.rotate_kek";
}  // namespace action

// Every action above, in SPEC order.
inline constexpr std::array<std::string_view, 15> kActions = {
    action::kVaultList,
    action::kVaultGet,
    action::kVaultTotp,
    action::kVaultTotpUseBackup,
    action::kVaultStore,
    action::kVaultDelete,
    action::kWhoami,
    action::kAuthFailed,
    action::kAdminIdentityCreate,
    action::kAdminIdentityDelete,
    action::kAdminKeyCreate,
    action::kAdminKeyRevoke,
    action::kAdminMasterKeyRotate,
    action::kAdminMasterKeyRetire,
    action::kAdminIdentityRotateKek,
};

// True for a name in kActions.
bool IsKnownAction(std::string_view name);

// `prev` of seq 1: 64 zero hex digits.
inline constexpr std::string_view kGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// One audit event. Field order is the JSON key order of SPEC 12; a field that does not apply
// is nullopt (JSON null). `seq`, `prev` and `hash` are assigned by Chain::Append; the caller
// fills in the rest.
struct Event {
  std::int64_t seq = 0;
  std::string time;                          // RFC 3339 UTC, ms: base/clock.h FormatRfc3339
  std::string server;                        // the chain: audit.server_id or "admin@<host>"
  std::optional<std::string> request_id;     // "requestId"; null for admin commands
  std::string action;                        // one of kActions
  std::optional<std::string> identity;       // the authenticated (or named) identity
  std::optional<std::string> key_id;         // "keyId": the API key's id, never the key
  std::optional<std::string> credential;     // credential name
  std::optional<std::string> credential_id;  // "credentialId"
  std::optional<std::int64_t> version;       // credential version
  std::int64_t status = 0;                   // HTTP status; exit status for admin commands
  std::optional<std::string> remote;         // client address; null for admin commands
  std::string prev;                          // previous event's hash (kGenesisHash for seq 1)
  std::string hash;                          // EventHash of this event

  bool operator==(const Event&) const = default;
};

// The canonical JSON of SPEC 12: every field but `hash`, keys in the order above, no spaces,
// strings escaped as nlohmann::json::dump() does (non-ASCII kept as UTF-8; an invalid UTF-8
// sequence is replaced by U+FFFD, so hostile input cannot make encoding fail). For example:
// {"seq":1,"time":"...","server":"h:8443","requestId":null,...,"prev":"000...0"}
std::string CanonicalJson(const Event& event);

// Lowercase hex SHA-256 of CanonicalJson(event): the value `hash` must hold.
std::string EventHash(const Event& event);

// The export form: CanonicalJson with `"hash":"..."` as the last key, without a newline.
// This is the line of `admin audit export` and of the verifier's input.
std::string EventJsonLine(const Event& event);

// Replaces every invalid UTF-8 sequence in the event's strings by U+FFFD, as CanonicalJson
// does, so that what a store keeps is exactly what was hashed. Chain::Append calls it.
void SanitizeUtf8(Event* event);

// Parses one JSON object line (as EventJsonLine writes it; key order and spacing may differ).
// InvalidArgument if it is not a JSON object, a key is missing, unknown or repeated, or a
// value has the wrong type (seq >= 1, time RFC 3339, nullable fields string/integer or null).
// The hash is not checked here: that is the verifier's job.
Result<Event> ParseEventLine(std::string_view line);

}  // namespace strongroom::audit
