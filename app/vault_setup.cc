#include "app/vault_setup.h"

#include <algorithm>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "app/files.h"
#include "base/random.h"
#include "kms/audit_signing_key.h"
#include "kms/key_manager.h"
#include "kms/pkcs11.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "vault/admin.h"

namespace strongroom::app {
namespace {

constexpr mode_t kPrivateDir = 0700;
constexpr mode_t kPrivateFile = 0600;
constexpr std::size_t kPinRandomBytes = 24;  // 192 bits, 32 base64url characters

std::string SoftHsmConfText(const DevPaths& paths) {
  return "# SoftHSM2 configuration of a Strongroom dev data dir (written by strongroom serve "
         "--dev).\n"
         "directories.tokendir = " +
         paths.token_dir +
         "\n"
         "objectstore.backend = file\n"
         "log.level = ERROR\n"
         "slots.removable = false\n";
}

// Reads a whole small text file; nullopt if it does not exist.
Result<std::optional<std::string>> ReadTextFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return InternalError("cannot open " + path + ": " + std::strerror(errno));
  std::string text;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) text.append(buffer, n);
  std::fclose(f);
  return std::optional<std::string>(std::move(text));
}

// A fresh random PIN (printable, no shell-special characters).
Result<SecretString> NewPin() {
  SR_ASSIGN_OR_RETURN(SecretBytes bytes, RandomSecretBytes(kPinRandomBytes));
  std::string encoded =
      Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  SecretString pin(encoded);
  SecureWipe(encoded.data(), encoded.size());
  return pin;
}

// Creates `path` holding a fresh random PIN unless it already exists.
Status EnsurePinFile(const std::string& path) {
  if (PathExists(path)) return Status::Ok();
  SR_ASSIGN_OR_RETURN(SecretString pin, NewPin());
  SecretString line(pin.view());
  line.Append("\n");
  Status written = WriteFileAtomic(path, line.view(), kPrivateFile, /*overwrite=*/false);
  // Someone else (a concurrent first start) won the race: their PIN stands.
  if (written.code() == StatusCode::kAlreadyExists) return Status::Ok();
  return written;
}

bool DirectoryIsEmpty(const std::string& path) {
  std::error_code ec;
  return !std::filesystem::exists(path, ec) || std::filesystem::is_empty(path, ec);
}

void PointSoftHsmAt(const DevPaths& paths) {
  // SoftHSM2 reads SOFTHSM2_CONF when the module is initialised; we are still
  // single-threaded here, so setenv is safe.
  ::setenv("SOFTHSM2_CONF", paths.softhsm_conf.c_str(), 1);
}

}  // namespace

DevPaths DevPathsFor(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(dir, ec).lexically_normal();
  std::string base_text = base.string();
  while (base_text.size() > 1 && base_text.back() == '/') base_text.pop_back();
  DevPaths paths;
  paths.dir = base_text;
  paths.softhsm_conf = base_text + "/softhsm2.conf";
  paths.token_dir = base_text + "/tokens";
  paths.pin_file = base_text + "/hsm-pin";
  paths.so_pin_file = base_text + "/hsm-so-pin";
  paths.db_path = base_text + "/vault.db";
  paths.api_key_file = base_text + "/dev-api-key";
  return paths;
}

config::Config DevConfig(const DevPaths& paths) {
  config::Config config;
  config.source = paths.dir + " (dev mode)";
  config.server.listen = "127.0.0.1:8700";
  config.store.backend = "sqlite";
  config.store.path = paths.db_path;
  config.hsm.token_label = kDevTokenLabel;
  config.hsm.pin_file = paths.pin_file;
  config.hsm.master_key_label = kDevMasterKeyLabel;
  return config;
}

namespace {

// SPEC 5a: a data directory or state file that other users can write is
// refused, not warned about: whoever can write there can swap the token, the
// PIN file or the database under the server. Readable-by-others is a warning
// (nothing there is plaintext, but the admin should know).
Status RefuseIfOthersCanWrite(const DevPaths& paths) {
  for (const std::string* path :
       {&paths.dir, &paths.token_dir, &paths.softhsm_conf, &paths.pin_file, &paths.so_pin_file,
        &paths.db_path, &paths.api_key_file}) {
    struct stat st {};
    if (::lstat(path->c_str(), &st) != 0) continue;  // not created yet
    if ((st.st_mode & 0022) != 0) {
      return FailedPreconditionError(
          fmt::format("{} is writable by other users (mode {:04o}); run chmod go-w on it", *path,
                      st.st_mode & 07777),
          "insecure_permissions");
    }
  }
  struct stat st {};
  if (::stat(paths.dir.c_str(), &st) == 0 && (st.st_mode & 0077) != 0) {
    spdlog::warn("{} is accessible by other users (mode {:04o}); consider chmod 700", paths.dir,
                 st.st_mode & 07777);
  }
  return Status::Ok();
}

}  // namespace

Status PrepareDevDir(const DevPaths& paths) {
  SR_RETURN_IF_ERROR(MakeDirectory(paths.dir, kPrivateDir));
  SR_RETURN_IF_ERROR(RefuseIfOthersCanWrite(paths));
  SR_RETURN_IF_ERROR(MakeDirectory(paths.token_dir, kPrivateDir));

  const std::string conf = SoftHsmConfText(paths);
  SR_ASSIGN_OR_RETURN(std::optional<std::string> existing, ReadTextFile(paths.softhsm_conf));
  if (!existing || *existing != conf) {
    // Rewritten when missing or when the directory moved (tokendir is absolute).
    SR_RETURN_IF_ERROR(WriteFileAtomic(paths.softhsm_conf, conf, kPrivateFile, true));
  }

  // A token without its PIN cannot be opened again; do not paper over that
  // with a fresh PIN that would not match.
  if (!PathExists(paths.pin_file) && !DirectoryIsEmpty(paths.token_dir)) {
    return FailedPreconditionError(paths.pin_file + " is missing but " + paths.token_dir +
                                       " holds a token; restore the PIN file or remove " +
                                       paths.dir + " to start over",
                                   "hsm_unavailable");
  }
  SR_RETURN_IF_ERROR(EnsurePinFile(paths.so_pin_file));
  SR_RETURN_IF_ERROR(EnsurePinFile(paths.pin_file));
  PointSoftHsmAt(paths);

  const config::Config dev = DevConfig(paths);
  SR_ASSIGN_OR_RETURN(kms::HsmParams params, HsmParamsOf(dev.hsm));
  SR_ASSIGN_OR_RETURN(SecretString so_pin, config::ReadSecret("", paths.so_pin_file, "HSM SO PIN"));
  SR_ASSIGN_OR_RETURN(bool created, kms::ProvisionToken(params, so_pin));
  if (created) {
    spdlog::info("provisioned SoftHSM2 token \"{}\" with master key \"{}\" in {}",
                 params.token_label, params.master_key_label, paths.token_dir);
  }
  SR_ASSIGN_OR_RETURN(bool signing_created,
                      kms::ProvisionAuditSigningKey(params, kDevSigningKeyLabel));
  if (signing_created) {
    spdlog::info("created audit signing key \"{}\" (EC P-256) on SoftHSM2 token \"{}\"",
                 kDevSigningKeyLabel, params.token_label);
  }
  return Status::Ok();
}

Status UseDevDir(const DevPaths& paths) {
  std::error_code ec;
  if (!std::filesystem::is_directory(paths.dir, ec) || !PathExists(paths.softhsm_conf) ||
      !PathExists(paths.pin_file)) {
    return FailedPreconditionError(paths.dir +
                                       " is not a strongroom dev data dir (start "
                                       "`strongroom serve --dev --data-dir " +
                                       paths.dir + "` once to create it)",
                                   "invalid_config");
  }
  SR_RETURN_IF_ERROR(RefuseIfOthersCanWrite(paths));
  PointSoftHsmAt(paths);
  return Status::Ok();
}

Result<kms::HsmParams> HsmParamsOf(const config::HsmConfig& hsm) {
  SR_ASSIGN_OR_RETURN(SecretString pin, config::ReadSecret(hsm.pin_env, hsm.pin_file, "HSM PIN"));
  kms::HsmParams params;
  params.module_path = hsm.module;
  params.token_label = hsm.token_label;
  params.pin = std::move(pin);
  params.master_key_label = hsm.master_key_label;
  return params;
}

Result<std::unique_ptr<kms::KeyManager>> OpenKeys(const config::HsmConfig& hsm,
                                                  store::CredentialStore* store) {
  SR_ASSIGN_OR_RETURN(kms::HsmParams params, HsmParamsOf(hsm));
  if (store != nullptr) {
    SR_ASSIGN_OR_RETURN(std::vector<model::MasterKeyRecord> known, store->ListMasterKeys());
    for (const model::MasterKeyRecord& key : known) {
      if (key.state == model::MasterKeyState::kActive) params.master_key_label = key.label;
    }
  }
  return kms::OpenKeyManager(params);
}

Result<std::unique_ptr<store::CredentialStore>> OpenStore(const config::StoreConfig& store,
                                                          int workers) {
  if (store.backend == "sqlite") {
    store::SqliteStoreOptions options;
    // One read connection per worker, so concurrent GETs never queue for one
    // (at most 32: each holds two file descriptors and its own page cache).
    options.read_connections = std::clamp(workers, options.read_connections, 32);
    return store::OpenSqliteStore(store.path, options);
  }
  if (store.backend == "mysql") {
    store::MysqlStoreOptions options;
    options.url = store.url;
    options.user = store.user;
    SR_ASSIGN_OR_RETURN(
        options.password,
        config::ReadSecret(store.password_env, store.password_file, "database password"));
    options.database = store.database;
    options.pool_size = store.pool_size;
    options.galera = store.galera;
    return store::OpenMysqlStore(options);
  }
  return InvalidArgumentError("store.backend: unknown backend \"" + store.backend + "\"",
                              "invalid_config");
}

Result<SecretString> EnsureDevApiKey(store::CredentialStore& store, const DevPaths& paths,
                                     std::int64_t identity_id, bool* created) {
  *created = false;
  if (PathExists(paths.api_key_file)) {
    SR_ASSIGN_OR_RETURN(SecretString key,
                        config::ReadSecret("", paths.api_key_file, "dev API key"));
    SR_ASSIGN_OR_RETURN(bool valid,
                        vault::IsValidApiKeyOf(store, key.view(), identity_id, Clock::Real()));
    if (valid) return key;
    spdlog::warn("the dev API key in {} is no longer valid; creating a new one",
                 paths.api_key_file);
  }

  SR_ASSIGN_OR_RETURN(
      vault::NewApiKey fresh,
      vault::CreateApiKey(store, kDevIdentity, model::kScopeRead | model::kScopeWrite, std::nullopt,
                          Clock::Real()));
  SecretString line(fresh.key.view());
  line.Append("\n");
  SR_RETURN_IF_ERROR(WriteFileAtomic(paths.api_key_file, line.view(), kPrivateFile, true));
  *created = true;
  return std::move(fresh.key);
}

}  // namespace strongroom::app
