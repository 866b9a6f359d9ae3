// `strongroom admin`: identities and API keys (SPEC 8) and the key lifecycle
// (SPEC 11), in a process separate from the server (SQLite WAL lets both use
// the database at once).
//
// Only the commands that touch an identity's KEK (identity create, delete,
// rotate-kek; master-key rotate) open the HSM's master key; key and list
// commands, master-key status and retire need the store alone (retire
// --destroy opens a session of its own to destroy the pair). `audit public-key`
// opens the HSM (the signing key) and not the store.
#include <spdlog/spdlog.h>
#include <cstdio>

#include "app/audit_setup.h"
#include "app/checkpoint_signer.h"
#include "app/commands.h"
#include "app/files.h"
#include "app/vault_setup.h"
#include "config/config.h"
#include "kms/key_manager.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "vault/admin.h"
#include "vault/key_rotation.h"

namespace strongroom::app {
namespace {

std::string TimeOrNever(const std::optional<UnixMillis>& t, const char* none) {
  return t ? FormatRfc3339(*t) : none;
}

// Resolves --config / --data-dir / the default dev dir into a configuration.
Result<config::Config> LoadTarget(const Target& target) {
  if (!target.config_path.empty()) return config::LoadConfigFile(target.config_path);
  std::string dir = target.data_dir;
  if (dir.empty()) {
    if (!PathExists(kDefaultDevDir)) {
      return UsageError(std::string("pass --config FILE or --data-dir DIR (there is no ./") +
                        kDefaultDevDir + " here)");
    }
    dir = kDefaultDevDir;
  }
  const DevPaths paths = DevPathsFor(dir);
  SR_RETURN_IF_ERROR(UseDevDir(paths));
  return DevConfig(paths);
}

// The admin command's audit event (SPEC 12), after its change succeeded.
Status RecordAdmin(const config::Config& config, store::CredentialStore& store,
                   std::string_view action, std::optional<std::string> identity,
                   std::optional<std::string> key_id) {
  return vault::RecordAdminEvent(store, AdminAuditOptions(config),
                                 vault::AdminEvent{action, std::move(identity), std::move(key_id)},
                                 Clock::Real());
}

Status IdentityCreate(const config::Config& config, const std::string& name) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::KeyManager> keys, OpenKeys(config.hsm, store.get()));
  SR_ASSIGN_OR_RETURN(model::Identity identity,
                      vault::CreateIdentity(*store, *keys, name, Clock::Real()));
  SR_RETURN_IF_ERROR(RecordAdmin(config, *store, audit::action::kAdminIdentityCreate, name, {}));
  std::printf("strongroom: created identity %s\n", identity.name.c_str());
  return Status::Ok();
}

Status IdentityList(const config::Config& config) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::vector<model::Identity> identities, store->ListIdentities());
  for (const model::Identity& identity : identities) {
    std::printf("%s created=%s\n", identity.name.c_str(),
                FormatRfc3339(identity.created_at).c_str());
  }
  return Status::Ok();
}

Status IdentityDelete(const config::Config& config, const std::string& name) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::KeyManager> keys, OpenKeys(config.hsm, store.get()));
  SR_RETURN_IF_ERROR(vault::DeleteIdentity(*store, *keys, name));
  SR_RETURN_IF_ERROR(RecordAdmin(config, *store, audit::action::kAdminIdentityDelete, name, {}));
  std::printf("strongroom: deleted identity %s with its API keys and credentials\n", name.c_str());
  return Status::Ok();
}

struct KeySpec {
  std::uint32_t scopes = 0;
  std::optional<std::int64_t> ttl;
};

// Validates --scope and --ttl before anything is opened: these are usage errors.
Result<KeySpec> ParseKeySpec(const AdminOptions& options) {
  KeySpec spec;
  for (const std::string& name : options.scopes) {
    std::optional<model::Scope> scope = model::ParseScope(name);
    if (!scope) {
      return UsageError("--scope: unknown scope \"" + name +
                        "\" (expected vault:read or vault:write)");
    }
    spec.scopes |= *scope;
  }
  if (spec.scopes == 0) return UsageError("--scope is required (vault:read, vault:write)");
  if (!options.ttl.empty()) {
    spec.ttl = vault::ParseDuration(options.ttl);
    if (!spec.ttl) {
      return UsageError("--ttl: expected a duration like 90s, 15m, 12h or 30d, got \"" +
                        options.ttl + "\"");
    }
  }
  return spec;
}

Status KeyCreate(const config::Config& config, const std::string& identity, const KeySpec& spec) {
  const std::uint32_t scopes = spec.scopes;
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(vault::NewApiKey key,
                      vault::CreateApiKey(*store, identity, scopes, spec.ttl, Clock::Real()));
  SR_RETURN_IF_ERROR(
      RecordAdmin(config, *store, audit::action::kAdminKeyCreate, identity, key.key_id));
  std::printf("strongroom: created API key %s for identity %s (%s), expires %s\n",
              key.key_id.c_str(), identity.c_str(), model::ScopeNames(scopes).c_str(),
              TimeOrNever(key.expires_at, "never").c_str());
  // The key alone on the last line, so scripts can take `tail -n 1`.
  std::fwrite(key.key.view().data(), 1, key.key.size(), stdout);
  std::printf("\n");
  std::fflush(stdout);
  return Status::Ok();
}

Status KeyList(const config::Config& config, const std::string& identity) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::vector<model::ApiKeyRecord> keys, vault::ListApiKeys(*store, identity));
  for (const model::ApiKeyRecord& key : keys) {
    std::string scopes = model::ScopeNames(key.scopes);
    for (char& c : scopes) {
      if (c == ' ') c = ',';
    }
    std::printf("%s scopes=%s created=%s expires=%s revoked=%s\n", key.key_id.c_str(),
                scopes.c_str(), FormatRfc3339(key.created_at).c_str(),
                TimeOrNever(key.expires_at, "never").c_str(),
                TimeOrNever(key.revoked_at, "no").c_str());
  }
  return Status::Ok();
}

Status KeyRevoke(const config::Config& config, const std::string& key_id) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_RETURN_IF_ERROR(vault::RevokeApiKey(*store, key_id, Clock::Real()));
  SR_RETURN_IF_ERROR(RecordAdmin(config, *store, audit::action::kAdminKeyRevoke, {}, key_id));
  std::printf("strongroom: revoked API key %s\n", key_id.c_str());
  return Status::Ok();
}

// Prints the audit signing key's public key (PEM), for `audit verify`.
Status AuditPublicKey(const config::Config& config) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<HsmCheckpointSigner> signer,
                      OpenHsmCheckpointSigner(config.hsm, config.audit.signing_key_label));
  std::fwrite(signer->public_key_pem().data(), 1, signer->public_key_pem().size(), stdout);
  return Status::Ok();
}

// Progress on stderr, one line per rewrap: "rewrapped N/M".
void PrintProgress(std::int64_t done, std::int64_t total) {
  std::fprintf(stderr, "rewrapped %lld/%lld\n", static_cast<long long>(done),
               static_cast<long long>(total));
}

Status MasterKeyStatus(const config::Config& config) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::vector<vault::MasterKeyStatus> keys, vault::MasterKeyStatuses(*store));
  for (const vault::MasterKeyStatus& key : keys) {
    std::printf("%s state=%s keks=%lld\n", key.label.c_str(),
                std::string(model::MasterKeyStateName(key.state)).c_str(),
                static_cast<long long>(key.keks));
  }
  return Status::Ok();
}

Status MasterKeyRotate(const config::Config& config, const AdminOptions& options) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::KeyManager> keys, OpenKeys(config.hsm, store.get()));
  vault::RotationOptions rotation;
  rotation.dry_run = options.dry_run;
  rotation.progress = PrintProgress;
  SR_ASSIGN_OR_RETURN(
      vault::MasterKeyRotation done,
      vault::RotateMasterKey(*store, *keys, options.new_label, rotation, Clock::Real()));
  if (options.dry_run) {
    std::printf(
        "strongroom: dry run: master key %s would become active; %lld of %lld identity "
        "KEKs would be rewrapped\n",
        done.label.c_str(), static_cast<long long>(done.pending),
        static_cast<long long>(done.identities));
  } else {
    std::printf(
        "strongroom: master key %s is active; rewrapped %lld identity KEKs (%lld "
        "identities)\n",
        done.label.c_str(), static_cast<long long>(done.rewrapped),
        static_cast<long long>(done.identities));
  }
  return Status::Ok();
}

Status MasterKeyRetire(const config::Config& config, const AdminOptions& options) {
  const std::string& label = options.name;
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  Status retired = vault::RetireMasterKey(*store, label, Clock::Real());
  if (!retired.ok()) {
    return Status(retired.code(), "master key " + label + ": " + retired.message(),
                  retired.error_code());
  }
  if (options.destroy) {
    SR_ASSIGN_OR_RETURN(kms::HsmParams params, HsmParamsOf(config.hsm));
    SR_RETURN_IF_ERROR(kms::DestroyMasterKeyPair(params, label));
    std::printf("strongroom: retired master key %s and destroyed its key pair on the token\n",
                label.c_str());
  } else {
    std::printf("strongroom: retired master key %s\n", label.c_str());
  }
  return Status::Ok();
}

Status IdentityRotateKek(const config::Config& config, const std::string& name) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::KeyManager> keys, OpenKeys(config.hsm, store.get()));
  vault::RotationOptions rotation;
  rotation.progress = PrintProgress;
  SR_ASSIGN_OR_RETURN(vault::KekRotation done,
                      vault::RotateIdentityKek(*store, *keys, name, rotation, Clock::Real()));
  std::printf("strongroom: identity %s uses KEK version %d%s; rewrapped %lld credential DEKs\n",
              done.identity.c_str(), done.kek_version,
              done.resumed ? " (an interrupted rotation finished)" : "",
              static_cast<long long>(done.rewrapped));
  return Status::Ok();
}

}  // namespace

Status RunAdmin(const AdminOptions& options) {
  if (options.command.size() != 2) return UsageError("admin: missing command");
  const std::string& noun = options.command[0];
  const std::string& verb = options.command[1];
  KeySpec spec;
  if (noun == "key" && verb == "create") {
    SR_ASSIGN_OR_RETURN(spec, ParseKeySpec(options));
  }
  SR_ASSIGN_OR_RETURN(config::Config config, LoadTarget(options.target));
  if (noun == "identity") {
    if (verb == "create") return IdentityCreate(config, options.name);
    if (verb == "list") return IdentityList(config);
    if (verb == "delete") return IdentityDelete(config, options.name);
    if (verb == "rotate-kek") return IdentityRotateKek(config, options.name);
  } else if (noun == "master-key") {
    if (verb == "status") return MasterKeyStatus(config);
    if (verb == "rotate") return MasterKeyRotate(config, options);
    if (verb == "retire") return MasterKeyRetire(config, options);
  } else if (noun == "audit" && verb == "public-key") {
    return AuditPublicKey(config);
  } else if (noun == "audit") {
    SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store, OpenStore(config.store));
    if (verb == "export")
      return ExportAuditEvents(*store, options.audit_server, options.audit_since);
    if (verb == "checkpoints") return ExportAuditCheckpoints(*store);
  } else if (noun == "key") {
    if (verb == "create") return KeyCreate(config, options.identity, spec);
    if (verb == "list") return KeyList(config, options.identity);
    if (verb == "revoke") return KeyRevoke(config, options.name);
  }
  return UsageError("admin: unknown command " + noun + " " + verb);
}

}  // namespace strongroom::app
