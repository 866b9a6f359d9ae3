#include "vault/key_rotation.h"

#include <map>
#include <optional>
#include <utility>

#include "kms/key_manager.h"
#include "store/credential_store.h"
#include "vault/internal/rotation_progress.h"

namespace strongroom::vault {
namespace {

// Rounds over the identities (credentials) left to rewrap: a server that had
// not yet seen the new active key (KEK version) may add one while a round
// runs; the next round takes it. Servers notice within seconds, so two or
// three rounds settle; more means something keeps writing old keys.
constexpr int kMaxRounds = 5;

bool NeedsRewrap(const model::Identity& identity, std::string_view label) {
  if (identity.master_key_label != label) return true;
  return identity.previous_kek_version != 0 && identity.previous_master_key_label != label;
}

// `identity` with its KEKs (current and previous) rewrapped under the key
// manager's active master key, written with compare-and-set.
Status RewrapIdentity(store::CredentialStore& store, kms::KeyManager& keys,
                      const model::Identity& identity, std::string_view label) {
  model::Identity updated = identity;
  auto rewrap = [&](std::int32_t version, std::vector<std::uint8_t>* wrapped,
                    std::string* under) -> Status {
    if (*under == label) return Status::Ok();
    const kms::KekRef ref{identity.id, version, wrapped, *under};
    SR_ASSIGN_OR_RETURN(kms::WrappedKek kek, keys.RewrapKek(ref));
    if (kek.master_key_label != label) {
      return AbortedError("the active master key changed during the rotation");
    }
    *wrapped = std::move(kek.wrapped);
    *under = std::move(kek.master_key_label);
    return Status::Ok();
  };
  SR_RETURN_IF_ERROR(rewrap(updated.kek_version, &updated.wrapped_kek, &updated.master_key_label));
  if (updated.previous_kek_version != 0) {
    SR_RETURN_IF_ERROR(rewrap(updated.previous_kek_version, &updated.previous_wrapped_kek,
                              &updated.previous_master_key_label));
  }
  return store.UpdateIdentityKeks(identity, updated);
}

// RewrapIdentity, again on a fresh read if the identity changed meanwhile (a
// KEK rotation); an identity deleted meanwhile needs nothing.
Status RewrapIdentityRetrying(store::CredentialStore& store, kms::KeyManager& keys,
                              model::Identity identity, std::string_view label) {
  for (int attempt = 0;; ++attempt) {
    Status status = RewrapIdentity(store, keys, identity, label);
    if (status.code() == StatusCode::kNotFound) return Status::Ok();
    if (status.code() != StatusCode::kAborted || status.error_code() != "identity_changed" ||
        attempt == 3) {
      return status;
    }
    Result<model::Identity> fresh = store.GetIdentity(identity.id);
    if (fresh.status().code() == StatusCode::kNotFound) return Status::Ok();
    SR_RETURN_IF_ERROR(fresh.status());
    identity = std::move(fresh).value();
    if (!NeedsRewrap(identity, label)) return Status::Ok();
  }
}

Result<std::vector<model::Identity>> PendingIdentities(store::CredentialStore& store,
                                                       std::string_view label,
                                                       std::int64_t* total) {
  SR_ASSIGN_OR_RETURN(std::vector<model::Identity> all, store.ListIdentities());
  *total = static_cast<std::int64_t>(all.size());
  std::vector<model::Identity> pending;
  for (model::Identity& identity : all) {
    if (NeedsRewrap(identity, label)) pending.push_back(std::move(identity));
  }
  return pending;
}

Status RefuseRetired(store::CredentialStore& store, std::string_view label) {
  SR_ASSIGN_OR_RETURN(std::vector<model::MasterKeyRecord> known, store.ListMasterKeys());
  for (const model::MasterKeyRecord& key : known) {
    if (key.label == label && key.state == model::MasterKeyState::kRetired) {
      return FailedPreconditionError("master key " + key.label + " is retired",
                                     "master_key_retired");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> SyncMasterKeys(store::CredentialStore& store, kms::KeyManager& keys,
                                   const Clock& clock) {
  const std::string current = keys.active_master_key_label();
  SR_ASSIGN_OR_RETURN(std::vector<model::MasterKeyRecord> known, store.ListMasterKeys());
  if (known.empty() && !current.empty()) {
    // A fresh (or just migrated) database: the configured key seeds it.
    SR_RETURN_IF_ERROR(store.SeedMasterKey(current, clock.NowMillis()));
    SR_ASSIGN_OR_RETURN(known, store.ListMasterKeys());
  }
  for (const model::MasterKeyRecord& key : known) {
    if (key.state != model::MasterKeyState::kActive) continue;
    if (key.label != current) SR_RETURN_IF_ERROR(keys.SetActiveMasterKey(key.label));
    return key.label;
  }
  return current;
}

Result<std::vector<MasterKeyStatus>> MasterKeyStatuses(store::CredentialStore& store) {
  SR_ASSIGN_OR_RETURN(std::vector<model::MasterKeyRecord> known, store.ListMasterKeys());
  SR_ASSIGN_OR_RETURN(std::vector<model::Identity> identities, store.ListIdentities());
  std::map<std::string, std::int64_t> keks;
  for (const model::Identity& identity : identities) {
    ++keks[identity.master_key_label];
    if (identity.previous_kek_version != 0) ++keks[identity.previous_master_key_label];
  }
  std::vector<MasterKeyStatus> out;
  for (const model::MasterKeyRecord& key : known) {
    out.push_back({key.label, key.state, keks[key.label]});
    keks.erase(key.label);
  }
  // KEKs under a label the key state does not know (not seeded yet).
  for (const auto& [label, count] : keks) {
    if (count != 0) {
      out.push_back(
          {label.empty() ? "(unlabelled)" : label, model::MasterKeyState::kPrevious, count});
    }
  }
  return out;
}

Result<MasterKeyRotation> RotateMasterKey(store::CredentialStore& store, kms::KeyManager& keys,
                                          std::string_view new_label,
                                          const RotationOptions& options, const Clock& clock) {
  MasterKeyRotation out;
  out.label = std::string(new_label);
  SR_RETURN_IF_ERROR(SyncMasterKeys(store, keys, clock).status());
  SR_RETURN_IF_ERROR(RefuseRetired(store, new_label));
  SR_RETURN_IF_ERROR(keys.AddMasterKey(new_label));  // the pair must be on the token
  SR_ASSIGN_OR_RETURN(std::vector<model::Identity> pending,
                      PendingIdentities(store, new_label, &out.identities));
  out.pending = static_cast<std::int64_t>(pending.size());
  if (options.dry_run) return out;

  SR_RETURN_IF_ERROR(store.ActivateMasterKey(new_label, clock.NowMillis()));
  SR_RETURN_IF_ERROR(keys.SetActiveMasterKey(new_label));
  for (int round = 0; !pending.empty(); ++round) {
    if (round == kMaxRounds) {
      return AbortedError("KEKs keep appearing under an old master key; run the rotation again");
    }
    for (const model::Identity& identity : pending) {
      SR_RETURN_IF_ERROR(RewrapIdentityRetrying(store, keys, identity, new_label));
      SR_RETURN_IF_ERROR(internal::CountRewrap(options, &out.rewrapped, out.pending));
    }
    std::int64_t unused = 0;
    SR_ASSIGN_OR_RETURN(pending, PendingIdentities(store, new_label, &unused));
    out.pending += static_cast<std::int64_t>(pending.size());
  }
  return out;
}

Status RetireMasterKey(store::CredentialStore& store, std::string_view label, const Clock& clock) {
  return store.RetireMasterKey(label, clock.NowMillis());
}

}  // namespace strongroom::vault
