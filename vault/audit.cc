#include "vault/audit.h"

#include <utility>

namespace strongroom::vault {

std::optional<AuditMode> ParseAuditMode(std::string_view text) {
  if (text == "sync") return AuditMode::kSync;
  if (text == "async") return AuditMode::kAsync;
  if (text == "off") return AuditMode::kOff;
  return std::nullopt;
}

Status AuditUnavailableError() {
  return UnavailableError("the audit log cannot be written", "audit_unavailable");
}

audit::Event AuditEventOf(const store::AuditRecord& r) {
  audit::Event e;
  e.seq = r.seq;
  e.time = r.time;
  e.server = r.server;
  e.request_id = r.request_id;
  e.action = r.action;
  e.identity = r.identity;
  e.key_id = r.key_id;
  e.credential = r.credential;
  e.credential_id = r.credential_id;
  e.version = r.version;
  e.status = r.status;
  e.remote = r.remote;
  e.prev = r.prev;
  e.hash = r.hash;
  return e;
}

store::AuditRecord AuditRecordOf(const audit::Event& e) {
  store::AuditRecord r;
  r.seq = e.seq;
  r.time = e.time;
  r.server = e.server;
  r.request_id = e.request_id;
  r.action = e.action;
  r.identity = e.identity;
  r.key_id = e.key_id;
  r.credential = e.credential;
  r.credential_id = e.credential_id;
  r.version = e.version;
  r.status = e.status;
  r.remote = e.remote;
  r.prev = e.prev;
  r.hash = e.hash;
  return r;
}

std::string AuditRecordHash(const store::AuditRecord& record) {
  return audit::EventHash(AuditEventOf(record));
}

Status RecordAdminEvent(store::CredentialStore& store, const AuditOptions& options,
                        const AdminEvent& event, const Clock& clock) {
  if (options.mode == AuditMode::kOff) return Status::Ok();
  audit::Event e;
  e.time = FormatRfc3339(clock.NowMillis());
  e.server = options.server_id;
  e.action = std::string(event.action);
  e.identity = event.identity;
  e.key_id = event.key_id;
  e.status = 0;
  audit::SanitizeUtf8(&e);
  std::vector<store::AuditRecord> records{AuditRecordOf(e)};
  if (!store.AppendAuditEvents(&records, &AuditRecordHash).ok()) return AuditUnavailableError();
  return Status::Ok();
}

}  // namespace strongroom::vault
