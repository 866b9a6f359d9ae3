// CredentialStore on SQLite: the embedded default.
//
// Design. One writer connection behind write_mu_ serialises every write in
// this process; WAL mode lets a small pool of reader connections run
// concurrently with it and with each other, each reading the last committed
// state. Writes to the same file from other processes (the admin CLI while
// the server runs) are serialised by SQLite's own lock and wait up to the busy
// timeout. synchronous=FULL syncs the WAL at every commit, so an acknowledged
// write survives power loss. Every statement is prepared once per connection
// (SQLITE_PREPARE_PERSISTENT) and reused: GET is lease, bind, step, reset.
//
// The store holds ciphertext, wrapped keys and hashes only; no Status built
// here contains a bound value.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "store/internal/rows.h"
#include "store/internal/sqlite_db.h"

namespace strongroom::store {
namespace {

// SQL shared by both dialects (store/internal/rows.h).
using internal::kCountCredentialsSql;
using internal::kDeleteCredentialSql;
using internal::kDeleteIdentitySql;
using internal::kGetApiKeySql;
using internal::kGetCredentialSql;
using internal::kGetCredentialWithKeySql;
using internal::kGetIdentityByNameSql;
using internal::kGetIdentitySql;
using internal::kListApiKeysSql;
using internal::kListCredentialsSql;
using internal::kListIdentitiesSql;
using internal::kRevokeApiKeySql;
using internal::kSchemaHasVersionSql;
using internal::kSchemaMaxVersionSql;
using internal::kSchemaRecordVersionSql;

using internal::Connection;
using internal::ConnectionPool;
using internal::Statement;
using internal::Transaction;

// Cache slots of each connection's prepared statements; a slot is always used
// with the SQL text named after it.
enum Slot : std::size_t {
  kSchemaMaxVersion,
  kSchemaHasVersion,
  kSchemaRecordVersion,
  kInsertIdentity,
  kGetIdentity,
  kGetIdentityByName,
  kListIdentities,
  kDeleteIdentity,
  kInsertApiKey,
  kGetApiKey,
  kListApiKeys,
  kRevokeApiKey,
  kGetCredential,
  kGetCredentialWithKey,
  kListCredentials,
  kCountCredentials,
  kInsertCredential,
  kUpdateCredential,
  kDeleteCredential,
  kTouchCredential,
  kSlotCount,
};

constexpr char kCreateSchemaMigrations[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT";

constexpr char kTouchCredentialSql[] =
    "UPDATE credentials SET last_used_at = MAX(COALESCE(last_used_at, 0), ?)"
    " WHERE identity_id = ? AND credential_id = ?";

Status Unavailable(std::string message) {
  return UnavailableError(std::move(message), "store_unavailable");
}

// Creates the database file owner-only before SQLite does (SQLite would use
// 0644); its WAL and shared-memory files inherit the mode. An existing file
// keeps its mode.
Status CreateOwnerOnlyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    ::close(fd);
    return Status::Ok();
  }
  if (errno == EEXIST) return Status::Ok();
  return Unavailable("cannot create SQLite database " + path + ": " + std::strerror(errno));
}

// Applies the SQLite migrations that `conn` has not recorded yet, each in its
// own transaction (SQLite DDL is transactional), re-checking inside the
// transaction so two processes opening the same file at once do not both
// apply a step.
Status Migrate(Connection& conn, const Clock& clock) {
  const std::vector<internal::Migration>& migrations = internal::SqliteMigrations();
  SR_RETURN_IF_ERROR(internal::CheckMigrationList(migrations));
  SR_RETURN_IF_ERROR(conn.Exec(kCreateSchemaMigrations, "creating schema_migrations"));

  auto max_version = [&conn]() -> Result<std::int64_t> {
    SR_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kSchemaMaxVersion, kSchemaMaxVersionSql));
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading schema version"));
    if (!row) return InternalError("reading schema version: no result");
    return stmt.Int64(0);
  };
  SR_ASSIGN_OR_RETURN(std::int64_t current, max_version());
  if (current > internal::kSchemaVersion) return internal::SchemaTooNewError(current);
  if (current == internal::kSchemaVersion) return Status::Ok();

  for (const internal::Migration& migration : migrations) {
    SR_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn));
    SR_ASSIGN_OR_RETURN(current, max_version());
    if (current > internal::kSchemaVersion) return internal::SchemaTooNewError(current);
    bool applied = false;
    {
      SR_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kSchemaHasVersion, kSchemaHasVersionSql));
      stmt.BindInt64(1, migration.version);
      SR_ASSIGN_OR_RETURN(applied, stmt.Step("reading schema_migrations"));
    }
    if (applied) continue;  // txn rolls back: nothing was written
    for (std::string_view sql : migration.statements) {
      SR_RETURN_IF_ERROR(
          conn.Exec(std::string(sql).c_str(),
                    "applying schema migration " + std::to_string(migration.version)));
    }
    {
      SR_ASSIGN_OR_RETURN(Statement stmt,
                          conn.Prepare(kSchemaRecordVersion, kSchemaRecordVersionSql));
      stmt.BindInt64(1, migration.version);
      stmt.BindInt64(2, clock.NowMillis());
      SR_RETURN_IF_ERROR(stmt.Run("recording schema migration"));
    }
    SR_RETURN_IF_ERROR(txn.Commit());
  }
  return Status::Ok();
}

class SqliteCredentialStore final : public CredentialStore {
 public:
  SqliteCredentialStore(std::unique_ptr<Connection> writer,
                        std::vector<std::unique_ptr<Connection>> readers, const Clock& clock)
      : clock_(clock), writer_(std::move(writer)), readers_(std::move(readers)) {}

  Result<model::Identity> CreateIdentity(const model::Identity& identity) override {
    model::Identity row = identity;
    std::lock_guard<std::mutex> lock(write_mu_);
    row.created_at = clock_.NowMillis();
    {
      SR_ASSIGN_OR_RETURN(Statement stmt,
                          writer_->Prepare(kInsertIdentity, SR_STORE_INSERT_IDENTITY));
      internal::BindIdentityInsert(stmt, row);
      Status status = stmt.Run("creating identity");
      if (status.code() == StatusCode::kAlreadyExists) {
        return AlreadyExistsError("an identity with this name already exists", "identity_exists");
      }
      SR_RETURN_IF_ERROR(status);
    }
    row.id = ::sqlite3_last_insert_rowid(writer_->db());
    return row;
  }

  Result<model::Identity> GetIdentity(std::int64_t id) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kGetIdentity, kGetIdentitySql));
    stmt.BindInt64(1, id);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading identity"));
    if (!row) return NotFoundError("identity not found");
    return internal::DecodeIdentity(stmt);
  }

  Result<model::Identity> GetIdentityByName(std::string_view name) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kGetIdentityByName, kGetIdentityByNameSql));
    stmt.BindText(1, name);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading identity"));
    if (!row) return NotFoundError("identity not found");
    return internal::DecodeIdentity(stmt);
  }

  Result<std::vector<model::Identity>> ListIdentities() override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kListIdentities, kListIdentitiesSql));
    std::vector<model::Identity> out;
    while (true) {
      SR_ASSIGN_OR_RETURN(bool row, stmt.Step("listing identities"));
      if (!row) break;
      out.push_back(internal::DecodeIdentity(stmt));
    }
    return out;
  }

  Status DeleteIdentity(std::string_view name) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    // One statement, so one implicit transaction; ON DELETE CASCADE removes
    // the identity's API keys and credentials with it.
    SR_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(kDeleteIdentity, kDeleteIdentitySql));
    stmt.BindText(1, name);
    SR_RETURN_IF_ERROR(stmt.Run("deleting identity"));
    if (::sqlite3_changes(writer_->db()) == 0) return NotFoundError("identity not found");
    return Status::Ok();
  }

  Status CreateApiKey(const model::ApiKeyRecord& key) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    SR_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(kInsertApiKey, SR_STORE_INSERT_API_KEY));
    internal::BindApiKeyInsert(stmt, key);
    Status status = stmt.Run("creating API key");
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("an API key with this id already exists", "api_key_exists");
    }
    if (status.code() == StatusCode::kNotFound) return NotFoundError("identity not found");
    return status;
  }

  Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kGetApiKey, kGetApiKeySql));
    stmt.BindText(1, key_id);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading API key"));
    if (!row) return NotFoundError("API key not found");
    return internal::DecodeApiKey(stmt);
  }

  Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kListApiKeys, kListApiKeysSql));
    stmt.BindInt64(1, identity_id);
    std::vector<model::ApiKeyRecord> out;
    while (true) {
      SR_ASSIGN_OR_RETURN(bool row, stmt.Step("listing API keys"));
      if (!row) break;
      out.push_back(internal::DecodeApiKey(stmt));
    }
    return out;
  }

  Status RevokeApiKey(std::string_view key_id, UnixMillis now) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    SR_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(kRevokeApiKey, kRevokeApiKeySql));
    stmt.BindInt64(1, now);
    stmt.BindText(2, key_id);
    SR_RETURN_IF_ERROR(stmt.Run("revoking API key"));
    if (::sqlite3_changes(writer_->db()) == 0) return NotFoundError("API key not found");
    return Status::Ok();
  }

  Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                std::string_view name) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(std::optional<model::StoredCredential> row,
                        ReadCredential(*conn, identity_id, name));
    if (!row) return NotFoundError("credential not found");
    return std::move(*row);
  }

  Result<KeyedCredential> GetCredentialWithKey(std::string_view key_id,
                                               std::string_view name) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt,
                        conn->Prepare(kGetCredentialWithKey, kGetCredentialWithKeySql));
    stmt.BindText(1, name);
    stmt.BindText(2, key_id);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading API key and credential"));
    if (!row) return NotFoundError("API key not found");
    return internal::DecodeKeyedCredential(stmt);
  }

  Result<std::vector<model::StoredCredential>> ListCredentials(std::int64_t identity_id,
                                                               std::string_view after_name,
                                                               int limit) override {
    if (limit <= 0) return InvalidArgumentError("list limit must be positive");
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kListCredentials, kListCredentialsSql));
    stmt.BindInt64(1, identity_id);
    stmt.BindText(2, after_name);
    stmt.BindInt64(3, limit);
    std::vector<model::StoredCredential> out;
    while (true) {
      SR_ASSIGN_OR_RETURN(bool row, stmt.Step("listing credentials"));
      if (!row) break;
      SR_ASSIGN_OR_RETURN(model::StoredCredential c,
                          internal::DecodeCredential(stmt, /*with_envelope=*/false));
      out.push_back(std::move(c));
    }
    return out;
  }

  Result<std::int64_t> CountCredentials(std::int64_t identity_id) override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kCountCredentials, kCountCredentialsSql));
    stmt.BindInt64(1, identity_id);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("counting credentials"));
    if (!row) return InternalError("counting credentials: no result");
    return stmt.Int64(0);
  }

  // Group commit: every acknowledged write is synced (synchronous=FULL), and
  // an fsync costs milliseconds, so concurrent Mutate calls share one. The
  // first caller to find no batch in flight becomes the leader: it takes every
  // queued mutation, applies each inside its own SAVEPOINT of one BEGIN
  // IMMEDIATE transaction (a failing fn rolls back only its own changes),
  // commits once, and wakes the others. Mutations of one name within a batch
  // run in queue order on one connection, so each sees the one before it: a
  // backup-code pop stays atomic. Nobody is acknowledged before the commit.
  Result<MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                               const MutateFn& fn) override {
    PendingMutation mine{identity_id, name, &fn};
    std::unique_lock<std::mutex> lock(queue_mu_);
    queue_.push_back(&mine);
    while (!mine.done) {
      if (leader_active_) {
        queue_cv_.wait(lock);
        continue;
      }
      leader_active_ = true;
      std::vector<PendingMutation*> batch;
      batch.swap(queue_);
      lock.unlock();
      RunBatch(batch);
      lock.lock();
      for (PendingMutation* pending : batch) pending->done = true;
      leader_active_ = false;
      queue_cv_.notify_all();
    }
    return std::move(mine.result);
  }

  Status DeleteCredential(std::int64_t identity_id, std::string_view name) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    SR_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(kDeleteCredential, kDeleteCredentialSql));
    stmt.BindInt64(1, identity_id);
    stmt.BindText(2, name);
    SR_RETURN_IF_ERROR(stmt.Run("deleting credential"));
    if (::sqlite3_changes(writer_->db()) == 0) return NotFoundError("credential not found");
    return Status::Ok();
  }

  Status TouchLastUsed(const std::vector<Touch>& touches) override {
    if (touches.empty()) return Status::Ok();
    std::lock_guard<std::mutex> lock(write_mu_);
    // One transaction, so one WAL sync for the whole batch.
    SR_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(*writer_));
    for (const Touch& touch : touches) {
      SR_ASSIGN_OR_RETURN(Statement stmt, writer_->Prepare(kTouchCredential, kTouchCredentialSql));
      stmt.BindInt64(1, touch.at);
      stmt.BindInt64(2, touch.identity_id);
      stmt.BindText(3, touch.credential_id);
      SR_RETURN_IF_ERROR(stmt.Run("recording last use"));
    }
    return txn.Commit();
  }

  Status Ping() override {
    ConnectionPool::Lease conn = readers_.Acquire();
    SR_ASSIGN_OR_RETURN(Statement stmt, conn->Prepare(kSchemaMaxVersion, kSchemaMaxVersionSql));
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("pinging database"));
    if (!row) return InternalError("pinging database: no result");
    return Status::Ok();
  }

 private:
  static Result<std::optional<model::StoredCredential>> ReadCredential(Connection& conn,
                                                                       std::int64_t identity_id,
                                                                       std::string_view name) {
    SR_ASSIGN_OR_RETURN(Statement stmt, conn.Prepare(kGetCredential, kGetCredentialSql));
    stmt.BindInt64(1, identity_id);
    stmt.BindText(2, name);
    SR_ASSIGN_OR_RETURN(bool row, stmt.Step("reading credential"));
    if (!row) return std::optional<model::StoredCredential>();
    SR_ASSIGN_OR_RETURN(model::StoredCredential c,
                        internal::DecodeCredential(stmt, /*with_envelope=*/true));
    return std::optional<model::StoredCredential>(std::move(c));
  }

  struct PendingMutation {
    std::int64_t identity_id;
    std::string_view name;
    const MutateFn* fn;
    Result<MutateOutcome> result = AbortedError("mutation not applied");
    bool done = false;  // guarded by queue_mu_
  };

  // Applies one mutation inside the open batch transaction.
  Result<MutateOutcome> ApplyOne(const PendingMutation& m) {
    SR_ASSIGN_OR_RETURN(std::optional<model::StoredCredential> existing,
                        ReadCredential(*writer_, m.identity_id, m.name));
    const bool created = !existing.has_value();
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, (*m.fn)(existing));
    row.identity_id = m.identity_id;
    row.name = std::string(m.name);
    if (internal::CredentialTypeToDb(row.type).empty()) {
      return InvalidArgumentError("credential type is not valid", "invalid_type");
    }
    SR_ASSIGN_OR_RETURN(Statement stmt,
                        created ? writer_->Prepare(kInsertCredential, SR_STORE_INSERT_CREDENTIAL)
                                : writer_->Prepare(kUpdateCredential, SR_STORE_UPDATE_CREDENTIAL));
    internal::BindCredentialWrite(stmt, row);
    Status status = stmt.Run("writing credential");
    if (status.code() == StatusCode::kNotFound) return NotFoundError("identity not found");
    SR_RETURN_IF_ERROR(status);
    return MutateOutcome{std::move(row), created};
  }

  // Runs a batch in one transaction; sets every member's result.
  void RunBatch(const std::vector<PendingMutation*>& batch) {
    std::lock_guard<std::mutex> lock(write_mu_);
    // BEGIN IMMEDIATE takes the database write lock before the reads, so no
    // other writer (here or in another process) can change a row between its
    // read and its write. Any early return rolls back.
    Result<Transaction> txn = Transaction::Begin(*writer_);
    if (!txn.ok()) {
      for (PendingMutation* m : batch) m->result = txn.status();
      return;
    }
    bool any_applied = false;
    for (PendingMutation* m : batch) {
      Status savepoint = writer_->Exec("SAVEPOINT mutation", "starting a savepoint");
      if (!savepoint.ok()) {
        m->result = savepoint;
        continue;
      }
      m->result = ApplyOne(*m);
      if (m->result.ok()) {
        any_applied = true;
      } else {
        writer_->Exec("ROLLBACK TO mutation", "rolling back a savepoint").IgnoreError();
      }
      writer_->Exec("RELEASE mutation", "releasing a savepoint").IgnoreError();
    }
    Status commit = any_applied ? txn->Commit() : Status::Ok();
    if (!commit.ok()) {
      for (PendingMutation* m : batch) {
        if (m->result.ok()) m->result = commit;
      }
    }
    // Without any applied write the transaction simply rolls back (destructor).
  }

  const Clock& clock_;
  std::mutex write_mu_;
  std::mutex queue_mu_;  // guards queue_, leader_active_ and PendingMutation::done
  std::condition_variable queue_cv_;
  std::vector<PendingMutation*> queue_;
  bool leader_active_ = false;
  std::unique_ptr<Connection> writer_;  // used only while holding write_mu_
  ConnectionPool readers_;
};

}  // namespace

Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path,
                                                         const SqliteStoreOptions& options) {
  const Clock& clock = options.clock != nullptr ? *options.clock : Clock::Real();
  if (options.read_connections <= 0 || options.busy_timeout_ms < 0) {
    return InvalidArgumentError("invalid SQLite store options");
  }
  SR_RETURN_IF_ERROR(CreateOwnerOnlyFile(path));

  SR_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer,
                      Connection::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                       options.busy_timeout_ms, kSlotCount));
  // journal_mode answers the mode in force: anything but "wal" (a filesystem
  // without shared memory, say) would silently lose concurrent readers.
  SR_ASSIGN_OR_RETURN(std::string mode,
                      writer->QueryText("PRAGMA journal_mode = WAL", "enabling WAL"));
  if (mode != "wal") return Unavailable("SQLite database " + path + " cannot use WAL mode");
  SR_RETURN_IF_ERROR(writer->Exec("PRAGMA synchronous = FULL", "setting synchronous"));
  SR_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  SR_RETURN_IF_ERROR(Migrate(*writer, clock));

  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    SR_ASSIGN_OR_RETURN(
        std::unique_ptr<Connection> reader,
        Connection::Open(path, SQLITE_OPEN_READWRITE, options.busy_timeout_ms, kSlotCount));
    // Read-write handle (WAL readers need the shared-memory file) that
    // refuses writes.
    SR_RETURN_IF_ERROR(reader->Exec("PRAGMA query_only = ON", "configuring reader"));
    readers.push_back(std::move(reader));
  }
  return std::unique_ptr<CredentialStore>(
      new SqliteCredentialStore(std::move(writer), std::move(readers), clock));
}

Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(path, SqliteStoreOptions{});
}

}  // namespace strongroom::store
