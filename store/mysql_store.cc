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
// Failure model. A connection error (server down, restarted, network) fails
// the call quickly with UNAVAILABLE "store_unavailable" (1 s connect timeout,
// bounded read/write timeouts); the broken session is dropped and later calls
// open new ones, so the store recovers without being reopened. A read that
// fails on a pooled session is retried once on a new session (it may simply
// have been cut while idle); writes are never retried after a connection
// error, since the server may have committed them.
//
// Schema migrations run at open under GET_LOCK, so servers starting together
// against an empty database migrate it once and all see one schema.
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
});

constexpr char kCreateSchemaMigrations[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ENGINE = InnoDB";
constexpr char kGetLockSql[] = "SELECT GET_LOCK(LEFT(CONCAT('strongroom_migrate:', ?), 64), 30)";
constexpr char kReleaseLockSql[] =
    "SELECT RELEASE_LOCK(LEFT(CONCAT('strongroom_migrate:', ?), 64))";

// Duplicate key name: an index a migration step creates exists already.
constexpr int kErDupKeyName = 1061;

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

  Result<MysqlStatement> Prepare(SqlId id) {
    return Catching<MysqlStatement>(conn, "preparing statement", [&] {
      return MysqlStatement(conn, conn.Prepare(internal::SqlText(kMysqlSql, id)));
    });
  }
  // MySQL 8 has no CREATE INDEX IF NOT EXISTS: an index that exists already
  // is a step cut short after its DDL and before it was recorded, re-run.
  Status Exec(const char* sql, std::string_view what) {
    return internal::Guard(conn, what, [&] {
      try {
        conn.Execute(sql);
      } catch (const sql::SQLException& e) {
        if (e.getErrorCode() != kErDupKeyName) throw;
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

bool IsRetryableConflict(int mysql_errno) {
  return mysql_errno == internal::kErLockDeadlock || mysql_errno == internal::kErLockWaitTimeout ||
         mysql_errno == internal::kErDupEntry;
}

// Runs a named-lock statement (parameter: the database) and returns its value
// (1: done; 0 or NULL: timed out or not held).
Result<bool> NamedLock(MysqlConnection& conn, const char* sql, const std::string& database,
                       std::string_view what) {
  return Catching<bool>(conn, what, [&] {
    sql::PreparedStatement& ps = conn.Prepare(sql);
    ps.setString(1, database);
    ResultSetPtr rs(ps.executeQuery());
    return rs->next() && !rs->isNull(1) && rs->getInt(1) == 1;
  });
}

// Migrates under a named lock (per database) held by `conn`'s session; the
// server releases it if the session dies. MySQL commits DDL implicitly, so
// steps are not transactions: every step is safe to re-run (IF NOT EXISTS,
// or a duplicate index tolerated) if it was cut short before being recorded.
Status Migrate(MysqlConnection& conn, const std::string& database, const Clock& clock) {
  SR_ASSIGN_OR_RETURN(bool locked,
                      NamedLock(conn, kGetLockSql, database, "taking the migration lock"));
  if (!locked) return Unavailable("timed out waiting for the schema migration lock");
  MysqlSession session{conn};
  Status migrated =
      internal::MigrateSchema(session, internal::MysqlMigrations(), kCreateSchemaMigrations, clock,
                              [](auto&& step) { return step(); });
  Status released =
      NamedLock(conn, kReleaseLockSql, database, "releasing the migration lock").status();
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
    s.conn.Execute("COMMIT");
    return Status::Ok();
  };
}

class MysqlBackend {
 public:
  using Session = MysqlSession;

  MysqlBackend(internal::MysqlConnectParams params, const MysqlStoreOptions& options)
      : max_attempts_(options.max_attempts),
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
    return Retrying(what, /*retry_duplicate_key=*/false, body);
  }

  template <typename Body>
  Status InTransaction(std::string_view what, Body&& body) {
    return Retrying(what, /*retry_duplicate_key=*/false, InTransactionBody(body));
  }

  // SELECT ... FOR UPDATE (kLockCredential) holds the row until COMMIT; a
  // first insert that lost a race with another (duplicate key) is retried,
  // by which time the row exists and is locked normally.
  Result<MutateOutcome> Mutate(MutationRef<Session> apply) {
    std::optional<MutateOutcome> outcome;
    auto body = [&](MysqlSession& s) -> Status {
      SR_ASSIGN_OR_RETURN(outcome, apply(s));
      return Status::Ok();
    };
    SR_RETURN_IF_ERROR(
        Retrying("writing credential", /*retry_duplicate_key=*/true, InTransactionBody(body)));
    return std::move(*outcome);
  }

 private:
  // Runs `body` on a pooled session; retried on deadlock and lock wait
  // timeout, and on a duplicate key if `retry_duplicate_key`, at most
  // max_attempts times, then UNAVAILABLE.
  template <typename Body>
  Status Retrying(std::string_view what, bool retry_duplicate_key, Body&& body) {
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
      if (!IsRetryableConflict(mysql_errno)) return status;
      if (mysql_errno == internal::kErDupEntry && !retry_duplicate_key) return status;
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
  auto store = std::make_unique<internal::SqlCredentialStore<MysqlBackend>>(
      clock, std::move(params), options);
  {
    SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, store->backend().pool().Acquire());
    SR_RETURN_IF_ERROR(Migrate(*lease, options.database, clock));
  }
  return std::unique_ptr<CredentialStore>(std::move(store));
}

}  // namespace strongroom::store
