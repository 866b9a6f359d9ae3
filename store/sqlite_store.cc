// CredentialStore on SQLite: the embedded default. The store itself is the
// shared SqlCredentialStore (internal/sql_store.h); this file is the SQLite
// backend: how reads, writes and transactions run, and the dialect's SQL.
//
// Design. One writer connection behind write_mu_ serialises every write in
// this process; WAL mode lets a small pool of reader connections run
// concurrently with it and with each other, each reading the last committed
// state. Writes to the same file from other processes (the admin CLI while
// the server runs) are serialised by SQLite's own lock and wait up to the busy
// timeout, then fail ABORTED. synchronous=FULL syncs the WAL at every commit,
// so an acknowledged write survives power loss. secure_delete is on and an
// identity delete truncates the WAL, so deleted keys and ciphertext leave the
// files (SPEC 5a). Every statement is prepared
// once per connection (SQLITE_PREPARE_PERSISTENT, one cache slot per SqlId)
// and reused: GET is lease, bind, step, reset.
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
#include "store/internal/sql_session.h"
#include "store/internal/sql_store.h"
#include "store/internal/sqlite_db.h"

namespace strongroom::store {
namespace {

using internal::Connection;
using internal::ConnectionPool;
using internal::MutationRef;
using internal::SqlId;
using internal::Transaction;

// BEGIN IMMEDIATE already holds the database write lock when a transaction
// reads the row it is about to write, so the plain read locks it.
constexpr internal::SqlTable kSqliteSql = internal::MakeSqlTable({
    .lock_credential = internal::kGetCredentialSql,
    .touch_credential = "UPDATE credentials SET last_used_at = MAX(COALESCE(last_used_at, 0), ?)"
                        " WHERE identity_id = ? AND credential_id = ?",
    .last_insert_id = "SELECT last_insert_rowid()",
    .ping = internal::kSchemaMaxVersionSql,  // reads the file, unlike SELECT 1
    .audit_head = "SELECT seq, hash FROM audit_events WHERE server = ? ORDER BY seq DESC LIMIT 1",
    .identity_kek_version = "SELECT kek_version FROM identities WHERE id = ?",
});

constexpr char kCreateSchemaMigrations[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT";

// The SqlSession of one connection.
struct SqliteSession {
  using Statement = internal::Statement;
  Connection& conn;

  Result<Statement> Prepare(SqlId id) {
    return conn.Prepare(static_cast<std::size_t>(id), internal::SqlText(kSqliteSql, id));
  }
  Status Exec(const char* sql, std::string_view what) { return conn.Exec(sql, what); }
};

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

// Runs `body(SqliteSession&) -> Status` in a BEGIN IMMEDIATE transaction on
// `conn`, committed if it succeeds; any early return rolls back.
template <typename Body>
Status RunTransaction(Connection& conn, Body&& body) {
  SR_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(conn));
  SqliteSession session{conn};
  SR_RETURN_IF_ERROR(body(session));
  return txn.Commit();
}

class SqliteBackend {
 public:
  using Session = SqliteSession;

  SqliteBackend(std::unique_ptr<Connection> writer,
                std::vector<std::unique_ptr<Connection>> readers)
      : writer_(std::move(writer)), readers_(std::move(readers)) {}

  template <typename Body>
  Status Read(std::string_view /*what*/, Body&& body) {
    ConnectionPool::Lease conn = readers_.Acquire();
    SqliteSession session{*conn};
    return body(session);
  }

  // One statement is one implicit transaction.
  template <typename Body>
  Status Write(std::string_view /*what*/, Body&& body) {
    std::lock_guard<std::mutex> lock(write_mu_);
    SqliteSession session{*writer_};
    return body(session);
  }

  template <typename Body>
  Status InTransaction(std::string_view /*what*/, Body&& body) {
    std::lock_guard<std::mutex> lock(write_mu_);
    return RunTransaction(*writer_, body);
  }

  // SPEC 5a: after an identity delete (secure_delete has zeroed the deleted
  // cells and freed pages in the new page images), copies every WAL frame
  // into the database file and truncates the WAL, so no older page image
  // holding the identity's wrapped KEK, DEKs or ciphertext stays on disk.
  // TRUNCATE waits (busy handler) for readers of older snapshots.
  Status ShredDeleted() {
    std::lock_guard<std::mutex> lock(write_mu_);
    int log_frames = 0;
    int checkpointed = 0;
    const int rc = sqlite3_wal_checkpoint_v2(writer_->db(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                             &log_frames, &checkpointed);
    if (rc == SQLITE_BUSY) {
      return AbortedError("identity deleted, but the WAL checkpoint could not finish");
    }
    if (rc != SQLITE_OK) return internal::SqliteError(rc, writer_->db(), "checkpointing the WAL");
    return Status::Ok();
  }

  // Group commit: every acknowledged write is synced (synchronous=FULL), and
  // an fsync costs milliseconds, so concurrent Mutate calls share one. The
  // first caller to find no batch in flight becomes the leader: it takes every
  // queued mutation, applies each inside its own SAVEPOINT of one BEGIN
  // IMMEDIATE transaction (a failing mutation rolls back only its own
  // changes), commits once, and wakes the others. Mutations of one name
  // within a batch run in queue order on one connection, so each sees the one
  // before it: a backup-code pop stays atomic. Nobody is acknowledged before
  // the commit.
  Result<MutateOutcome> Mutate(MutationRef<Session> apply) {
    PendingMutation mine{apply};
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

 private:
  struct PendingMutation {
    MutationRef<Session> apply;
    Result<MutateOutcome> result = AbortedError("mutation not applied");
    bool done = false;  // guarded by queue_mu_
  };

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
    SqliteSession session{*writer_};
    bool any_applied = false;
    for (PendingMutation* m : batch) {
      Status savepoint = writer_->Exec("SAVEPOINT mutation", "starting a savepoint");
      if (!savepoint.ok()) {
        m->result = savepoint;
        continue;
      }
      m->result = m->apply(session);
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

  std::mutex write_mu_;
  std::mutex queue_mu_;  // guards queue_, leader_active_ and PendingMutation::done
  std::condition_variable queue_cv_;
  std::vector<PendingMutation*> queue_;
  bool leader_active_ = false;
  std::unique_ptr<Connection> writer_;  // used only while holding write_mu_
  ConnectionPool readers_;
};

// Each migration step runs in its own transaction (SQLite DDL is
// transactional), so two processes opening the same file at once serialise
// on the write lock and the second finds the step recorded.
Status Migrate(Connection& conn, const Clock& clock) {
  SqliteSession session{conn};
  return internal::MigrateSchema(
      session, internal::SqliteMigrations(), kCreateSchemaMigrations, clock, [&conn](auto&& step) {
        return RunTransaction(conn, [&](SqliteSession&) { return step(); });
      });
}

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
                                       options.busy_timeout_ms, internal::kSqlIdCount));
  // journal_mode answers the mode in force: anything but "wal" (a filesystem
  // without shared memory, say) would silently lose concurrent readers.
  SR_ASSIGN_OR_RETURN(std::string mode,
                      writer->QueryText("PRAGMA journal_mode = WAL", "enabling WAL"));
  if (mode != "wal") return Unavailable("SQLite database " + path + " cannot use WAL mode");
  SR_RETURN_IF_ERROR(writer->Exec("PRAGMA synchronous = FULL", "setting synchronous"));
  SR_RETURN_IF_ERROR(writer->Exec("PRAGMA foreign_keys = ON", "enabling foreign keys"));
  // Deleted and overwritten content is zeroed, not left in free space (SPEC 5a).
  SR_ASSIGN_OR_RETURN(std::string secure,
                      writer->QueryText("PRAGMA secure_delete = ON", "enabling secure_delete"));
  if (secure != "1") return Unavailable("SQLite database " + path + " cannot use secure_delete");
  SR_RETURN_IF_ERROR(Migrate(*writer, clock));

  std::vector<std::unique_ptr<Connection>> readers;
  for (int i = 0; i < options.read_connections; ++i) {
    SR_ASSIGN_OR_RETURN(std::unique_ptr<Connection> reader,
                        Connection::Open(path, SQLITE_OPEN_READWRITE, options.busy_timeout_ms,
                                         internal::kSqlIdCount));
    // Read-write handle (WAL readers need the shared-memory file) that
    // refuses writes.
    SR_RETURN_IF_ERROR(reader->Exec("PRAGMA query_only = ON", "configuring reader"));
    readers.push_back(std::move(reader));
  }
  return std::unique_ptr<CredentialStore>(new internal::SqlCredentialStore<SqliteBackend>(
      clock, std::move(writer), std::move(readers)));
}

Result<std::unique_ptr<CredentialStore>> OpenSqliteStore(const std::string& path) {
  return OpenSqliteStore(path, SqliteStoreOptions{});
}

}  // namespace strongroom::store
