// CredentialStore: persistence of identities, API keys and credentials.
//
// The store sees ciphertext, wrapped keys, hashes and plaintext metadata only;
// it never holds a secret value. Implementations: one SQL store
// (store/internal/sql_store.h) over two backends, SQLite (embedded default,
// store/sqlite_store.cc) and MySQL/MariaDB (store/mysql_store.cc).
//
// Errors: NOT_FOUND for a missing row; ALREADY_EXISTS for a duplicate name;
// UNAVAILABLE ("store_unavailable") when the database cannot be reached;
// ABORTED ("conflict") when SQLite's write lock stays busy past busy_timeout;
// MySQL retries deadlocks, Galera certification conflicts and lock-wait
// timeouts a bounded number of times and then reports UNAVAILABLE
// ("store_unavailable"). Both reach clients as 503.
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

#include "base/clock.h"
#include "base/result.h"
#include "base/secret.h"
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

// --- audit log (SPEC 12) ---
// One stored audit event: the fields of audit::Event (audit/event.h), which
// the store does not depend on. Never a secret: keys appear as key ids.
struct AuditRecord {
  std::int64_t seq = 0;
  std::string time;
  std::string server;
  std::optional<std::string> request_id;
  std::string action;
  std::optional<std::string> identity;
  std::optional<std::string> key_id;
  std::optional<std::string> credential;
  std::optional<std::string> credential_id;
  std::optional<std::int64_t> version;
  std::int64_t status = 0;
  std::optional<std::string> remote;
  std::string prev;
  std::string hash;
};

// One stored checkpoint (audit::Checkpoint).
struct AuditCheckpointRecord {
  std::string server;
  std::int64_t seq = 0;
  std::string hash;
  std::string time;
  std::string signature;  // base64 DER
};

// `prev` of a chain's first event (= audit::kGenesisHash).
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The hash of a record whose seq and prev are set (audit::EventHash). The
// store links records into their server's chain inside its transaction: seq =
// the newest stored seq of that server + 1, prev = its hash, then hash = this.
using AuditHashFn = std::string (*)(const AuditRecord& record);

// An audit event that commits in a write's own transaction. `record` may be
// filled in by the write's MutateFn (which runs first); on success it holds
// seq, prev and hash as stored.
struct AuditWrite {
  AuditRecord* record = nullptr;
  AuditHashFn hash = nullptr;
};

// Which events ListAuditEvents returns: ordered by (server, seq), those after
// (after_server, after_seq) (paging), of `server` if non-empty, seq >= since.
struct AuditQuery {
  std::string server;
  std::int64_t since = 1;
  std::string after_server;
  std::int64_t after_seq = 0;
  int limit = 1000;
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;

  // --- identities ---
  // Creates an identity; ALREADY_EXISTS ("identity_exists") if the name is
  // taken. Sets id (never reused after a delete) and created_at (store's clock).
  virtual Result<model::Identity> CreateIdentity(const model::Identity& identity) = 0;
  virtual Result<model::Identity> GetIdentity(std::int64_t id) = 0;
  virtual Result<model::Identity> GetIdentityByName(std::string_view name) = 0;
  virtual Result<std::vector<model::Identity>> ListIdentities() = 0;
  // Deletes the identity, its API keys and its credentials (its wrapped KEK
  // with it), leaving none of their bytes in the database files (SPEC 5a):
  // SQLite runs with secure_delete on and checkpoints and truncates its WAL
  // after the delete (waiting up to busy_timeout for readers; if it still
  // cannot finish, ABORTED "checkpoint_incomplete": the identity is deleted
  // all the same and the next delete's checkpoint clears the WAL);
  // MySQL/MariaDB relies on the purge settings in README.
  virtual Status DeleteIdentity(std::string_view name) = 0;

  // --- API keys ---
  // Stores `key` as given. ALREADY_EXISTS ("api_key_exists") for a taken
  // key id; NOT_FOUND for an unknown identity.
  virtual Status CreateApiKey(const model::ApiKeyRecord& key) = 0;
  virtual Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) = 0;
  virtual Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) = 0;
  // Sets revoked_at (a key already revoked keeps its first revocation time);
  // NOT_FOUND for an unknown key id.
  virtual Status RevokeApiKey(std::string_view key_id, UnixMillis now) = 0;

  // --- credentials ---
  virtual Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                        std::string_view name) = 0;
  // The hot read path (a GET): API key `key_id`, then, only if `check(key)`
  // passes, the credential `name` of that key's identity, on the same
  // connection (SPEC 4: the key is checked before anything about the name is
  // looked at, so a wrong key costs the same whether the name exists or not).
  // NOT_FOUND if the key does not exist; the check's own Status if it fails
  // (no credential is read). Otherwise `credential` is nullopt when the
  // identity has no credential by that name, and `credential_status` says why
  // a row that exists could not be decoded (DATA_LOSS). `check` may run more
  // than once (a retried read), so it must not have side effects beyond
  // recording its result.
  struct KeyedCredential {
    model::ApiKeyRecord key;
    std::optional<model::StoredCredential> credential;
    Status credential_status = Status::Ok();
  };
  using KeyCheck = std::function<Status(const model::ApiKeyRecord& key)>;
  virtual Result<KeyedCredential> GetCredentialWithKey(std::string_view key_id,
                                                       std::string_view name,
                                                       const KeyCheck& check) = 0;
  // Credentials of one identity sorted by name (bytewise, so case-sensitive),
  // strictly after `after_name` (empty: from the start), at most `limit`
  // (INVALID_ARGUMENT unless positive). Ciphertext and wrapped_dek are left empty.
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
  // The row is written at (identity_id, name) whatever `fn` puts in those
  // fields; every other field is written exactly as `fn` returns it (versions
  // and times are the caller's). NOT_FOUND if the identity does not exist.
  // FAILED_PRECONDITION ("kek_rotated") if the row's kek_version is not the
  // identity's current KEK version (a caller holding a stale identity: a KEK
  // rotation ran; re-read the identity and try again): no row is ever
  // written under a KEK the identity is about to drop.
  // The write is durable (synced) before this returns OK.
  virtual Result<MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                                       const MutateFn& fn) = 0;

  // Deletes a credential; NOT_FOUND if absent.
  virtual Status DeleteCredential(std::int64_t identity_id, std::string_view name) = 0;

  // --- audit log (SPEC 12); append-only: nothing here updates or deletes ---
  // Mutate and DeleteCredential that also append `audit` in the same
  // transaction (one durable commit). A failure to append the event fails the
  // write, which then changes nothing: UNAVAILABLE "audit_unavailable".
  virtual Result<MutateOutcome> MutateAudited(std::int64_t identity_id, std::string_view name,
                                              const MutateFn& fn, AuditWrite audit) = 0;
  virtual Status DeleteCredentialAudited(std::int64_t identity_id, std::string_view name,
                                         AuditWrite audit) = 0;
  // Appends `records` (each to its server's chain, in order) in one durable
  // transaction, batched with concurrent writes where the backend batches
  // (SQLite group commit); fills in seq, prev and hash.
  // UNAVAILABLE "audit_unavailable" on failure (nothing appended).
  virtual Status AppendAuditEvents(std::vector<AuditRecord>* records, AuditHashFn hash) = 0;
  // The newest event of `server`'s chain, nullopt if it has none.
  virtual Result<std::optional<AuditRecord>> LastAuditEvent(std::string_view server) = 0;
  // Events as `query` selects, at most query.limit (positive).
  virtual Result<std::vector<AuditRecord>> ListAuditEvents(const AuditQuery& query) = 0;
  // Stores a checkpoint; ALREADY_EXISTS if (server, seq) has one.
  virtual Status AppendAuditCheckpoint(const AuditCheckpointRecord& checkpoint) = 0;
  // Every checkpoint, ordered by (server, seq).
  virtual Result<std::vector<AuditCheckpointRecord>> ListAuditCheckpoints() = 0;

  // Records retrieval times (best effort, may be batched): last_used_at =
  // max(old, at) on the row of `identity_id` whose credential_id is
  // `credential_id`, in one transaction. Credentials that no longer exist are
  // skipped, and so is a row re-created under the same name since the use (it
  // has a new credential_id).
  struct Touch {
    std::int64_t identity_id;
    std::string credential_id;
    UnixMillis at;
  };
  virtual Status TouchLastUsed(const std::vector<Touch>& touches) = 0;

  // Keys of credentials whose envelope was sealed with an AAD layout older
  // than `aad_version` (model::StoredCredential::aad_version), in
  // (identity_id, name) order strictly after `after` (identity_id 0 and an
  // empty name: from the start), at most `limit` (INVALID_ARGUMENT unless
  // positive). Only identity_id and name are set.
  virtual Result<std::vector<model::StoredCredential>> ListLegacyAadCredentials(
      std::int32_t aad_version, std::int64_t after_identity_id, std::string_view after_name,
      int limit) = 0;

  // OK when the database answers.
  virtual Status Ping() = 0;

  // --- key state (SPEC 11) ---
  // Every master key the database knows, with its state, oldest first.
  virtual Result<std::vector<model::MasterKeyRecord>> ListMasterKeys() = 0;
  // Only on a database that knows no master key yet: records `label` as the
  // active key and names it on every KEK that names none (those wrapped
  // before the key state existed; nothing is re-encrypted). Otherwise a
  // no-op. Idempotent, safe to race.
  virtual Status SeedMasterKey(std::string_view label, UnixMillis now) = 0;
  // Makes `label` the active master key (recorded first if new); the key that
  // was active becomes previous. FAILED_PRECONDITION ("master_key_retired")
  // for a retired label. Idempotent.
  virtual Status ActivateMasterKey(std::string_view label, UnixMillis now) = 0;
  // Marks `label` retired (idempotent). NOT_FOUND for an unknown label;
  // FAILED_PRECONDITION ("master_key_active") while it is active, and
  // ("master_key_in_use", the message naming the count) while any identity's
  // KEK, current or previous, is still wrapped under it.
  virtual Status RetireMasterKey(std::string_view label, UnixMillis now) = 0;
  // Compare-and-set of identity `expected.id`'s KEK columns: if they still
  // hold `expected`'s kek_version, master_key_label, previous_kek_version and
  // previous_master_key_label, writes `updated`'s wrapped_kek, kek_version,
  // master_key_label and previous KEK (version 0: none). ABORTED
  // ("identity_changed") if they changed meanwhile; NOT_FOUND if the identity
  // is gone.
  virtual Status UpdateIdentityKeks(const model::Identity& expected,
                                    const model::Identity& updated) = 0;
  // Ends a KEK rotation: drops identity `identity_id`'s previous KEK if it is
  // version `previous_kek_version` and no credential of the identity names
  // that version any more. OK if it has no such previous KEK (done already);
  // FAILED_PRECONDITION ("kek_rotation_incomplete") while credentials still
  // name it; NOT_FOUND if the identity is gone.
  virtual Status FinishKekRotation(std::int64_t identity_id, std::int32_t previous_kek_version) = 0;
};

struct SqliteStoreOptions {
  // Source of identities' created_at and migrations' applied_at; must outlive
  // the store. nullptr: Clock::Real().
  const Clock* clock = nullptr;
  // Read connections (WAL readers run concurrently); reads beyond this wait.
  int read_connections = 4;
  // How long a statement waits for another process's lock before ABORTED.
  int busy_timeout_ms = 5000;
};

// Opens (creating if needed, mode 0600) a SQLite store at `path`, WAL mode,
// synchronous=FULL, migrated to the latest schema. UNAVAILABLE
// "store_unavailable" if the file cannot be opened or is not a database;
// FAILED_PRECONDITION "schema_too_new" if a newer build has migrated it.
Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path,
                                                         const SqliteStoreOptions& options);
Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path);

struct MysqlStoreOptions {
  // "tcp://host:port" or "unix:///path/to/socket" (Connector/C++ host syntax),
  // or several of them comma-separated ("tcp://h1:3306,tcp://h2:3306"): new
  // connections go to the first that answers, trying them in order from the
  // one that last answered, so the store moves to the next on connection loss.
  std::string url;
  std::string user;
  SecretString password;  // never logged, never in a Status
  std::string database;   // must exist; tables are created in it
  // Upper bound on open connections; a call that finds all of them busy
  // waits up to checkout_timeout_ms, then fails UNAVAILABLE.
  int pool_size = 8;
  int checkout_timeout_ms = 5000;
  // Socket timeouts, seconds (OPT_CONNECT_TIMEOUT, OPT_READ_TIMEOUT,
  // OPT_WRITE_TIMEOUT): bound how long a call can hang on a dead server.
  int connect_timeout_s = 1;
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  // innodb_lock_wait_timeout for the store's sessions, seconds.
  int lock_wait_timeout_s = 5;
  // Attempts of a write transaction that hits a deadlock or certification
  // conflict (1213/40001), lock wait timeout (1205), a Galera node that is not
  // ready (1047) or an insert race, before UNAVAILABLE "store_unavailable".
  // With `galera`, at least 12.
  int max_attempts = 5;
  // MariaDB Galera cluster: sessions read with wsrep_sync_wait = 1 (a read
  // sees every write acknowledged before it began, through any node), and
  // nodes whose wsrep_ready is not ON are skipped at connect.
  bool galera = false;
  // Source of identities' created_at and migrations' applied_at; nullptr: real.
  const Clock* clock = nullptr;
};

// Opens a MySQL/MariaDB store (InnoDB, utf8mb4, a primary key on every table:
// fit for Galera) and migrates `database` to the latest schema under a lock
// row (not GET_LOCK, which Galera does not replicate), so servers starting
// together, on one server or on a cluster's different nodes, migrate once.
// Connections are opened lazily up to pool_size, dropped when broken and
// reopened on later calls, so the store recovers by itself after a database
// restart. UNAVAILABLE "store_unavailable" if the server cannot be reached or
// refuses the login; FAILED_PRECONDITION "schema_too_new" as for SQLite.
Result<std::unique_ptr<CredentialStore>> OpenMysqlStore(const MysqlStoreOptions& options);

}  // namespace strongroom::store
