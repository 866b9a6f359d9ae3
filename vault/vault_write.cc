// Vault: the write use cases (SPEC 5): Put, Delete, PopBackupCode.
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/random.h"
#include "base/secret_json.h"
#include "model/totp.h"
#include "model/validation.h"
#include "store/credential_store.h"
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

}  // namespace

Result<PutOutcome> Vault::Put(const Principal& principal, std::string_view name,
                              std::string_view body_json) {
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
    return row;
  };
  SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                      MutateSealed(principal.identity_id, name, fn, &identity));
  touches_->Overlay(&outcome.written);
  return PutOutcome{std::move(outcome.written), outcome.created};
}

Status Vault::Delete(const Principal& principal, std::string_view name) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kDelete));
  // A pending use of the deleted credential stays keyed by its credentialId,
  // which a credential re-created under this name never has.
  return store_.DeleteCredential(principal.identity_id, name);
}

Result<PoppedBackupCode> Vault::PopBackupCode(const Principal& principal, std::string_view name) {
  SR_RETURN_IF_ERROR(Authorize(principal, Operation::kPopBackupCode));
  UnixMillis now = clock_.NowMillis();
  std::shared_ptr<const model::Identity> identity;
  model::BackupPop popped;
  store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
      -> Result<model::StoredCredential> {
    if (!existing) return NotFoundError("credential not found");
    SR_RETURN_IF_ERROR(internal::CheckNotExpired(*existing, now));
    model::StoredCredential row = *existing;
    SR_ASSIGN_OR_RETURN(SecretBytes plain, internal::OpenRow(keys_, *identity, row));
    SR_ASSIGN_OR_RETURN(SecretJson data, internal::ParseData(plain));
    SR_ASSIGN_OR_RETURN(popped, model::PopBackupCode(row.type, *data));
    row.version = existing->version + 1;
    row.updated_at = now;
    row.last_used_at = std::max(existing->last_used_at.value_or(now), now);
    SecretStdString text = DumpToSecret(*data);
    SR_RETURN_IF_ERROR(
        internal::SealInto(keys_, *identity, std::string_view(text.data(), text.size()), &row));
    return row;
  };
  SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                      MutateSealed(principal.identity_id, name, fn, &identity));
  if (outcome.created) {
    // fn never creates; a store that says otherwise broke its contract.
    return InternalError("backup pop created a row");
  }
  return PoppedBackupCode{std::move(popped.code), popped.remaining};
}

}  // namespace strongroom::vault
