// Wiring shared by `serve` and `admin`: opening the key manager and the store
// from a configuration, and the dev data directory (SPEC 8).
//
// Dev data directory layout (all private to the owner):
//   DIR/               0700
//   DIR/softhsm2.conf  SoftHSM2 configuration; tokens live in DIR/tokens
//   DIR/tokens/        the SoftHSM2 token "strongroom-dev" with the master key
//                      and the audit signing key "strongroom-audit" (EC P-256)
//   DIR/hsm-pin        user PIN (0600, random, generated on first run)
//   DIR/hsm-so-pin     security officer PIN (0600, random, generated on first run)
//   DIR/vault.db       SQLite database (plus -wal and -shm)
//   DIR/dev-api-key    the dev identity's API key (0600), shown on every start
// Dev mode is expressed as an ordinary Config (DevConfig) so that `serve --dev`
// and `admin --data-dir` open the vault exactly as config mode does.
#pragma once

#include <memory>
#include <string>

#include "base/result.h"
#include "base/secret.h"
#include "config/config.h"
#include "kms/pkcs11.h"

namespace strongroom::kms {
class KeyManager;
struct HsmParams;
}  // namespace strongroom::kms
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::app {

inline constexpr char kDefaultDevDir[] = ".strongroom-dev";
inline constexpr char kDevTokenLabel[] = "strongroom-dev";
inline constexpr char kDevMasterKeyLabel[] = "strongroom-master";
inline constexpr char kDevSigningKeyLabel[] = "strongroom-audit";
inline constexpr char kDevIdentity[] = "dev";
inline constexpr char kDefaultConfigPath[] = "/etc/strongroom/strongroom.toml";

struct DevPaths {
  std::string dir;  // absolute
  std::string softhsm_conf;
  std::string token_dir;
  std::string pin_file;
  std::string so_pin_file;
  std::string db_path;
  std::string api_key_file;
};
// The layout under `dir` (made absolute).
DevPaths DevPathsFor(const std::string& dir);

// Dev mode as a configuration: SQLite at DIR/vault.db, the SoftHSM2 module,
// token "strongroom-dev", PIN from DIR/hsm-pin, key "strongroom-master".
config::Config DevConfig(const DevPaths& paths);

// `serve --dev`: creates DIR (0700), its softhsm2.conf and random PINs if
// missing, points SOFTHSM2_CONF at it, and provisions the token, the master key
// and the audit signing key (idempotent: a dev dir made before the signing key
// existed gets it on its next start). Must run before any other thread starts
// (setenv).
Status PrepareDevDir(const DevPaths& paths);

// `admin --data-dir`: DIR must already be a dev data dir (FAILED_PRECONDITION
// otherwise); points SOFTHSM2_CONF at it. Never creates anything.
Status UseDevDir(const DevPaths& paths);

// The kms parameters of `hsm`, with the PIN read (hsm.pin_env / hsm.pin_file).
Result<kms::HsmParams> HsmParamsOf(const config::HsmConfig& hsm);

// Reads the PIN and opens the master key. Never creates keys. With `store`,
// opens the master key the database names active (SPEC 11: the configured
// hsm.master_key_label only seeds the key state of a fresh database, so a
// rotated and destroyed key need not be edited out of the configuration).
Result<std::unique_ptr<kms::KeyManager>> OpenKeys(const config::HsmConfig& hsm,
                                                  store::CredentialStore* store = nullptr);

// Opens the configured store backend. `workers`: the server's worker threads (SQLite opens at least
// that many read connections); 0 for the admin CLI.
Result<std::unique_ptr<store::CredentialStore>> OpenStore(const config::StoreConfig& store,
                                                          int workers = 0);

// Loads the dev identity's API key from DIR/dev-api-key if it is still valid
// for identity `identity_id` (exists, not revoked or expired, hash matches),
// otherwise creates a new key with both scopes and stores it (0600, atomic).
// `created` tells which happened.
Result<SecretString> EnsureDevApiKey(store::CredentialStore& store, const DevPaths& paths,
                                     std::int64_t identity_id, bool* created);

}  // namespace strongroom::app
