// Identity KEK rotation (SPEC 11), declared in vault/key_rotation.h.
//
// Three steps, each safe to interrupt:
//   1. one compare-and-set write on the identity: the new KEK (version + 1,
//      under the active master key) becomes current, the old one previous;
//      from then on the store accepts credentials only under the new version;
//   2. each credential still naming the previous version: its DEK rewrapped
//      under the new KEK in its own Mutate transaction (data untouched);
//   3. FinishKekRotation drops the previous KEK once no credential names it.
// A rerun finds step 1 done (the identity has a previous KEK) and continues.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kms/key_manager.h"
#include "store/credential_store.h"
#include "vault/internal/envelope.h"
#include "vault/internal/rotation_progress.h"
#include "vault/key_rotation.h"

namespace strongroom::vault {
namespace {

constexpr int kMaxRounds = 5;
constexpr int kListChunk = 1000;

// Step 1: the identity with a fresh KEK current and its old KEK previous.
Result<model::Identity> BeginKekRotation(store::CredentialStore& store, kms::KeyManager& keys,
                                         const model::Identity& identity) {
  SR_ASSIGN_OR_RETURN(kms::WrappedKek kek, keys.NewKek());
  model::Identity updated = identity;
  updated.previous_wrapped_kek = identity.wrapped_kek;
  updated.previous_kek_version = identity.kek_version;
  updated.previous_master_key_label = identity.master_key_label;
  updated.wrapped_kek = std::move(kek.wrapped);
  updated.kek_version = identity.kek_version + 1;
  updated.master_key_label = std::move(kek.master_key_label);
  SR_RETURN_IF_ERROR(store.UpdateIdentityKeks(identity, updated));
  return updated;
}

// Names of the identity's credentials whose DEK names `kek_version`.
Result<std::vector<std::string>> CredentialsUnder(store::CredentialStore& store,
                                                  std::int64_t identity_id,
                                                  std::int32_t kek_version) {
  std::vector<std::string> names;
  std::string after;
  for (;;) {
    SR_ASSIGN_OR_RETURN(std::vector<model::StoredCredential> rows,
                        store.ListCredentials(identity_id, after, kListChunk));
    for (const model::StoredCredential& row : rows) {
      if (row.kek_version == kek_version) names.push_back(row.name);
    }
    if (rows.size() < static_cast<std::size_t>(kListChunk)) return names;
    after = rows.back().name;
  }
}

// Step 2 for one credential. A credential deleted meanwhile needs nothing;
// one rewrapped meanwhile is written back unchanged.
Status RewrapCredential(store::CredentialStore& store, kms::KeyManager& keys,
                        const model::Identity& identity, const std::string& name) {
  const std::optional<kms::KekRef> from = internal::KekFor(identity, identity.previous_kek_version);
  const std::optional<kms::KekRef> to = internal::KekFor(identity, identity.kek_version);
  if (!from || !to) return InternalError("KEK rotation without two KEKs");
  store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
      -> Result<model::StoredCredential> {
    if (!existing) return NotFoundError("credential not found");
    model::StoredCredential row = *existing;
    if (row.kek_version != from->kek_version) return row;
    SR_ASSIGN_OR_RETURN(row.wrapped_dek, keys.RewrapDek(*from, *to, existing->wrapped_dek));
    row.kek_version = to->kek_version;
    return row;
  };
  Status status = store.Mutate(identity.id, name, fn).status();
  if (status.code() == StatusCode::kNotFound) return Status::Ok();
  return status;
}

// Steps 2 and 3, in rounds until FinishKekRotation succeeds.
Status RewrapAll(store::CredentialStore& store, kms::KeyManager& keys,
                 const model::Identity& identity, const RotationOptions& options,
                 KekRotation* out) {
  for (int round = 0; round < kMaxRounds; ++round) {
    SR_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        CredentialsUnder(store, identity.id, identity.previous_kek_version));
    if (round == 0) out->pending = static_cast<std::int64_t>(names.size());
    for (const std::string& name : names) {
      SR_RETURN_IF_ERROR(RewrapCredential(store, keys, identity, name));
      SR_RETURN_IF_ERROR(internal::CountRewrap(options, &out->rewrapped, out->pending));
    }
    Status finished = store.FinishKekRotation(identity.id, identity.previous_kek_version);
    if (finished.ok()) return Status::Ok();
    if (finished.error_code() != "kek_rotation_incomplete") return finished;
  }
  return AbortedError("credentials keep appearing under the old KEK; run the rotation again");
}

}  // namespace

Result<KekRotation> RotateIdentityKek(store::CredentialStore& store, kms::KeyManager& keys,
                                      std::string_view name, const RotationOptions& options,
                                      const Clock& clock) {
  SR_RETURN_IF_ERROR(SyncMasterKeys(store, keys, clock).status());
  SR_ASSIGN_OR_RETURN(model::Identity identity, store.GetIdentityByName(name));
  KekRotation out;
  out.identity = identity.name;
  out.resumed = identity.previous_kek_version != 0;
  if (options.dry_run) {
    out.kek_version = identity.kek_version + (out.resumed ? 0 : 1);
    if (out.resumed) {
      SR_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          CredentialsUnder(store, identity.id, identity.previous_kek_version));
      out.pending = static_cast<std::int64_t>(names.size());
    } else {
      SR_ASSIGN_OR_RETURN(out.pending, store.CountCredentials(identity.id));
    }
    return out;
  }
  if (!out.resumed) {
    SR_ASSIGN_OR_RETURN(identity, BeginKekRotation(store, keys, identity));
  }
  out.kek_version = identity.kek_version;
  SR_RETURN_IF_ERROR(RewrapAll(store, keys, identity, options, &out));
  keys.Evict(identity.id);  // this process's copy of the old KEK and its DEKs
  return out;
}

}  // namespace strongroom::vault
