// The statement/session adapter the one SQL credential store (sql_store.h) is
// written against, and the table of statements it runs.
//
// A backend (SQLite, MySQL) supplies a Session: one connection in use, inside
// or outside a transaction, that prepares the statements named by SqlId
// (cached per connection, so a statement is parsed once per connection) and
// runs DDL. A Statement is a prepared statement borrowed from its session: it
// binds parameters (1-based, as in both C APIs), steps through rows and reads
// columns (0-based) - exactly the Binder and Row shapes of rows.h - or
// executes and reports the rows it affected (matched, for an UPDATE).
//
// Errors come back as canonical Status codes, mapped in one place per backend:
// NOT_FOUND (a foreign key's parent is missing), ALREADY_EXISTS (a unique
// key), UNAVAILABLE "store_unavailable" (database unreachable), ABORTED
// (lock conflict), DATA_LOSS (corruption), INTERNAL (anything else). A
// statement's error is returned from Step/Execute; column reads cannot fail
// (the MySQL driver may throw from them, which the backend's run wrapper
// catches).
//
// The interface is compile-time (concepts, no virtual calls): the store is a
// template over the backend, so binding and decoding a row costs what it
// costs when written directly against the C API.
//
// The Backend a SqlCredentialStore (sql_store.h) is instantiated with:
// (sqlite_store.cc, mysql_store.cc)
//
//   class Backend {
//    public:
//     using Session = ...;  // satisfies SqlSession
//     // Runs a read. `body(Session&) -> Status` may run more than once
//     // (a retry on a fresh connection), so it resets what it fills.
//     template <typename Body> Status Read(std::string_view what, Body&& body);
//     // Runs single-statement writes (autocommit); `body` may be re-run after
//     // a lock conflict rolled it back.
//     template <typename Body> Status Write(std::string_view what, Body&& body);
//     // Runs `body` in one write transaction; re-run like Write.
//     template <typename Body> Status InTransaction(std::string_view what, Body&& body);
//     // Runs `apply` in a durable write transaction in which the credential
//     // row `apply` reads with SqlId::kLockCredential stays locked until the
//     // commit; `apply` may run more than once.
//     Result<MutateOutcome> Mutate(MutationRef<Session> apply);
//     // After an identity delete: removes deleted rows' bytes from the
//     // database files where the backend can (SQLite: WAL checkpoint).
//     Status ShredDeleted();
//   };
//
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/internal/audit_rows.h"
#include "store/internal/rows.h"

namespace strongroom::store::internal {

// Every statement the SQL store runs. A backend's SqlTable maps each to text.
enum class SqlId : std::uint8_t {
  kSchemaMaxVersion,
  kSchemaHasVersion,
  kSchemaRecordVersion,
  kInsertIdentity,
  kLastInsertId,
  kGetIdentity,
  kGetIdentityByName,
  kListIdentities,
  kDeleteIdentity,
  kInsertApiKey,
  kGetApiKey,
  kListApiKeys,
  kRevokeApiKey,
  kGetCredential,
  kLockCredential,
  kListCredentials,
  kCountCredentials,
  kInsertCredential,
  kUpdateCredential,
  kDeleteCredential,
  kTouchCredential,
  kListLegacyAad,
  kPing,
  kAuditHead,
  kLastAuditEvent,
  kInsertAuditEvent,
  kListAuditEvents,
  kInsertAuditCheckpoint,
  kListAuditCheckpoints,
  // Key state (SPEC 11): store/internal/sql_key_state.h.
  kIdentityKekVersion,
  kListMasterKeys,
  kCountMasterKeys,
  kInsertMasterKey,
  kLabelUnlabeledKeks,
  kMasterKeyState,
  kDemoteActiveMasterKeys,
  kActivateMasterKey,
  kRetireMasterKey,
  kCountKeksUnder,
  kUpdateIdentityKeks,
  kFinishKekRotation,
  kPreviousKekVersion,
  kCount,  // not a statement
};
inline constexpr std::size_t kSqlIdCount = static_cast<std::size_t>(SqlId::kCount);

// SQL text by SqlId; entries are string literals, so a pointer identifies its
// statement for the whole run.
using SqlTable = std::array<const char*, kSqlIdCount>;

// What the dialects word differently.
struct DialectSql {
  // The row a write transaction reads before it writes (parameters:
  // identity_id, name; columns as SR_STORE_CREDENTIAL_COLUMNS), locking it
  // where the backend's transaction does not already hold the write lock.
  const char* lock_credential;
  // last_used_at = max(old, ?1) WHERE identity_id = ?2 AND credential_id = ?3.
  const char* touch_credential;
  // One row, one column: the id the last INSERT of this session assigned.
  const char* last_insert_id;
  // A cheap statement that proves the database answers (one row).
  const char* ping;
  // (seq, hash) of the newest audit event of server ?1, locked until the
  // transaction ends where the transaction does not already hold the write lock.
  const char* audit_head;
  // The KEK version of identity ?1, read so that the identity row cannot
  // change before the transaction ends (MySQL: a shared lock).
  const char* identity_kek_version;
};

// The full table: the SQL both dialects share (rows.h) plus `dialect`.
constexpr SqlTable MakeSqlTable(const DialectSql& dialect) {
  SqlTable t{};
  auto set = [&t](SqlId id, const char* sql) { t[static_cast<std::size_t>(id)] = sql; };
  set(SqlId::kSchemaMaxVersion, kSchemaMaxVersionSql);
  set(SqlId::kSchemaHasVersion, kSchemaHasVersionSql);
  set(SqlId::kSchemaRecordVersion, kSchemaRecordVersionSql);
  set(SqlId::kInsertIdentity, SR_STORE_INSERT_IDENTITY);
  set(SqlId::kLastInsertId, dialect.last_insert_id);
  set(SqlId::kGetIdentity, kGetIdentitySql);
  set(SqlId::kGetIdentityByName, kGetIdentityByNameSql);
  set(SqlId::kListIdentities, kListIdentitiesSql);
  set(SqlId::kDeleteIdentity, kDeleteIdentitySql);
  set(SqlId::kInsertApiKey, SR_STORE_INSERT_API_KEY);
  set(SqlId::kGetApiKey, kGetApiKeySql);
  set(SqlId::kListApiKeys, kListApiKeysSql);
  set(SqlId::kRevokeApiKey, kRevokeApiKeySql);
  set(SqlId::kGetCredential, kGetCredentialSql);
  set(SqlId::kLockCredential, dialect.lock_credential);
  set(SqlId::kListCredentials, kListCredentialsSql);
  set(SqlId::kCountCredentials, kCountCredentialsSql);
  set(SqlId::kInsertCredential, SR_STORE_INSERT_CREDENTIAL);
  set(SqlId::kUpdateCredential, SR_STORE_UPDATE_CREDENTIAL);
  set(SqlId::kDeleteCredential, kDeleteCredentialSql);
  set(SqlId::kTouchCredential, dialect.touch_credential);
  set(SqlId::kListLegacyAad, kListLegacyAadSql);
  set(SqlId::kPing, dialect.ping);
  set(SqlId::kAuditHead, dialect.audit_head);
  set(SqlId::kLastAuditEvent, kLastAuditEventSql);
  set(SqlId::kInsertAuditEvent, kInsertAuditEventSql);
  set(SqlId::kListAuditEvents, kListAuditEventsSql);
  set(SqlId::kInsertAuditCheckpoint, kInsertAuditCheckpointSql);
  set(SqlId::kListAuditCheckpoints, kListAuditCheckpointsSql);
  set(SqlId::kIdentityKekVersion, dialect.identity_kek_version);
  set(SqlId::kListMasterKeys, kListMasterKeysSql);
  set(SqlId::kCountMasterKeys, kCountMasterKeysSql);
  set(SqlId::kInsertMasterKey, kInsertMasterKeySql);
  set(SqlId::kLabelUnlabeledKeks, kLabelUnlabeledKeksSql);
  set(SqlId::kMasterKeyState, kMasterKeyStateSql);
  set(SqlId::kDemoteActiveMasterKeys, kDemoteActiveMasterKeysSql);
  set(SqlId::kActivateMasterKey, kActivateMasterKeySql);
  set(SqlId::kRetireMasterKey, kRetireMasterKeySql);
  set(SqlId::kCountKeksUnder, kCountKeksUnderSql);
  set(SqlId::kUpdateIdentityKeks, kUpdateIdentityKeksSql);
  set(SqlId::kFinishKekRotation, kFinishKekRotationSql);
  set(SqlId::kPreviousKekVersion, kPreviousKekVersionSql);
  return t;
}

constexpr const char* SqlText(const SqlTable& table, SqlId id) {
  return table[static_cast<std::size_t>(id)];
}

// A prepared statement in use (see the file comment).
template <typename S>
concept SqlStatement = std::move_constructible<S> &&
    requires(S& s, const S& row, int i, std::int64_t v, std::optional<std::int64_t> opt,
             std::string_view text, const std::vector<std::uint8_t>& blob) {
  s.BindInt64(i, v);
  s.BindOptInt64(i, opt);
  s.BindText(i, text);
  s.BindBlob(i, blob);
  { s.Step(text) } -> std::same_as<Result<bool>>;             // true: a row is available
  { s.Execute(text) } -> std::same_as<Result<std::int64_t>>;  // rows affected
  { row.Int64(i) } -> std::same_as<std::int64_t>;
  { row.OptInt64(i) } -> std::same_as<std::optional<std::int64_t>>;
  { row.Text(i) } -> std::same_as<std::string>;
  { row.Blob(i) } -> std::same_as<std::vector<std::uint8_t>>;
};

// A connection in use (see the file comment).
template <typename S>
concept SqlSession = SqlStatement<typename S::Statement> &&
    requires(S& s, SqlId id, const char* sql, std::string_view what) {
  { s.Prepare(id) } -> std::same_as<Result<typename S::Statement>>;
  // Runs parameterless SQL once (DDL); rows ignored.
  { s.Exec(sql, what) } -> std::same_as<Status>;
};

// Prepares `id`, lets `bind` set its parameters and executes it: rows affected.
template <SqlSession Session, typename Bind>
Result<std::int64_t> ExecuteStatement(Session& s, SqlId id, std::string_view what, Bind&& bind) {
  SR_ASSIGN_OR_RETURN(typename Session::Statement stmt, s.Prepare(id));
  bind(stmt);
  return stmt.Execute(what);
}

// The first column of the first row of `id` (parameter 1 = `arg`, if any).
template <SqlSession Session>
Result<std::optional<std::int64_t>> QueryInt64(Session& s, SqlId id, std::string_view what,
                                               std::optional<std::int64_t> arg = std::nullopt) {
  SR_ASSIGN_OR_RETURN(typename Session::Statement stmt, s.Prepare(id));
  if (arg) stmt.BindInt64(1, *arg);
  SR_ASSIGN_OR_RETURN(bool row, stmt.Step(what));
  if (!row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(stmt.Int64(0));
}

}  // namespace strongroom::store::internal
