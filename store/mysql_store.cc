// CredentialStore on MySQL/MariaDB: the enterprise backend, shared by several
// servers behind a load balancer. The store itself is the shared
// SqlCredentialStore (internal/sql_store.h); this file is the MySQL backend:
// how reads, writes and transactions run, and the dialect's SQL.
//
// Design. A bounded pool of sessions (internal/mysql_db.h), each in READ
// COMMITTED with its prepared statements cached. Reads are single statements.
// Mutate is one transaction: SELECT ... FOR UPDATE on (identity_id, name)
// takes the row lock, so concurrent read-modify-writes of one credential, from
// this process or another server, run one after the other; a first insert
// racing another first insert loses with a duplicate key and is retried, by
// which time the row exists and is locked normally. READ COMMITTED (not
// REPEATABLE READ) so a missing row takes no gap lock: gap locks would turn
// every concurrent first insert into a deadlock. Deadlocks (1213), lock wait
// timeouts (1205) and insert races are retried up to max_attempts times with
// a short randomised backoff, then reported UNAVAILABLE "store_unavailable".
//
// Galera (options.galera). Row locks are local to a node: two servers on two
// nodes may both run a Mutate of one row, and the second to commit is aborted
// at certification (1213 / SQLSTATE 40001). That abort is retried whole like
// a deadlock (the retry re-reads the row), so a backup-code pop stays
// exact-once across nodes. A node that leaves the primary component answers
// 1047; its sessions are dropped and the transaction is retried on another
// node. Sessions read with wsrep_sync_wait = 1 (read-your-writes across nodes).
//
// Failure model. A connection error (server down, restarted, network) fails
// the call quickly with UNAVAILABLE "store_unavailable" (1 s connect timeout,
// bounded read/write timeouts); the broken session is dropped and later calls
// open new ones, to the first server of the url list that answers (from the
// one that last answered on), so the store recovers, or fails over to another
// server, without being reopened. A read that fails on a pooled session is
// retried once on a new session (it may simply have been cut while idle); a
// transaction is retried if its connection was lost before COMMIT was sent;
// a write is never retried once its outcome is unknown (autocommit, or lost
// during COMMIT), since the server may have committed it.
//
// Schema migrations run at open under a lock row (schema_migration_lock, see
// Migrate), so servers starting together against an empty database, also on
// different Galera nodes, migrate it once and all see one schema.
//
// The store holds ciphertext, wrapped keys and hashes only; no Status built
// here contains a bound value or the password.
#include <cppconn/datatype.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "store/internal/mysql_db.h"
#include "store/internal/rows.h"
#include "store/internal/sql_session.h"
#include "store/internal/sql_store.h"

namespace strongroom::store {
namespace {

using internal::MutationRef;
using internal::MysqlConnection;
using internal::MysqlPool;
using internal::SqlId;

constexpr internal::SqlTable kMysqlSql = internal::MakeSqlTable({
    .lock_credential = "SELECT " SR_STORE_CREDENTIAL_COLUMNS
                       " FROM credentials WHERE identity_id = ? AND name = ? FOR UPDATE",
    .touch_credential =
        "UPDATE credentials SET last_used_at = GREATEST(COALESCE(last_used_at, 0), ?)"
        " WHERE identity_id = ? AND credential_id = ?",
    .last_insert_id = "SELECT LAST_INSERT_ID()",
    .ping = "SELECT 1",
    // Locks the head row: a second transaction of the same server waits for
    // the first to commit and then reads the new head (no duplicate seq).
    .audit_head = "SELECT seq, hash FROM audit_events WHERE server = ?"
                  " ORDER BY seq DESC LIMIT 1 FOR UPDATE",
    .identity_kek_version = "SELECT kek_version FROM identities WHERE id = ? LOCK IN SHARE MODE",
});

constexpr char kCreateSchemaMigrations[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ENGINE = InnoDB";
// The migration lock: one row, taken by a conditional UPDATE (a lease with
// an expiry, renewed before each step), not GET_LOCK, which Galera does not
// replicate, nor a transaction, which the steps' DDL would commit implicitly.
// Under Galera, two servers taking it at once through different nodes
// conflict at certification and one of them is retried; the loser then finds
// it held. `runs` counts holders that found steps to apply (tests check 1).
constexpr char kCreateMigrationLock[] =
    "CREATE TABLE IF NOT EXISTS schema_migration_lock ("
    "name VARCHAR(32) NOT NULL PRIMARY KEY, holder VARCHAR(64) NOT NULL,"
    " expires_at BIGINT NOT NULL, runs BIGINT NOT NULL) ENGINE = InnoDB";
constexpr char kSeedMigrationLock[] =
    "INSERT IGNORE INTO schema_migration_lock VALUES ('migrate', '', 0, 0)";
constexpr char kTakeMigrationLock[] =
    "UPDATE schema_migration_lock SET holder = ?, expires_at = UNIX_TIMESTAMP() + ?"
    " WHERE name = 'migrate' AND (holder = '' OR holder = ? OR expires_at < UNIX_TIMESTAMP())";
constexpr char kReleaseMigrationLock[] =
    "UPDATE schema_migration_lock SET holder = '', expires_at = 0, runs = runs + ?"
    " WHERE name = 'migrate' AND holder = ?";
// Seconds a holder owns the lock without renewing it (a crashed holder's
// lease runs out), and how long a server waits for the schema.
constexpr int kMigrationLeaseS = 60;
constexpr auto kMigrationWait = std::chrono::seconds(180);

// Write attempts under Galera at least: certification conflicts between
// servers on different nodes are routine there.
constexpr int kGaleraMinAttempts = 12;

// Duplicate key name: an index a migration step creates exists already.
constexpr int kErDupKeyName = 1061;
// Duplicate column name: a column a migration step adds exists already.
constexpr int kErDupFieldName = 1060;

Status Unavailable(std::string message) {
  return UnavailableError(std::move(message), "store_unavailable");
}

using ResultSetPtr = std::unique_ptr<sql::ResultSet>;

// Runs `fn` (may throw) and returns its value, or the Status its exception maps to.
template <typename T, typename Fn>
Result<T> Catching(MysqlConnection& conn, std::string_view what, Fn&& fn) {
  std::optional<T> out;
  SR_RETURN_IF_ERROR(internal::Guard(conn, what, [&] {
    out.emplace(fn());
    return Status::Ok();
  }));
  return std::move(*out);
}

// The SqlStatement over a cached Connector/C++ prepared statement. Strings go
// as MYSQL_TYPE_STRING with an explicit length, so binary values with NUL
// bytes arrive intact. Columns are 0-based here, 1-based in the driver.
class MysqlStatement {
 public:
  MysqlStatement(MysqlConnection& conn, sql::PreparedStatement& ps) : conn_(&conn), ps_(&ps) {}

  void BindInt64(int idx, std::int64_t v) { ps_->setInt64(static_cast<unsigned>(idx), v); }
  void BindOptInt64(int idx, std::optional<std::int64_t> v) {
    if (v) {
      BindInt64(idx, *v);
    } else {
      ps_->setNull(static_cast<unsigned>(idx), sql::DataType::BIGINT);
    }
  }
  void BindText(int idx, std::string_view v) {
    ps_->setString(static_cast<unsigned>(idx), sql::SQLString(v.data(), v.size()));
  }
  void BindOptText(int idx, const std::optional<std::string>& v) {
    if (v) {
      BindText(idx, *v);
    } else {
      ps_->setNull(static_cast<unsigned>(idx), sql::DataType::VARCHAR);
    }
  }
  void BindBlob(int idx, const std::vector<std::uint8_t>& v) {
    ps_->setString(static_cast<unsigned>(idx),
                   sql::SQLString(reinterpret_cast<const char*>(v.data()), v.size()));
  }

  Result<bool> Step(std::string_view what) {
    return Catching<bool>(*conn_, what, [&] {
      if (!rs_) rs_.reset(ps_->executeQuery());
      return rs_->next();
    });
  }
  Result<std::int64_t> Execute(std::string_view what) {
    return Catching<std::int64_t>(*conn_, what, [&] { return ps_->executeUpdate(); });
  }

  std::int64_t Int64(int col) const { return rs_->getInt64(Col(col)); }
  std::optional<std::int64_t> OptInt64(int col) const {
    if (rs_->isNull(Col(col))) return std::nullopt;
    return Int64(col);
  }
  std::string Text(int col) const {
    const sql::SQLString value = rs_->getString(Col(col));
    return std::string(value.c_str(), value.length());
  }
  std::optional<std::string> OptText(int col) const {
    if (rs_->isNull(Col(col))) return std::nullopt;
    return Text(col);
  }
  std::vector<std::uint8_t> Blob(int col) const {
    const sql::SQLString value = rs_->getString(Col(col));
    const auto* data = reinterpret_cast<const std::uint8_t*>(value.c_str());
    return std::vector<std::uint8_t>(data, data + value.length());
  }

 private:
  static std::uint32_t Col(int col) { return static_cast<std::uint32_t>(col + 1); }

  MysqlConnection* conn_;
  sql::PreparedStatement* ps_;
  ResultSetPtr rs_;
};

// The SqlSession of one pooled connection.
struct MysqlSession {
  using Statement = MysqlStatement;
  MysqlConnection& conn;
  bool commit_sent = false;  // InTransactionBody: COMMIT went to the server

  Result<MysqlStatement> Prepare(SqlId id) {
    return Catching<MysqlStatement>(conn, "preparing statement", [&] {
      return MysqlStatement(conn, conn.Prepare(internal::SqlText(kMysqlSql, id)));
    });
  }
  // MySQL 8 has no CREATE INDEX IF NOT EXISTS (nor ADD COLUMN IF NOT
  // EXISTS): an index or column that exists already is a step cut short
  // after its DDL and before it was recorded, re-run.
  Status Exec(const char* sql, std::string_view what) {
    return internal::Guard(conn, what, [&] {
      try {
        conn.Execute(sql);
      } catch (const sql::SQLException& e) {
        if (e.getErrorCode() != kErDupKeyName && e.getErrorCode() != kErDupFieldName) throw;
      }
      return Status::Ok();
    });
  }
};

void SleepBeforeRetry(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const int base_ms = 2 << std::min(attempt, 5);  // 2, 4, 8, ... 64 ms
  std::uniform_int_distribution<int> jitter(0, base_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(rng)));
}

// Deadlock or Galera certification conflict (1213/40001), lock wait timeout
// (1205), a Galera node that left the primary component (1047: nothing ran),
// a duplicate key (an insert race, retried by Mutate only).
bool IsRetryableConflict(int mysql_errno) {
  return mysql_errno == internal::kErLockDeadlock || mysql_errno == internal::kErLockWaitTimeout ||
         mysql_errno == internal::kErWsrepNotReady || mysql_errno == internal::kErDupEntry;
}

// Runs `fn` (a Status-returning step on `conn`), again after a lock or
// certification conflict or a write-set abort, up to `attempts` times.
template <typename Fn>
Status RetryingConflicts(MysqlConnection& conn, int attempts, Fn&& fn) {
  for (int attempt = 0;; ++attempt) {
    Status status = fn();
    if (status.ok() || attempt + 1 >= attempts || conn.broken() ||
        (conn.last_errno() != internal::kErLockDeadlock &&
         conn.last_errno() != internal::kErLockWaitTimeout)) {
      return status;
    }
    SleepBeforeRetry(attempt);
  }
}

// Runs a migration-lock UPDATE: rows matched.
Result<std::int64_t> LockStatement(MysqlConnection& conn, const char* sql, std::int64_t number,
                                   const std::string& holder, std::string_view what) {
  return Catching<std::int64_t>(conn, what, [&] {
    sql::PreparedStatement& ps = conn.Prepare(sql);
    if (sql == kTakeMigrationLock) {
      ps.setString(1, holder);
      ps.setInt64(2, number);
      ps.setString(3, holder);
    } else {
      ps.setInt64(1, number);
      ps.setString(2, holder);
    }
    return static_cast<std::int64_t>(ps.executeUpdate());
  });
}

std::string NewLockHolder() {
  std::random_device random;
  std::string holder = "strongroom-";
  for (int i = 0; i < 4; ++i) holder += std::to_string(random()) + (i < 3 ? "-" : "");
  return holder;
}

// Migrates under the migration lock (see kCreateMigrationLock). DDL is not
// transactional in MySQL (and is TOI under Galera), so steps are not
// transactions: every step is safe to re-run (IF NOT EXISTS, or a duplicate
// index tolerated) if it was cut short before being recorded.
Status Migrate(MysqlConnection& conn, const Clock& clock, int attempts) {
  MysqlSession session{conn};
  auto exec = [&](const char* sql, std::string_view what) {
    return RetryingConflicts(conn, attempts, [&] { return session.Exec(sql, what); });
  };
  auto version = [&]() -> Result<std::int64_t> {
    SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> v,
                        internal::QueryInt64(session, internal::SqlId::kSchemaMaxVersion,
                                             "reading schema version"));
    return v.value_or(0);
  };
  SR_RETURN_IF_ERROR(exec(kCreateSchemaMigrations, "creating schema_migrations"));
  SR_RETURN_IF_ERROR(exec(kCreateMigrationLock, "creating schema_migration_lock"));
  SR_RETURN_IF_ERROR(exec(kSeedMigrationLock, "creating the migration lock"));
  const std::string holder = NewLockHolder();
  auto lock = [&](const char* sql, std::int64_t number, std::string_view what) {
    std::int64_t matched = 0;
    Status status = RetryingConflicts(conn, attempts, [&] {
      Result<std::int64_t> rows = LockStatement(conn, sql, number, holder, what);
      matched = rows.ok() ? *rows : 0;
      return rows.status();
    });
    return status.ok() ? Result<std::int64_t>(matched) : Result<std::int64_t>(status);
  };
  const auto deadline = std::chrono::steady_clock::now() + kMigrationWait;
  while (true) {
    SR_ASSIGN_OR_RETURN(std::int64_t current, version());
    if (current > internal::kSchemaVersion) return internal::SchemaTooNewError(current);
    if (current == internal::kSchemaVersion) return Status::Ok();
    SR_ASSIGN_OR_RETURN(std::int64_t taken,
                        lock(kTakeMigrationLock, kMigrationLeaseS, "taking the migration lock"));
    if (taken == 1) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Unavailable("timed out waiting for another server's schema migration");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  SR_ASSIGN_OR_RETURN(std::int64_t before, version());
  Status migrated = internal::MigrateSchema(
      session, internal::MysqlMigrations(), kCreateSchemaMigrations, clock, [&](auto&& step) {
        SR_RETURN_IF_ERROR(
            lock(kTakeMigrationLock, kMigrationLeaseS, "renewing the migration lock").status());
        return step();
      });
  const bool ran = migrated.ok() && before < internal::kSchemaVersion;
  Status released =
      lock(kReleaseMigrationLock, ran ? 1 : 0, "releasing the migration lock").status();
  SR_RETURN_IF_ERROR(migrated);
  return released;
}

// `body` inside START TRANSACTION ... COMMIT; anything but OK leaves the
// transaction open for Retrying to roll back.
template <typename Body>
auto InTransactionBody(Body& body) {
  return [&body](MysqlSession& s) -> Status {
    s.conn.Execute("START TRANSACTION");
    SR_RETURN_IF_ERROR(body(s));
    s.commit_sent = true;
    s.conn.Execute("COMMIT");
    return Status::Ok();
  };
}

class MysqlBackend {
 public:
  using Session = MysqlSession;

  MysqlBackend(internal::MysqlConnectParams params, const MysqlStoreOptions& options)
      : max_attempts_(options.galera ? std::max(options.max_attempts, kGaleraMinAttempts)
                                     : options.max_attempts),
        pool_(std::move(params), options.pool_size,
              std::chrono::milliseconds(options.checkout_timeout_ms)) {}

  MysqlPool& pool() { return pool_; }

  // Runs a read. A session taken from the pool may have died while idle (a
  // server restart): on a connection error the read is retried once on a new
  // session. Reads have no effects, so the retry is always safe.
  template <typename Body>
  Status Read(std::string_view what, Body&& body) {
    for (int attempt = 0;; ++attempt) {
      SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, pool_.Acquire(/*fresh=*/attempt > 0));
      MysqlSession session{*lease};
      Status status = internal::Guard(*lease, what, [&] { return body(session); });
      if (status.ok() || attempt > 0 || !lease.reused() || !lease->broken() ||
          status.code() != StatusCode::kUnavailable) {
        return status;
      }
    }
  }

  // Runs single-statement writes (autocommit), retried on lock conflicts
  // (the statement was rolled back) but never after a connection error.
  template <typename Body>
  Status Write(std::string_view what, Body&& body) {
    return Retrying(what, RetryOn{}, body);
  }

  template <typename Body>
  Status InTransaction(std::string_view what, Body&& body) {
    return Retrying(what, RetryOn{.lost_before_commit = true}, InTransactionBody(body));
  }

  // Nothing to do here: deleted rows leave InnoDB's files through purge and
  // log recycling, which the operator configures (README, "Shredding").
  Status ShredDeleted() { return Status::Ok(); }

  // SELECT ... FOR UPDATE (kLockCredential) holds the row until COMMIT; a
  // first insert that lost a race with another (duplicate key) is retried,
  // by which time the row exists and is locked normally.
  Result<MutateOutcome> Mutate(MutationRef<Session> apply) {
    std::optional<MutateOutcome> outcome;
    auto body = [&](MysqlSession& s) -> Status {
      SR_ASSIGN_OR_RETURN(outcome, apply(s));
      return Status::Ok();
    };
    SR_RETURN_IF_ERROR(Retrying("writing credential",
                                RetryOn{.duplicate_key = true, .lost_before_commit = true},
                                InTransactionBody(body)));
    return std::move(*outcome);
  }

 private:
  struct RetryOn {
    bool duplicate_key = false;
    // A transaction whose connection was lost before COMMIT was sent did not
    // commit: run it again on a new connection (another server, maybe). Once
    // COMMIT was sent its outcome is unknown, and it is never re-run.
    bool lost_before_commit = false;
  };

  // Runs `body` on a pooled session; retried whole on a deadlock, a Galera
  // certification conflict, a lock wait timeout or a Galera node that is not
  // ready, and as `retry_on` says, at most max_attempts times with jittered
  // exponential backoff, then UNAVAILABLE.
  template <typename Body>
  Status Retrying(std::string_view what, RetryOn retry_on, Body&& body) {
    const int attempts = std::max(1, max_attempts_);
    for (int attempt = 0; attempt < attempts; ++attempt) {
      SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, pool_.Acquire());
      MysqlSession session{*lease};
      Status status = internal::Guard(*lease, what, [&] { return body(session); });
      if (status.ok()) return status;
      const int mysql_errno = lease->last_errno();
      if (!lease->broken()) {
        // A lock wait timeout rolls back only the statement, and a body that
        // failed leaves the transaction open: end it either way.
        Status rolled_back = internal::Guard(*lease, "rolling back", [&] {
          lease->Execute("ROLLBACK");
          return Status::Ok();
        });
        rolled_back.IgnoreError();  // a failure marks the session broken
      }
      const bool lost_before_commit =
          retry_on.lost_before_commit && lease->broken() && !session.commit_sent &&
          internal::IsConnectionError(mysql_errno < 0 ? 0 : mysql_errno);
      if (!IsRetryableConflict(mysql_errno) && !lost_before_commit) return status;
      if (mysql_errno == internal::kErDupEntry && !retry_on.duplicate_key) return status;
      SleepBeforeRetry(attempt);
    }
    return Unavailable(std::string(what) + ": still conflicting after " + std::to_string(attempts) +
                       " attempts");
  }

  const int max_attempts_;
  MysqlPool pool_;
};

}  // namespace

Result<std::unique_ptr<CredentialStore>> OpenMysqlStore(const MysqlStoreOptions& options) {
  if (options.url.empty() || options.user.empty() || options.database.empty()) {
    return InvalidArgumentError("MySQL store needs url, user and database", "invalid_config");
  }
  if (options.pool_size < 1 || options.checkout_timeout_ms < 0 || options.connect_timeout_s < 1 ||
      options.read_timeout_s < 1 || options.write_timeout_s < 1 ||
      options.lock_wait_timeout_s < 1 || options.max_attempts < 1) {
    return InvalidArgumentError("invalid MySQL store options", "invalid_config");
  }
  const Clock& clock = options.clock != nullptr ? *options.clock : Clock::Real();
  internal::MysqlConnectParams params;
  params.url = options.url;
  params.user = options.user;
  params.password = options.password;
  params.database = options.database;
  params.connect_timeout_s = options.connect_timeout_s;
  params.read_timeout_s = options.read_timeout_s;
  params.write_timeout_s = options.write_timeout_s;
  params.lock_wait_timeout_s = options.lock_wait_timeout_s;
  params.galera = options.galera;
  params.hosts = internal::SplitServerList(options.url);
  for (const std::string& host : params.hosts) {
    if (host.rfind("tcp://", 0) != 0 && host.rfind("unix://", 0) != 0) {
      return InvalidArgumentError(
          "MySQL store url: every server must start with tcp:// or unix:// (comma-separated)",
          "invalid_config");
    }
  }
  auto store = std::make_unique<internal::SqlCredentialStore<MysqlBackend>>(
      clock, std::move(params), options);
  {
    SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, store->backend().pool().Acquire());
    SR_RETURN_IF_ERROR(Migrate(*lease, clock, std::max(options.max_attempts, kGaleraMinAttempts)));
  }
  return std::unique_ptr<CredentialStore>(std::move(store));
}

}  // namespace strongroom::store
