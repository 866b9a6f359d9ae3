#include "store/internal/sqlite_db.h"

#include <string>

namespace strongroom::store::internal {
namespace {

// sqlite3_bind_* treat a null data pointer as SQL NULL; an empty value must
// stay an empty value.
constexpr char kEmpty[] = "";

}  // namespace

Status SqliteError(int rc, sqlite3* db, std::string_view what) {
  std::string message(what);
  message += ": ";
  // sqlite3_errmsg describes the most recent failure on `db`; it matches `rc`
  // when called right after the failing call, which is how this is used.
  message += db != nullptr ? ::sqlite3_errmsg(db) : ::sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return AbortedError(std::move(message));
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOTADB:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_AUTH:
      return UnavailableError(std::move(message), "store_unavailable");
    case SQLITE_CORRUPT:
      return DataLossError(std::move(message));
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return NotFoundError(std::move(message));
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return AlreadyExistsError(std::move(message));
      }
      return InternalError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

// --- Statement ---

Statement::~Statement() {
  if (stmt_ != nullptr) {
    ::sqlite3_reset(stmt_);
    ::sqlite3_clear_bindings(stmt_);
  }
}

void Statement::BindInt64(int idx, std::int64_t v) {
  int rc = ::sqlite3_bind_int64(stmt_, idx, v);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindOptInt64(int idx, std::optional<std::int64_t> v) {
  int rc = v ? ::sqlite3_bind_int64(stmt_, idx, *v) : ::sqlite3_bind_null(stmt_, idx);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindText(int idx, std::string_view v) {
  int rc = ::sqlite3_bind_text64(stmt_, idx, v.empty() ? kEmpty : v.data(), v.size(), SQLITE_STATIC,
                                 SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindOptText(int idx, const std::optional<std::string>& v) {
  if (v) {
    BindText(idx, *v);
    return;
  }
  int rc = ::sqlite3_bind_null(stmt_, idx);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindBlob(int idx, const std::vector<std::uint8_t>& v) {
  int rc = ::sqlite3_bind_blob64(
      stmt_, idx, v.empty() ? static_cast<const void*>(kEmpty) : v.data(), v.size(), SQLITE_STATIC);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

Result<bool> Statement::Step(std::string_view what) {
  if (bind_rc_ != SQLITE_OK) {
    last_rc_ = bind_rc_;
    return SqliteError(bind_rc_, nullptr, what);
  }
  last_rc_ = ::sqlite3_step(stmt_);
  if (last_rc_ == SQLITE_ROW) return true;
  if (last_rc_ == SQLITE_DONE) return false;
  return SqliteError(last_rc_, ::sqlite3_db_handle(stmt_), what);
}

Result<std::int64_t> Statement::Execute(std::string_view what) {
  SR_ASSIGN_OR_RETURN(bool row, Step(what));
  if (row) return InternalError(std::string(what) + ": statement unexpectedly returned a row");
  return static_cast<std::int64_t>(::sqlite3_changes(::sqlite3_db_handle(stmt_)));
}

std::int64_t Statement::Int64(int col) const { return ::sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Statement::OptInt64(int col) const {
  if (::sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return ::sqlite3_column_int64(stmt_, col);
}

std::string Statement::Text(int col) const {
  const auto* p = reinterpret_cast<const char*>(::sqlite3_column_text(stmt_, col));
  int n = ::sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::string() : std::string(p, static_cast<std::size_t>(n));
}

std::optional<std::string> Statement::OptText(int col) const {
  if (::sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return Text(col);
}

std::vector<std::uint8_t> Statement::Blob(int col) const {
  const auto* p = static_cast<const std::uint8_t*>(::sqlite3_column_blob(stmt_, col));
  int n = ::sqlite3_column_bytes(stmt_, col);
  return p == nullptr ? std::vector<std::uint8_t>() : std::vector<std::uint8_t>(p, p + n);
}

// --- Connection ---

Connection::Connection(SqliteDbPtr db, std::size_t statement_slots)
    : db_(std::move(db)), cache_(statement_slots) {}

Connection::~Connection() = default;

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, int flags,
                                                     int busy_timeout_ms,
                                                     std::size_t statement_slots) {
  sqlite3* raw = nullptr;
  int rc = ::sqlite3_open_v2(path.c_str(), &raw,
                             flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  SqliteDbPtr db(raw);  // owns the handle even when opening failed
  if (rc != SQLITE_OK) {
    Status cause = SqliteError(rc, db.get(), "opening SQLite database " + path);
    // Whatever the reason, a database that cannot be opened is unavailable.
    return UnavailableError(cause.message(), "store_unavailable");
  }
  ::sqlite3_extended_result_codes(db.get(), 1);
  rc = ::sqlite3_busy_timeout(db.get(), busy_timeout_ms);
  if (rc != SQLITE_OK) return SqliteError(rc, db.get(), "setting busy timeout");
  std::unique_ptr<Connection> conn(new Connection(std::move(db), statement_slots));

  struct Fixed {
    SqliteStmtPtr* slot;
    const char* sql;
  };
  for (const Fixed& f : {Fixed{&conn->begin_, "BEGIN IMMEDIATE"}, Fixed{&conn->commit_, "COMMIT"},
                         Fixed{&conn->rollback_, "ROLLBACK"}}) {
    sqlite3_stmt* stmt = nullptr;
    rc = ::sqlite3_prepare_v3(conn->db(), f.sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    f.slot->reset(stmt);
    if (rc != SQLITE_OK) return SqliteError(rc, conn->db(), "preparing transaction control");
  }
  return conn;
}

Result<Statement> Connection::Prepare(std::size_t slot, const char* sql) {
  SqliteStmtPtr& cached = cache_.at(slot);
  if (cached == nullptr) {
    sqlite3_stmt* stmt = nullptr;
    int rc = ::sqlite3_prepare_v3(db(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    cached.reset(stmt);
    if (rc != SQLITE_OK) {
      cached.reset();
      return SqliteError(rc, db(), "preparing statement");
    }
  }
  return Statement(cached.get());
}

Status Connection::Exec(const char* sql, std::string_view what) {
  int rc = ::sqlite3_exec(db(), sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(rc, db(), what);
  return Status::Ok();
}

Result<std::string> Connection::QueryText(const char* sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = ::sqlite3_prepare_v2(db(), sql, -1, &raw, nullptr);
  SqliteStmtPtr stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(rc, db(), what);
  rc = ::sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) {
    if (rc == SQLITE_DONE) return InternalError(std::string(what) + ": no result");
    return SqliteError(rc, db(), what);
  }
  const auto* text = reinterpret_cast<const char*>(::sqlite3_column_text(stmt.get(), 0));
  return std::string(text == nullptr ? "" : text);
}

Status Connection::Begin() {
  int rc = ::sqlite3_step(begin_.get());
  ::sqlite3_reset(begin_.get());
  if (rc != SQLITE_DONE) return SqliteError(rc, db(), "beginning write transaction");
  return Status::Ok();
}

Status Connection::Commit() {
  int rc = ::sqlite3_step(commit_.get());
  ::sqlite3_reset(commit_.get());
  if (rc != SQLITE_DONE) return SqliteError(rc, db(), "committing");
  return Status::Ok();
}

void Connection::RollbackIfActive() noexcept {
  if (::sqlite3_get_autocommit(db()) != 0) return;  // nothing open
  ::sqlite3_step(rollback_.get());
  ::sqlite3_reset(rollback_.get());
}

// --- Transaction ---

Result<Transaction> Transaction::Begin(Connection& conn) {
  SR_RETURN_IF_ERROR(conn.Begin());
  return Transaction(conn);
}

Status Transaction::Commit() {
  Connection* conn = std::exchange(conn_, nullptr);
  Status status = conn->Commit();
  if (!status.ok()) conn->RollbackIfActive();
  return status;
}

// --- ConnectionPool ---

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  available_.wait(lock, [this] { return !free_.empty(); });
  std::unique_ptr<Connection> conn = std::move(free_.back());
  free_.pop_back();
  return Lease(this, std::move(conn));
}

void ConnectionPool::Release(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(conn));
  }
  available_.notify_one();
}

}  // namespace strongroom::store::internal
