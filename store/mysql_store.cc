// CredentialStore on MySQL/MariaDB: the enterprise backend, shared by several
// servers behind a load balancer.
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
#include <random>
#include <string>
#include <thread>
#include <utility>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "store/internal/mysql_db.h"
#include "store/internal/rows.h"

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

using internal::MysqlConnection;
using internal::MysqlPool;

constexpr char kCreateSchemaMigrations[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version BIGINT NOT NULL PRIMARY KEY, applied_at BIGINT NOT NULL) ENGINE = InnoDB";
constexpr char kGetLockSql[] = "SELECT GET_LOCK(LEFT(CONCAT('strongroom_migrate:', ?), 64), 30)";
constexpr char kReleaseLockSql[] =
    "SELECT RELEASE_LOCK(LEFT(CONCAT('strongroom_migrate:', ?), 64))";
constexpr char kPingSql[] = "SELECT 1";
constexpr char kLastInsertIdSql[] = "SELECT LAST_INSERT_ID()";

constexpr char kInsertIdentitySql[] = SR_STORE_INSERT_IDENTITY;

constexpr char kInsertApiKeySql[] = SR_STORE_INSERT_API_KEY;

constexpr char kLockCredentialSql[] = "SELECT " SR_STORE_CREDENTIAL_COLUMNS
                                      " FROM credentials WHERE identity_id = ? AND name = ?"
                                      " FOR UPDATE";
constexpr char kInsertCredentialSql[] = SR_STORE_INSERT_CREDENTIAL;
constexpr char kUpdateCredentialSql[] = SR_STORE_UPDATE_CREDENTIAL;
constexpr char kTouchCredentialSql[] =
    "UPDATE credentials SET last_used_at = GREATEST(COALESCE(last_used_at, 0), ?)"
    " WHERE identity_id = ? AND credential_id = ?";

Status Unavailable(std::string message) {
  return UnavailableError(std::move(message), "store_unavailable");
}

using ResultSetPtr = std::unique_ptr<sql::ResultSet>;

// The row adapter of rows.h over a Connector/C++ result (1-based columns).
struct Row {
  const sql::ResultSet& rs;
  std::int64_t Int64(int col) const { return rs.getInt64(static_cast<std::uint32_t>(col + 1)); }
  std::optional<std::int64_t> OptInt64(int col) const {
    if (rs.isNull(static_cast<std::uint32_t>(col + 1))) return std::nullopt;
    return Int64(col);
  }
  std::string Text(int col) const {
    const sql::SQLString value = rs.getString(static_cast<std::uint32_t>(col + 1));
    return std::string(value.c_str(), value.length());
  }
  std::vector<std::uint8_t> Blob(int col) const {
    const sql::SQLString value = rs.getString(static_cast<std::uint32_t>(col + 1));
    const auto* data = reinterpret_cast<const std::uint8_t*>(value.c_str());
    return std::vector<std::uint8_t>(data, data + value.length());
  }
};

// The binder adapter of rows.h. Strings go as MYSQL_TYPE_STRING with an
// explicit length, so binary values with NUL bytes arrive intact.
struct Binder {
  sql::PreparedStatement& ps;
  void BindInt64(int idx, std::int64_t v) { ps.setInt64(static_cast<unsigned>(idx), v); }
  void BindOptInt64(int idx, std::optional<std::int64_t> v) {
    if (v) {
      BindInt64(idx, *v);
    } else {
      ps.setNull(static_cast<unsigned>(idx), sql::DataType::BIGINT);
    }
  }
  void BindText(int idx, std::string_view v) {
    ps.setString(static_cast<unsigned>(idx), sql::SQLString(v.data(), v.size()));
  }
  void BindBlob(int idx, const std::vector<std::uint8_t>& v) {
    ps.setString(static_cast<unsigned>(idx),
                 sql::SQLString(reinterpret_cast<const char*>(v.data()), v.size()));
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

// Migrates under a named lock (per database) held by `conn`'s session; the
// server releases it if the session dies.
Status Migrate(MysqlConnection& conn, const std::string& database, const Clock& clock) {
  const std::vector<internal::Migration>& migrations = internal::MysqlMigrations();
  SR_RETURN_IF_ERROR(internal::CheckMigrationList(migrations));
  Status locked = internal::Guard(conn, "taking the migration lock", [&] {
    sql::PreparedStatement& ps = conn.Prepare(kGetLockSql);
    ps.setString(1, database);
    ResultSetPtr rs(ps.executeQuery());
    if (!rs->next() || rs->isNull(1) || rs->getInt(1) != 1) {
      return Unavailable("timed out waiting for the schema migration lock");
    }
    return Status::Ok();
  });
  SR_RETURN_IF_ERROR(locked);

  Status migrated = internal::Guard(conn, "migrating the MySQL schema", [&] {
    conn.Execute(kCreateSchemaMigrations);
    std::int64_t current = 0;
    {
      ResultSetPtr rs(conn.Prepare(kSchemaMaxVersionSql).executeQuery());
      if (rs->next()) current = rs->getInt64(1);
    }
    if (current > internal::kSchemaVersion) return internal::SchemaTooNewError(current);
    for (const internal::Migration& migration : migrations) {
      sql::PreparedStatement& has = conn.Prepare(kSchemaHasVersionSql);
      has.setInt64(1, migration.version);
      ResultSetPtr rs(has.executeQuery());
      if (rs->next()) continue;
      rs.reset();
      // MySQL commits DDL implicitly; every step is IF NOT EXISTS, so a step
      // interrupted before it was recorded is re-run safely.
      for (std::string_view sql : migration.statements) conn.Execute(std::string(sql).c_str());
      sql::PreparedStatement& record = conn.Prepare(kSchemaRecordVersionSql);
      record.setInt64(1, migration.version);
      record.setInt64(2, clock.NowMillis());
      record.executeUpdate();
    }
    return Status::Ok();
  });

  Status released = internal::Guard(conn, "releasing the migration lock", [&] {
    sql::PreparedStatement& ps = conn.Prepare(kReleaseLockSql);
    ps.setString(1, database);
    ResultSetPtr rs(ps.executeQuery());
    return Status::Ok();
  });
  SR_RETURN_IF_ERROR(migrated);
  return released;
}

class MysqlCredentialStore final : public CredentialStore {
 public:
  MysqlCredentialStore(internal::MysqlConnectParams params, const MysqlStoreOptions& options,
                       const Clock& clock)
      : clock_(clock),
        max_attempts_(options.max_attempts),
        pool_(std::move(params), options.pool_size,
              std::chrono::milliseconds(options.checkout_timeout_ms)) {}

  MysqlPool& pool() { return pool_; }

  Result<model::Identity> CreateIdentity(const model::Identity& identity) override {
    model::Identity row = identity;
    row.created_at = clock_.NowMillis();
    Status status = Write("creating identity", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kInsertIdentitySql);
      Binder b{ps};
      internal::BindIdentityInsert(b, row);
      ps.executeUpdate();
      ResultSetPtr rs(conn.Prepare(kLastInsertIdSql).executeQuery());
      if (!rs->next()) return InternalError("creating identity: no insert id");
      row.id = rs->getInt64(1);
      return Status::Ok();
    });
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("an identity with this name already exists", "identity_exists");
    }
    SR_RETURN_IF_ERROR(status);
    return row;
  }

  Result<model::Identity> GetIdentity(std::int64_t id) override {
    std::optional<model::Identity> out;
    SR_RETURN_IF_ERROR(Read("reading identity", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kGetIdentitySql);
      ps.setInt64(1, id);
      ResultSetPtr rs(ps.executeQuery());
      if (rs->next()) out = internal::DecodeIdentity(Row{*rs});
      return Status::Ok();
    }));
    if (!out) return NotFoundError("identity not found");
    return std::move(*out);
  }

  Result<model::Identity> GetIdentityByName(std::string_view name) override {
    std::optional<model::Identity> out;
    SR_RETURN_IF_ERROR(Read("reading identity", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kGetIdentityByNameSql);
      Binder{ps}.BindText(1, name);
      ResultSetPtr rs(ps.executeQuery());
      if (rs->next()) out = internal::DecodeIdentity(Row{*rs});
      return Status::Ok();
    }));
    if (!out) return NotFoundError("identity not found");
    return std::move(*out);
  }

  Result<std::vector<model::Identity>> ListIdentities() override {
    std::vector<model::Identity> out;
    SR_RETURN_IF_ERROR(Read("listing identities", [&](MysqlConnection& conn) {
      out.clear();
      ResultSetPtr rs(conn.Prepare(kListIdentitiesSql).executeQuery());
      while (rs->next()) out.push_back(internal::DecodeIdentity(Row{*rs}));
      return Status::Ok();
    }));
    return out;
  }

  Status DeleteIdentity(std::string_view name) override {
    int deleted = 0;
    SR_RETURN_IF_ERROR(Write("deleting identity", [&](MysqlConnection& conn) {
      // One statement, one implicit transaction; ON DELETE CASCADE removes
      // the identity's API keys and credentials with it.
      sql::PreparedStatement& ps = conn.Prepare(kDeleteIdentitySql);
      Binder{ps}.BindText(1, name);
      deleted = ps.executeUpdate();
      return Status::Ok();
    }));
    if (deleted == 0) return NotFoundError("identity not found");
    return Status::Ok();
  }

  Status CreateApiKey(const model::ApiKeyRecord& key) override {
    Status status = Write("creating API key", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kInsertApiKeySql);
      Binder b{ps};
      internal::BindApiKeyInsert(b, key);
      ps.executeUpdate();
      return Status::Ok();
    });
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("an API key with this id already exists", "api_key_exists");
    }
    if (status.code() == StatusCode::kNotFound) return NotFoundError("identity not found");
    return status;
  }

  Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) override {
    std::optional<model::ApiKeyRecord> out;
    SR_RETURN_IF_ERROR(Read("reading API key", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kGetApiKeySql);
      Binder{ps}.BindText(1, key_id);
      ResultSetPtr rs(ps.executeQuery());
      if (rs->next()) out = internal::DecodeApiKey(Row{*rs});
      return Status::Ok();
    }));
    if (!out) return NotFoundError("API key not found");
    return std::move(*out);
  }

  Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) override {
    std::vector<model::ApiKeyRecord> out;
    SR_RETURN_IF_ERROR(Read("listing API keys", [&](MysqlConnection& conn) {
      out.clear();
      sql::PreparedStatement& ps = conn.Prepare(kListApiKeysSql);
      ps.setInt64(1, identity_id);
      ResultSetPtr rs(ps.executeQuery());
      while (rs->next()) out.push_back(internal::DecodeApiKey(Row{*rs}));
      return Status::Ok();
    }));
    return out;
  }

  Status RevokeApiKey(std::string_view key_id, UnixMillis now) override {
    int matched = 0;
    SR_RETURN_IF_ERROR(Write("revoking API key", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kRevokeApiKeySql);
      ps.setInt64(1, now);
      Binder{ps}.BindText(2, key_id);
      matched = ps.executeUpdate();  // CLIENT_FOUND_ROWS: matched, not changed
      return Status::Ok();
    }));
    if (matched == 0) return NotFoundError("API key not found");
    return Status::Ok();
  }

  Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                std::string_view name) override {
    std::optional<model::StoredCredential> out;
    SR_RETURN_IF_ERROR(Read("reading credential", [&](MysqlConnection& conn) {
      SR_ASSIGN_OR_RETURN(out, ReadCredential(conn, kGetCredentialSql, identity_id, name));
      return Status::Ok();
    }));
    if (!out) return NotFoundError("credential not found");
    return std::move(*out);
  }

  Result<KeyedCredential> GetCredentialWithKey(std::string_view key_id,
                                               std::string_view name) override {
    std::optional<KeyedCredential> out;
    SR_RETURN_IF_ERROR(Read("reading API key and credential", [&](MysqlConnection& conn) {
      out.reset();
      sql::PreparedStatement& ps = conn.Prepare(kGetCredentialWithKeySql);
      Binder b{ps};
      b.BindText(1, name);
      b.BindText(2, key_id);
      ResultSetPtr rs(ps.executeQuery());
      if (!rs->next()) return Status::Ok();
      out = internal::DecodeKeyedCredential(Row{*rs});
      return Status::Ok();
    }));
    if (!out) return NotFoundError("API key not found");
    return std::move(*out);
  }

  Result<std::vector<model::StoredCredential>> ListCredentials(std::int64_t identity_id,
                                                               std::string_view after_name,
                                                               int limit) override {
    if (limit <= 0) return InvalidArgumentError("list limit must be positive");
    std::vector<model::StoredCredential> out;
    SR_RETURN_IF_ERROR(Read("listing credentials", [&](MysqlConnection& conn) {
      out.clear();
      sql::PreparedStatement& ps = conn.Prepare(kListCredentialsSql);
      ps.setInt64(1, identity_id);
      Binder{ps}.BindText(2, after_name);
      ps.setInt64(3, limit);
      ResultSetPtr rs(ps.executeQuery());
      while (rs->next()) {
        SR_ASSIGN_OR_RETURN(model::StoredCredential c,
                            internal::DecodeCredential(Row{*rs}, /*with_envelope=*/false));
        out.push_back(std::move(c));
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<std::int64_t> CountCredentials(std::int64_t identity_id) override {
    std::int64_t count = 0;
    SR_RETURN_IF_ERROR(Read("counting credentials", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kCountCredentialsSql);
      ps.setInt64(1, identity_id);
      ResultSetPtr rs(ps.executeQuery());
      if (!rs->next()) return InternalError("counting credentials: no result");
      count = rs->getInt64(1);
      return Status::Ok();
    }));
    return count;
  }

  Result<MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                               const MutateFn& fn) override {
    MutateOutcome outcome;
    Status status = Transaction(
        "writing credential", /*retry_duplicate_key=*/true, [&](MysqlConnection& conn) -> Status {
          SR_ASSIGN_OR_RETURN(std::optional<model::StoredCredential> existing,
                              ReadCredential(conn, kLockCredentialSql, identity_id, name));
          const bool created = !existing.has_value();
          SR_ASSIGN_OR_RETURN(model::StoredCredential row, fn(existing));
          row.identity_id = identity_id;
          row.name = std::string(name);
          if (internal::CredentialTypeToDb(row.type).empty()) {
            return InvalidArgumentError("credential type is not valid", "invalid_type");
          }
          sql::PreparedStatement& ps =
              conn.Prepare(created ? kInsertCredentialSql : kUpdateCredentialSql);
          Binder b{ps};
          internal::BindCredentialWrite(b, row);
          ps.executeUpdate();
          outcome = MutateOutcome{std::move(row), created};
          return Status::Ok();
        });
    SR_RETURN_IF_ERROR(status);  // a missing identity is NOT_FOUND (foreign key, 1452)
    return outcome;
  }

  Status DeleteCredential(std::int64_t identity_id, std::string_view name) override {
    int deleted = 0;
    SR_RETURN_IF_ERROR(Write("deleting credential", [&](MysqlConnection& conn) {
      sql::PreparedStatement& ps = conn.Prepare(kDeleteCredentialSql);
      ps.setInt64(1, identity_id);
      Binder{ps}.BindText(2, name);
      deleted = ps.executeUpdate();
      return Status::Ok();
    }));
    if (deleted == 0) return NotFoundError("credential not found");
    return Status::Ok();
  }

  Status TouchLastUsed(const std::vector<Touch>& touches) override {
    if (touches.empty()) return Status::Ok();
    // Rows locked in key order, so two concurrent batches cannot deadlock
    // each other.
    std::vector<const Touch*> sorted;
    for (const Touch& t : touches) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](const Touch* a, const Touch* b) {
      return std::tie(a->identity_id, a->credential_id) <
             std::tie(b->identity_id, b->credential_id);
    });
    return Transaction("recording last use", /*retry_duplicate_key=*/false,
                       [&](MysqlConnection& conn) {
                         for (const Touch* touch : sorted) {
                           sql::PreparedStatement& ps = conn.Prepare(kTouchCredentialSql);
                           ps.setInt64(1, touch->at);
                           ps.setInt64(2, touch->identity_id);
                           Binder{ps}.BindText(3, touch->credential_id);
                           ps.executeUpdate();
                         }
                         return Status::Ok();
                       });
  }

  Status Ping() override {
    return Read("pinging database", [&](MysqlConnection& conn) {
      ResultSetPtr rs(conn.Prepare(kPingSql).executeQuery());
      if (!rs->next()) return InternalError("pinging database: no result");
      return Status::Ok();
    });
  }

 private:
  // Runs a read. A session taken from the pool may have died while idle (a
  // server restart): on a connection error the read is retried once on a new
  // session. Reads have no effects, so the retry is always safe.
  template <typename Body>
  Status Read(std::string_view what, Body&& body) {
    for (int attempt = 0;; ++attempt) {
      SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, pool_.Acquire(/*fresh=*/attempt > 0));
      Status status = internal::Guard(*lease, what, [&] { return body(*lease); });
      if (status.ok() || attempt > 0 || !lease.reused() || !lease->broken() ||
          status.code() != StatusCode::kUnavailable) {
        return status;
      }
    }
  }

  // Runs a single-statement write (autocommit), retried on lock conflicts
  // (the statement was rolled back) but never after a connection error.
  template <typename Body>
  Status Write(std::string_view what, Body&& body) {
    return Retrying(what, /*retry_duplicate_key=*/false,
                    [&](MysqlConnection& conn) { return body(conn); });
  }

  // Runs `body` inside START TRANSACTION ... COMMIT; anything but OK rolls
  // back. Retried on deadlock and lock wait timeout, and on a duplicate key
  // if `retry_duplicate_key` (an insert that lost a race with another).
  template <typename Body>
  Status Transaction(std::string_view what, bool retry_duplicate_key, Body&& body) {
    return Retrying(what, retry_duplicate_key, [&](MysqlConnection& conn) -> Status {
      conn.Execute("START TRANSACTION");
      Status status = body(conn);
      if (!status.ok()) return status;
      conn.Execute("COMMIT");
      return Status::Ok();
    });
  }

  template <typename Body>
  Status Retrying(std::string_view what, bool retry_duplicate_key, Body&& body) {
    const int attempts = std::max(1, max_attempts_);
    for (int attempt = 0; attempt < attempts; ++attempt) {
      SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, pool_.Acquire());
      Status status = internal::Guard(*lease, what, [&] { return body(*lease); });
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

  static Result<std::optional<model::StoredCredential>> ReadCredential(MysqlConnection& conn,
                                                                       const char* sql,
                                                                       std::int64_t identity_id,
                                                                       std::string_view name) {
    sql::PreparedStatement& ps = conn.Prepare(sql);
    ps.setInt64(1, identity_id);
    Binder{ps}.BindText(2, name);
    ResultSetPtr rs(ps.executeQuery());
    if (!rs->next()) return std::optional<model::StoredCredential>();
    SR_ASSIGN_OR_RETURN(model::StoredCredential c,
                        internal::DecodeCredential(Row{*rs}, /*with_envelope=*/true));
    return std::optional<model::StoredCredential>(std::move(c));
  }

  const Clock& clock_;
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
  auto store = std::make_unique<MysqlCredentialStore>(std::move(params), options, clock);
  {
    SR_ASSIGN_OR_RETURN(MysqlPool::Lease lease, store->pool().Acquire());
    SR_RETURN_IF_ERROR(Migrate(*lease, options.database, clock));
  }
  return std::unique_ptr<CredentialStore>(std::move(store));
}

}  // namespace strongroom::store
