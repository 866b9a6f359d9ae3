// CredentialStore: persistence of identities, API keys and credentials.
//
// The store sees ciphertext, wrapped keys, hashes and plaintext metadata only;
// it never holds a secret value. Implementations: SQLite (embedded default,
// store/sqlite_store.cc) and MySQL/MariaDB (store/mysql_store.cc).
//
// Errors: NOT_FOUND for a missing row; ALREADY_EXISTS for a duplicate name;
// UNAVAILABLE ("store_unavailable") when the database cannot be reached;
// ABORTED for a transient conflict the store already retried and gave up on.
//
// Thread safety: all methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "model/credential.h"

namespace strongroom::store {

// The outcome of a mutation callback: the row to write, or a Status that
// aborts the transaction (nothing written) and is returned to the caller.
using MutateFn = std::function<Result<model::StoredCredential>(
    const std::optional<model::StoredCredential>& existing)>;

struct MutateOutcome {
  model::StoredCredential written;
  bool created = false;  // true when no row existed before
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;

  // --- identities ---
  // Creates an identity; ALREADY_EXISTS if the name is taken. Sets id/created_at.
  virtual Result<model::Identity> CreateIdentity(const model::Identity& identity) = 0;
  virtual Result<model::Identity> GetIdentity(std::int64_t id) = 0;
  virtual Result<model::Identity> GetIdentityByName(std::string_view name) = 0;
  virtual Result<std::vector<model::Identity>> ListIdentities() = 0;
  // Deletes the identity, its API keys and its credentials (its wrapped KEK with it).
  virtual Status DeleteIdentity(std::string_view name) = 0;

  // --- API keys ---
  virtual Status CreateApiKey(const model::ApiKeyRecord& key) = 0;
  virtual Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) = 0;
  virtual Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) = 0;
  // Sets revoked_at; NOT_FOUND for an unknown key id.
  virtual Status RevokeApiKey(std::string_view key_id, UnixMillis now) = 0;

  // --- credentials ---
  virtual Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                        std::string_view name) = 0;
  // Credentials of one identity sorted by name, strictly after `after_name`
  // (empty: from the start), at most `limit`. Ciphertext fields are left empty.
  virtual Result<std::vector<model::StoredCredential>> ListCredentials(std::int64_t identity_id,
                                                                       std::string_view after_name,
                                                                       int limit) = 0;
  // Counts an identity's credentials.
  virtual Result<std::int64_t> CountCredentials(std::int64_t identity_id) = 0;

  // The one read-modify-write primitive: in a single write transaction, reads
  // the row (locking it: BEGIN IMMEDIATE on SQLite, SELECT ... FOR UPDATE on
  // MySQL), calls `fn` with it (nullopt if absent) and writes what `fn` returns
  // (insert or update), or writes nothing if `fn` fails. `fn` may run more than
  // once if the transaction is retried, so it must not have side effects.
  // The write is durable (synced) before this returns OK.
  virtual Result<MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                                       const MutateFn& fn) = 0;

  // Deletes a credential; NOT_FOUND if absent.
  virtual Status DeleteCredential(std::int64_t identity_id, std::string_view name) = 0;

  // Records retrieval times (best effort, may be batched): last_used_at = max(old, at).
  struct Touch {
    std::int64_t identity_id;
    std::string name;
    UnixMillis at;
  };
  virtual Status TouchLastUsed(const std::vector<Touch>& touches) = 0;

  // OK when the database answers.
  virtual Status Ping() = 0;
};

// Opens (creating if needed) a SQLite store at `path`, WAL mode, migrated to the
// latest schema.
Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path);

}  // namespace strongroom::store
