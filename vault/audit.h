// The vault's side of the audit log (SPEC 12): audit modes and options, the
// request context the faces pass in, the conversion between the store's
// rows and audit::Event, and the one function admin commands call to record
// what they changed. The use cases themselves emit their events (vault.h);
// the faces never build events.
//
// Thread safety: stateless functions, safe to call concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "audit/event.h"
#include "base/clock.h"
#include "base/result.h"
#include "store/credential_store.h"

namespace strongroom::vault {

// audit.mode: sync (fail closed: an event that cannot be written fails its
// request with UNAVAILABLE "audit_unavailable"; a write's event commits in the
// write's transaction, a read's is durable before the use case returns,
// batched with concurrent requests' events), async (buffered, written at
// least every 250 ms; a crash may lose the last moments), off.
enum class AuditMode { kOff, kSync, kAsync };

// "sync", "async", "off"; nullopt for anything else.
std::optional<AuditMode> ParseAuditMode(std::string_view text);

struct AuditOptions {
  AuditMode mode = AuditMode::kOff;
  std::string server_id;  // the chain: audit.server_id (non-empty unless mode is off)
};

// The error of an event that cannot be written: UNAVAILABLE "audit_unavailable".
Status AuditUnavailableError();

// Conversions between the store's row and the event (the same fields).
audit::Event AuditEventOf(const store::AuditRecord& record);
store::AuditRecord AuditRecordOf(const audit::Event& event);
// audit::EventHash of the record: the store::AuditHashFn the vault passes.
std::string AuditRecordHash(const store::AuditRecord& record);

// What an admin command changed, for its event (SPEC 12: status 0, requestId
// and remote null). Never a key or PIN: `key_id` is the key's id.
struct AdminEvent {
  std::string_view action;  // audit::action::kAdmin*
  std::optional<std::string> identity;
  std::optional<std::string> key_id;
};

// Appends `event` to the chain `options.server_id` ("admin@<host>") now, in
// sync and async mode alike (the command is about to exit); nothing when off.
// UNAVAILABLE "audit_unavailable" if it cannot be written.
Status RecordAdminEvent(store::CredentialStore& store, const AuditOptions& options,
                        const AdminEvent& event, const Clock& clock);

}  // namespace strongroom::vault
