// Vault: the audit events of the use cases (SPEC 12). Each public use case
// runs its *Unaudited body (vault.cc, vault_write.cc) and records one event
// for it here, so every face gets the same events without building any.
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "audit/event.h"
#include "vault/internal/audit_sink.h"
#include "vault/internal/identity_cache.h"
#include "vault/internal/touch_batcher.h"
#include "vault/vault.h"

namespace strongroom::vault {
namespace {

std::string_view ActionOf(Operation operation) {
  switch (operation) {
    case Operation::kList:
      return audit::action::kVaultList;
    case Operation::kGet:
      return audit::action::kVaultGet;
    case Operation::kTotp:
      return audit::action::kVaultTotp;
    case Operation::kPut:
      return audit::action::kVaultStore;
    case Operation::kDelete:
      return audit::action::kVaultDelete;
    case Operation::kPopBackupCode:
      return audit::action::kVaultTotpUseBackup;
  }
  return audit::action::kVaultGet;
}

std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

internal::AuditFacts Vault::FactsOf(const Caller& caller, std::string_view action,
                                    std::string_view name) const {
  internal::AuditFacts facts;
  facts.action = action;
  facts.context = &caller.context();
  if (const Principal* principal = caller.principal()) {
    facts.key_id = principal->key_id;
    facts.identity_id = principal->identity_id;
  } else if (std::optional<std::string_view> token = BearerToken(caller.authorization_header())) {
    facts.key_id = ParseApiKeyId(*token);  // the public id only, never the key
  }
  if (!name.empty()) facts.credential = std::string(name);
  return facts;
}

store::AuditRecord Vault::MakeAuditRecord(const internal::AuditFacts& facts, const Status& outcome,
                                          int ok_status) {
  audit::Event e;
  e.time = FormatRfc3339(clock_.NowMillis());
  e.server = audit_->server();
  const bool unauthenticated = outcome.code() == StatusCode::kUnauthenticated;
  e.action = std::string(unauthenticated ? audit::action::kAuthFailed : facts.action);
  if (facts.context != nullptr) {
    e.request_id = NullIfEmpty(facts.context->request_id);
    e.remote = NullIfEmpty(facts.context->remote);
  }
  e.key_id = facts.key_id;
  if (facts.identity_id && !unauthenticated) {
    Result<std::shared_ptr<const model::Identity>> identity = identities_->Get(*facts.identity_id);
    if (identity.ok()) e.identity = (*identity)->name;
  }
  e.credential = facts.credential;
  e.credential_id = facts.credential_id;
  e.version = facts.version;
  e.status = outcome.ok() ? ok_status : internal::AuditStatusOf(outcome);
  audit::SanitizeUtf8(&e);  // what is stored is exactly what is hashed
  return AuditRecordOf(e);
}

Status Vault::Emit(const internal::AuditFacts& facts, const Status& outcome, int ok_status) {
  if (audit_->mode() == AuditMode::kOff) return Status::Ok();
  Status written = audit_->Record(MakeAuditRecord(facts, outcome, ok_status));
  // A request that already failed because a dependency is down keeps its own
  // answer (store_unavailable, hsm_unavailable; the audit log shares the
  // store): it disclosed and changed nothing, and its reason is the useful one.
  if (!written.ok() && outcome.code() == StatusCode::kUnavailable) return Status::Ok();
  return written;
}

std::optional<store::AuditRecord> Vault::TransactionRecord(const internal::AuditFacts& facts,
                                                           int ok_status) {
  if (audit_->mode() != AuditMode::kSync) return std::nullopt;
  return MakeAuditRecord(facts, Status::Ok(), ok_status);
}

Status Vault::FinishWrite(const internal::AuditFacts& facts, const Status& outcome, bool committed,
                          int ok_status) {
  if (outcome.ok() && committed) return Status::Ok();
  // An event that failed inside the write's transaction took the write with it.
  if (outcome.error_code() == "audit_unavailable") return outcome;
  SR_RETURN_IF_ERROR(Emit(facts, outcome, ok_status));
  return outcome;
}

Result<Principal> Vault::Authenticate(std::string_view authorization_header,
                                      const RequestContext& context) {
  Result<Principal> principal = AuthenticateUnaudited(authorization_header);
  if (principal.ok()) {
    principal->context = context;
    return principal;
  }
  if (principal.status().code() == StatusCode::kUnauthenticated) {
    const Caller caller = Caller::WithAuthorization(authorization_header, context);
    SR_RETURN_IF_ERROR(
        Emit(FactsOf(caller, audit::action::kAuthFailed, {}), principal.status(), 0));
  }
  return principal;
}

Status Vault::Refuse(const Principal& principal, Operation operation, std::string_view name,
                     Status why) {
  SR_RETURN_IF_ERROR(Emit(FactsOf(principal, ActionOf(operation), name), why, 200));
  return why;
}

Result<CallerIdentity> Vault::Whoami(const Caller& caller) {
  internal::AuditFacts facts = FactsOf(caller, audit::action::kWhoami, {});
  Result<CallerIdentity> out = WhoamiUnaudited(caller, &facts);
  SR_RETURN_IF_ERROR(Emit(facts, out.status(), 200));
  return out;
}

Result<Page> Vault::List(const Principal& principal, std::optional<std::string_view> limit,
                         std::optional<std::string_view> cursor) {
  Result<Page> out = ListUnaudited(principal, limit, cursor);
  SR_RETURN_IF_ERROR(Emit(FactsOf(principal, audit::action::kVaultList, {}), out.status(), 200));
  return out;
}

Result<OpenedCredential> Vault::Get(const Caller& caller, std::string_view name) {
  internal::AuditFacts facts = FactsOf(caller, audit::action::kVaultGet, name);
  UnixMillis now = 0;
  Result<OpenedCredential> out = GetUnaudited(caller, name, &now, &facts);
  SR_RETURN_IF_ERROR(Emit(facts, out.status(), 200));
  if (!out.ok()) return out;
  // The use counts once its event is durable (a failed audit changes nothing).
  model::StoredCredential& row = out->credential;
  touches_->Record(row.identity_id, row.credential_id, now);
  row.last_used_at = std::max(row.last_used_at.value_or(now), now);
  return out;
}

Result<TotpReading> Vault::Totp(const Caller& caller, std::string_view name) {
  internal::AuditFacts facts = FactsOf(caller, audit::action::kVaultTotp, name);
  UnixMillis now = 0;
  Result<TotpReading> out = TotpUnaudited(caller, name, &now, &facts);
  SR_RETURN_IF_ERROR(Emit(facts, out.status(), 200));
  if (out.ok()) touches_->Record(*facts.identity_id, *facts.credential_id, now);
  return out;
}

Result<PutOutcome> Vault::Put(const Principal& principal, std::string_view name,
                              std::string_view body_json) {
  internal::AuditFacts facts = FactsOf(principal, audit::action::kVaultStore, name);
  std::optional<store::AuditRecord> record = TransactionRecord(facts, 200);
  Result<PutOutcome> out =
      PutUnaudited(principal, name, body_json, &facts, record ? &*record : nullptr);
  SR_RETURN_IF_ERROR(FinishWrite(facts, out.status(), record.has_value(), 200));
  return out;
}

Status Vault::Delete(const Principal& principal, std::string_view name) {
  internal::AuditFacts facts = FactsOf(principal, audit::action::kVaultDelete, name);
  std::optional<store::AuditRecord> record = TransactionRecord(facts, 204);
  Status out = DeleteUnaudited(principal, name, record ? &*record : nullptr);
  return FinishWrite(facts, out, record.has_value(), 204);
}

Result<PoppedBackupCode> Vault::PopBackupCode(const Principal& principal, std::string_view name) {
  internal::AuditFacts facts = FactsOf(principal, audit::action::kVaultTotpUseBackup, name);
  std::optional<store::AuditRecord> record = TransactionRecord(facts, 200);
  Result<PoppedBackupCode> out = PopUnaudited(principal, name, &facts, record ? &*record : nullptr);
  SR_RETURN_IF_ERROR(FinishWrite(facts, out.status(), record.has_value(), 200));
  return out;
}

}  // namespace strongroom::vault
