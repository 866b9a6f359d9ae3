// Vault: the write use cases (SPEC 5): Put, Delete, PopBackupCode; and the
// resealing of rows sealed with an older AAD layout.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/random.h"
#include "base/secret_json.h"
#include "model/totp.h"
#include "model/validation.h"
#include "store/credential_store.h"
#include "vault/internal/audit_sink.h"
#include "vault/internal/envelope.h"
#include "vault/internal/expiry.h"
#include "vault/internal/identity_cache.h"
#include "vault/internal/touch_batcher.h"
#include "vault/vault.h"

namespace strongroom::vault {
namespace {

// The summary fields of the row Put writes over `existing` (nullopt: a new
// credential with id `new_id`); the envelope is sealed by the caller.
model::StoredCredential PutRow(const std::optional<model::StoredCredential>& existing,
                               const model::CredentialInput& input, std::int64_t identity_id,
                               std::string_view name, const std::string& new_id, UnixMillis now) {
  model::StoredCredential row;
  row.identity_id = identity_id;
  row.name = std::string(name);
  row.type = input.type;
  row.metadata_json = input.metadata_json;
  row.expires_at = input.expires_at;
  row.updated_at = now;
  if (existing) {
    row.credential_id = existing->credential_id;
    row.created_at = existing->created_at;
    row.version = existing->version + 1;
    row.last_rotated_at = now;
    row.last_used_at = existing->last_used_at;
  } else {
    row.credential_id = new_id;
    row.created_at = now;
    row.version = 1;
  }
  return row;
}

// What a write's MutateFn wrote, for its audit event.
void NoteWritten(const model::StoredCredential& row, internal::AuditFacts* facts,
                 store::AuditRecord* record) {
  facts->credential_id = row.credential_id;
  facts->version = row.version;
  if (record != nullptr) {
    record->credential_id = row.credential_id;
    record->version = row.version;
  }
}

}  // namespace

Result<PutOutcome> Vault::PutUnaudited(const Principal& principal, std::string_view name,
                                       std::string_view body_json, internal::AuditFacts* facts,
                                       store::AuditRecord* record) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kPut));
  SecretJson body(nlohmann::json::parse(body_json, nullptr, /*allow_exceptions=*/false));
  if (body->is_discarded()) return InvalidArgumentError("body is not valid JSON", "invalid_json");
  SR_RETURN_IF_ERROR(model::ValidateName(name));
  UnixMillis now = clock_.NowMillis();
  SR_ASSIGN_OR_RETURN(model::CredentialInput input, model::ParseCredentialInput(*body, now));
  // Generated outside the transaction: Mutate may run `fn` more than once.
  SR_ASSIGN_OR_RETURN(std::string random_hex, RandomHex(12));
  const std::string new_id = "cred_" + random_hex;

  std::shared_ptr<const model::Identity> identity;
  store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
      -> Result<model::StoredCredential> {
    model::StoredCredential row = PutRow(existing, input, principal.identity_id, name, new_id, now);
    const std::string_view plain(input.data_json.data(), input.data_json.size());
    SR_RETURN_IF_ERROR(internal::SealInto(keys_, *identity, plain, &row));
    NoteWritten(row, facts, record);
    return row;
  };
  SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                      MutateSealed(principal.identity_id, name, fn, &identity, record));
  touches_->Overlay(&outcome.written);
  return PutOutcome{std::move(outcome.written), outcome.created};
}

Status Vault::DeleteUnaudited(const Principal& principal, std::string_view name,
                              store::AuditRecord* record) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kDelete));
  // A pending use of the deleted credential stays keyed by its credentialId,
  // which a credential re-created under this name never has.
  if (record == nullptr) return store_.DeleteCredential(principal.identity_id, name);
  return store_.DeleteCredentialAudited(principal.identity_id, name,
                                        store::AuditWrite{record, &AuditRecordHash});
}

Result<PoppedBackupCode> Vault::PopUnaudited(const Principal& principal, std::string_view name,
                                             internal::AuditFacts* facts,
                                             store::AuditRecord* record) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kPopBackupCode));
  UnixMillis now = clock_.NowMillis();
  std::shared_ptr<const model::Identity> identity;
  model::BackupPop popped;
  store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
      -> Result<model::StoredCredential> {
    if (!existing) return NotFoundError("credential not found");
    model::StoredCredential row = *existing;
    SR_ASSIGN_OR_RETURN(SecretBytes plain, internal::OpenRow(keys_, *identity, row));
    // After the open: an expires_at edited in the database is an integrity error.
    SR_RETURN_IF_ERROR(internal::CheckNotExpired(*existing, now));
    SR_ASSIGN_OR_RETURN(SecretJson data, internal::ParseData(plain));
    SR_ASSIGN_OR_RETURN(popped, model::PopBackupCode(row.type, *data));
    row.version = existing->version + 1;
    row.updated_at = now;
    row.last_used_at = std::max(existing->last_used_at.value_or(now), now);
    SecretStdString text = DumpToSecret(*data);
    SR_RETURN_IF_ERROR(
        internal::SealInto(keys_, *identity, std::string_view(text.data(), text.size()), &row));
    NoteWritten(row, facts, record);
    return row;
  };
  SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                      MutateSealed(principal.identity_id, name, fn, &identity, record));
  if (outcome.created) {
    // fn never creates; a store that says otherwise broke its contract.
    return InternalError("backup pop created a row");
  }
  return PoppedBackupCode{std::move(popped.code), popped.remaining};
}

// --- resealing rows of an older AAD layout (envelope.h) ---

Result<bool> Vault::ResealRow(std::int64_t identity_id, const std::string& name) {
  Result<std::shared_ptr<const model::Identity>> identity = identities_->Get(identity_id);
  if (identity.status().code() == StatusCode::kUnauthenticated) return false;  // deleted since
  SR_RETURN_IF_ERROR(identity.status());
  bool nothing_to_do = false;
  store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
      -> Result<model::StoredCredential> {
    nothing_to_do = !existing || existing->aad_version >= model::kCurrentAadVersion;
    if (nothing_to_do) return AbortedError("credential already resealed or deleted");
    model::StoredCredential row = *existing;  // same version and times: not a user write
    SR_ASSIGN_OR_RETURN(SecretBytes plain, internal::OpenRow(keys_, **identity, row));
    SR_RETURN_IF_ERROR(internal::SealInto(
        keys_, **identity,
        std::string_view(reinterpret_cast<const char*>(plain.data()), plain.size()), &row));
    return row;
  };
  Result<store::MutateOutcome> outcome = store_.Mutate(identity_id, name, fn);
  if (nothing_to_do) return false;
  SR_RETURN_IF_ERROR(outcome.status());
  return true;
}

Result<bool> Vault::ResealBatch(ResealCursor* cursor, ResealCounts* counts) {
  constexpr int kBatch = 100;
  SR_ASSIGN_OR_RETURN(std::vector<model::StoredCredential> rows,
                      store_.ListLegacyAadCredentials(model::kCurrentAadVersion,
                                                      cursor->identity_id, cursor->name, kBatch));
  for (const model::StoredCredential& key : rows) {
    Result<bool> resealed = ResealRow(key.identity_id, key.name);
    if (resealed.ok()) {
      counts->resealed += *resealed ? 1 : 0;
    } else if (resealed.status().code() == StatusCode::kDataLoss ||
               resealed.status().code() == StatusCode::kInternal) {
      // OpenRow has logged it by credential id; reads keep reporting it.
      ++counts->failed;
    } else {
      return resealed.status();  // store or HSM unavailable: try again later
    }
    cursor->identity_id = key.identity_id;
    cursor->name = key.name;
  }
  return rows.size() == static_cast<std::size_t>(kBatch);
}

Result<Vault::ResealCounts> Vault::ResealLegacyRows() {
  ResealCursor cursor;
  ResealCounts counts;
  for (;;) {
    SR_ASSIGN_OR_RETURN(bool more, ResealBatch(&cursor, &counts));
    if (!more) return counts;
  }
}

// One batch per maintenance tick, so lastUsedAt flushes and shutdown are not
// held up by a large upgrade.
void Vault::ResealOnStartup() {
  if (startup_reseal_.done) return;
  Result<bool> more = ResealBatch(&startup_reseal_.cursor, &startup_reseal_.counts);
  if (!more.ok()) {
    spdlog::warn("resealing credentials of an older AAD layout: {}; retrying",
                 more.status().ToString());
    return;
  }
  if (*more) return;
  startup_reseal_.done = true;
  if (startup_reseal_.counts.resealed > 0 || startup_reseal_.counts.failed > 0) {
    spdlog::info("resealed {} credentials with the current AAD layout; {} failed to open",
                 startup_reseal_.counts.resealed, startup_reseal_.counts.failed);
  }
}

}  // namespace strongroom::vault
