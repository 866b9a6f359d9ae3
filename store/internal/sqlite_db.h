// Thin RAII layer over the SQLite C API for sqlite_store.cc. Statement is
// the SqlStatement of sql_session.h.
//
// Connection: one sqlite3 handle plus its cache of persistent prepared
// statements. Not thread-safe: a connection is used by one thread at a time
// (the store's writer mutex or a ConnectionPool lease guarantees it), so
// handles are opened with SQLITE_OPEN_NOMUTEX.
//
// Error mapping (one place, SqliteError): I/O errors, a full disk, an
// unopenable or non-database file and out-of-memory are UNAVAILABLE
// "store_unavailable"; BUSY/LOCKED after the busy timeout is ABORTED; a
// corrupt database is DATA_LOSS; constraint failures are ALREADY_EXISTS
// (unique/primary key) or NOT_FOUND (foreign key), which callers refine;
// anything else is INTERNAL. Messages carry SQLite's own text, which names
// tables and columns but never bound values, so no blob or name leaks.
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/c_handle.h"
#include "base/result.h"

namespace strongroom::store::internal {

template <auto FreeFn>
using SqliteFree = FreeWith<FreeFn>;
using SqliteDbPtr = std::unique_ptr<sqlite3, SqliteFree<&::sqlite3_close_v2>>;
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, SqliteFree<&::sqlite3_finalize>>;

// Maps an SQLite result code (extended codes enabled) to a Status; `what`
// says what was being done ("reading credential"). `db` may be null.
Status SqliteError(int rc, sqlite3* db, std::string_view what);

// A borrowed, cached prepared statement. Resets it and clears its bindings on
// destruction, so the next user starts clean. Text and blobs are bound without
// copying (SQLITE_STATIC): bound data must outlive this object.
class Statement final {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept
      : stmt_(std::exchange(other.stmt_, nullptr)),
        bind_rc_(other.bind_rc_),
        last_rc_(other.last_rc_) {}
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Binder (see rows.h); a bind failure is reported by the next Step().
  void BindInt64(int idx, std::int64_t v);
  void BindOptInt64(int idx, std::optional<std::int64_t> v);
  void BindText(int idx, std::string_view v);
  void BindOptText(int idx, const std::optional<std::string>& v);  // NULL for nullopt
  void BindBlob(int idx, const std::vector<std::uint8_t>& v);

  // true: a row is available; false: done. The raw code of the last step is
  // kept in last_rc() for callers that refine constraint errors.
  Result<bool> Step(std::string_view what);
  // Steps once and expects no row (INSERT/UPDATE/DELETE); the rows it
  // changed (for an UPDATE: every row its WHERE matched).
  Result<std::int64_t> Execute(std::string_view what);
  int last_rc() const { return last_rc_; }

  // Row (see rows.h), valid after Step() returned true.
  std::int64_t Int64(int col) const;
  std::optional<std::int64_t> OptInt64(int col) const;
  std::string Text(int col) const;
  std::optional<std::string> OptText(int col) const;  // nullopt for NULL
  std::vector<std::uint8_t> Blob(int col) const;

 private:
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
  int last_rc_ = SQLITE_OK;
};

class Connection final {
 public:
  // Opens `path` with `flags` (SQLITE_OPEN_* ; NOMUTEX and EXRESCODE are
  // added), sets the busy timeout and reserves `statement_slots` cache slots.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, int flags,
                                                  int busy_timeout_ms, std::size_t statement_slots);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  sqlite3* db() const { return db_.get(); }

  // The cached statement in `slot`, prepared from `sql` on first use
  // (SQLITE_PREPARE_PERSISTENT). A slot must always be used with the same SQL.
  Result<Statement> Prepare(std::size_t slot, const char* sql);
  // Runs SQL text once (DDL, pragmas); no parameters, rows ignored.
  Status Exec(const char* sql, std::string_view what);
  // Runs a pragma that answers one text value (journal_mode) and returns it.
  Result<std::string> QueryText(const char* sql, std::string_view what);

  Status Begin();  // BEGIN IMMEDIATE: takes the write lock now, not at first write
  Status Commit();
  // ROLLBACK if a transaction is open (SQLite may already have rolled back
  // after an I/O or full-disk error); best effort, for cleanup paths.
  void RollbackIfActive() noexcept;

 private:
  explicit Connection(SqliteDbPtr db, std::size_t statement_slots);

  // Statements are finalized before the handle is closed (declaration order).
  SqliteDbPtr db_;
  std::vector<SqliteStmtPtr> cache_;
  SqliteStmtPtr begin_, commit_, rollback_;
};

// A write transaction that rolls back unless committed (absl::Cleanup style).
class Transaction final {
 public:
  [[nodiscard]] static Result<Transaction> Begin(Connection& conn);
  Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() {
    if (conn_ != nullptr) conn_->RollbackIfActive();
  }
  // Commits; on failure the transaction is rolled back.
  Status Commit();

 private:
  explicit Transaction(Connection& conn) : conn_(&conn) {}
  Connection* conn_;
};

// A fixed set of read connections handed out one per caller; Acquire() blocks
// while all are leased. Thread-safe. Must outlive every Lease.
class ConnectionPool final {
 public:
  explicit ConnectionPool(std::vector<std::unique_ptr<Connection>> connections)
      : free_(std::move(connections)) {}

  class Lease final {
   public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(std::move(conn_));
    }
    Connection& operator*() const { return *conn_; }
    Connection* operator->() const { return conn_.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn)
        : pool_(pool), conn_(std::move(conn)) {}
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  Lease Acquire();

 private:
  void Release(std::unique_ptr<Connection> conn);

  std::mutex mu_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> free_;  // guarded by mu_
};

}  // namespace strongroom::store::internal
