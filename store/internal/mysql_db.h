// Connector/C++ 1.1 adapter for the MySQL store: connections, a bounded pool,
// and the one place where sql::SQLException becomes a Status.
//
// Connector/C++ reports every failure by throwing; nothing thrown here may
// leave store/. All driver calls run inside Guard(), which maps the exception
// to a Status and marks the connection broken when the error means the
// session is gone (server restart, network, timeout). A broken connection is
// destroyed when its lease ends, and the pool opens a fresh one on a later
// checkout: the store heals itself once the server is back.
//
// Status messages carry the MySQL error number and, for client-side errors
// only (2000-2999: connect refused, lost connection, ...), the driver's text.
// Server error texts can quote row values ("Duplicate entry '...'"), so they
// are never copied. No message contains the password.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <cppconn/exception.h>

#include "base/result.h"
#include "base/secret.h"
#include "store/internal/migrations.h"

namespace sql {
class Connection;
class PreparedStatement;
class ResultSet;
class Statement;
}  // namespace sql

namespace strongroom::store::internal {

// The MySQL dialect list: versions 1..kSchemaVersion in order (migrations.h).
const std::vector<Migration>& MysqlMigrations();

// MySQL error numbers the store reacts to.
inline constexpr int kErDupEntry = 1062;
inline constexpr int kErNoReferencedRow = 1452;  // foreign key: parent missing
inline constexpr int kErLockWaitTimeout = 1205;
inline constexpr int kErLockDeadlock = 1213;  // also Galera's certification conflict (40001)
// ER_UNKNOWN_COM_ERROR: what a Galera node that is not (or no longer) part of
// the primary component answers ("WSREP has not yet prepared node for
// application use"). Nothing ran; the session must move to another node.
inline constexpr int kErWsrepNotReady = 1047;

// The servers of a store URL: "tcp://h1:3306,tcp://h2:3306" -> {"tcp://h1:3306",
// "tcp://h2:3306"} (spaces around commas dropped). Empty entries are kept
// (as "") so that callers can reject them.
std::vector<std::string> SplitServerList(std::string_view url);

// True for errors after which the session cannot be trusted (lost, refused,
// killed, server shutting down, access denied on connect, Galera node not ready).
bool IsConnectionError(int mysql_errno);

struct MysqlConnectParams {
  std::string url;                 // as configured, for messages
  std::vector<std::string> hosts;  // SplitServerList(url), at least one
  std::string user;
  SecretString password;
  std::string database;
  int connect_timeout_s = 1;
  int read_timeout_s = 10;
  int write_timeout_s = 10;
  int lock_wait_timeout_s = 5;
  // Galera: every session reads with wsrep_sync_wait = 1, and a node whose
  // wsrep_ready is not ON is refused at connect (the next host is tried).
  bool galera = false;
};

// One session, configured for the store (READ COMMITTED, strict sql_mode,
// utf8mb4, UTC, found-rows semantics for UPDATE counts), with its prepared
// statements cached by SQL text. Not thread-safe: used by one lease at a time.
class MysqlConnection final {
 public:
  // Connects to `host` (one entry of params.hosts). UNAVAILABLE
  // "store_unavailable" when the server cannot be reached, refuses the login
  // or (galera) is not a ready cluster node.
  static Result<std::unique_ptr<MysqlConnection>> Open(const MysqlConnectParams& params,
                                                       const std::string& host);
  ~MysqlConnection();
  MysqlConnection(const MysqlConnection&) = delete;
  MysqlConnection& operator=(const MysqlConnection&) = delete;

  // The cached statement for `sql` (a string literal: the pointer is the key),
  // prepared on first use. Throws sql::SQLException; call inside Guard().
  sql::PreparedStatement& Prepare(const char* sql);
  // Runs a statement without parameters (START TRANSACTION, COMMIT, ...).
  // Throws sql::SQLException; call inside Guard().
  void Execute(const char* sql);

  bool broken() const { return broken_; }
  void MarkBroken() { broken_ = true; }
  // The MySQL error number of the last failure seen by Guard(), 0 if none.
  int last_errno() const { return last_errno_; }
  void set_last_errno(int e) { last_errno_ = e; }

  std::uint64_t epoch = 0;  // pool generation it was opened in
  std::chrono::steady_clock::time_point last_used;

 private:
  explicit MysqlConnection(std::unique_ptr<sql::Connection> conn);

  std::unique_ptr<sql::Connection> conn_;  // declared first: destroyed last
  std::unique_ptr<sql::Statement> plain_;
  std::map<const char*, std::unique_ptr<sql::PreparedStatement>> statements_;
  bool broken_ = false;
  int last_errno_ = 0;
};

// Maps a caught exception to a Status ("what" names the operation) and marks
// `conn` broken if the error is a connection error.
Status SqlErrorStatus(const sql::SQLException& e, std::string_view what, MysqlConnection* conn);

// Runs `body` (returning Status, may throw) and converts any exception.
template <typename Body>
Status Guard(MysqlConnection& conn, std::string_view what, Body&& body) noexcept {
  conn.set_last_errno(0);
  try {
    return body();
  } catch (const sql::SQLException& e) {
    return SqlErrorStatus(e, what, &conn);
  } catch (const std::exception&) {
    conn.MarkBroken();
    return InternalError(std::string(what) + ": unexpected driver error");
  } catch (...) {
    conn.MarkBroken();
    return InternalError(std::string(what) + ": unexpected driver error");
  }
}

// A bounded pool of MysqlConnection. Connections open lazily up to `size`,
// each to the first of params.hosts that answers, trying them in order from
// the host the last successful connect reached (failover without restart);
// Acquire waits up to `timeout` for one to be free. A connection that broke
// is destroyed on release and makes every idle connection opened before it
// stale (after a server restart they are all dead); connections idle for a
// while are pinged before reuse.
//
// Thread safety: all methods may be called concurrently.
class MysqlPool final {
 public:
  class Lease {
   public:
    Lease(MysqlPool* pool, std::unique_ptr<MysqlConnection> conn, bool reused)
        : pool_(pool), conn_(std::move(conn)), reused_(reused) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (conn_) pool_->Release(std::move(conn_));
    }
    MysqlConnection& operator*() { return *conn_; }
    MysqlConnection* operator->() { return conn_.get(); }
    // True if the connection was idle in the pool (it may have died since).
    bool reused() const { return reused_; }

   private:
    MysqlPool* pool_;
    std::unique_ptr<MysqlConnection> conn_;
    bool reused_;
  };

  MysqlPool(MysqlConnectParams params, int size, std::chrono::milliseconds timeout);
  MysqlPool(const MysqlPool&) = delete;
  MysqlPool& operator=(const MysqlPool&) = delete;

  // UNAVAILABLE "store_unavailable" if no connection is free within the
  // timeout or a new one cannot be opened. `fresh`: never hand out an idle one.
  Result<Lease> Acquire(bool fresh = false);

 private:
  void Release(std::unique_ptr<MysqlConnection> conn);
  // Opens a connection to the first host that answers, from preferred_ on.
  Result<std::unique_ptr<MysqlConnection>> OpenConnection();

  const MysqlConnectParams params_;
  std::atomic<std::size_t> preferred_{0};  // index in params_.hosts
  const int size_;
  const std::chrono::milliseconds timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<MysqlConnection>> idle_;  // guarded by mu_
  int open_ = 0;                                        // guarded by mu_: idle + leased
  std::uint64_t epoch_ = 0;                             // guarded by mu_
};

}  // namespace strongroom::store::internal
