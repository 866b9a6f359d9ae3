#include "store/internal/mysql_db.h"

#include <cppconn/connection.h>
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>

#include <utility>

namespace strongroom::store::internal {
namespace {

// Idle longer than this, a connection is pinged before reuse: it may have
// been cut by a server restart while nobody used it.
constexpr auto kPingIfIdleFor = std::chrono::milliseconds(500);

Status Unavailable(std::string message) {
  return UnavailableError(std::move(message), "store_unavailable");
}

sql::mysql::MySQL_Driver* Driver() {
  // get_driver_instance() initialises the client library; do it once.
  static sql::mysql::MySQL_Driver* driver = sql::mysql::get_mysql_driver_instance();
  return driver;
}

}  // namespace

bool IsConnectionError(int e) {
  // 2000-2999: client-side errors (CR_CONNECTION_ERROR 2002, CR_CONN_HOST_ERROR
  // 2003, CR_SERVER_GONE_ERROR 2006, CR_SERVER_LOST 2013, CR_SERVER_LOST_EXTENDED
  // 2055, ...). Server side: 1040 too many connections, 1045 access denied,
  // 1047 Galera node not ready, 1053 shutdown in progress, 1077/1078/1079/1080
  // shutdown, 1152/1156/1158-1161 aborted / network errors, 1927 connection
  // killed, 4031 idle disconnect (MySQL 8).
  if (e == 0) return true;  // the driver's own failures (closed connection, ...)
  if (e >= 2000 && e < 3000) return true;
  switch (e) {
    case 1040:
    case 1045:
    case 1053:
    case 1077:
    case 1078:
    case 1079:
    case 1080:
    case 1152:
    case 1153:
    case 1154:
    case 1155:
    case 1156:
    case 1157:
    case 1158:
    case 1159:
    case 1160:
    case 1161:
    case 1927:
    case kErWsrepNotReady:
    case 4031:
      return true;
    default:
      return false;
  }
}

std::vector<std::string> SplitServerList(std::string_view url) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t comma = url.find(',');
    std::string_view item = url.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    out.emplace_back(item);
    if (comma == std::string_view::npos) return out;
    url.remove_prefix(comma + 1);
  }
}

Status SqlErrorStatus(const sql::SQLException& e, std::string_view what, MysqlConnection* conn) {
  // Galera reports a certification conflict as SQLSTATE 40001 (with 1213).
  const int code = e.getSQLState() == "40001" ? kErLockDeadlock : e.getErrorCode();
  if (conn != nullptr) conn->set_last_errno(code == 0 ? -1 : code);
  std::string prefix = std::string(what) + ": MySQL error " + std::to_string(code);
  if (IsConnectionError(code)) {
    if (conn != nullptr) conn->MarkBroken();
    // Client errors and connect refusals quote no row data.
    return Unavailable(prefix + " (" + e.what() + ")");
  }
  switch (code) {
    case kErLockDeadlock:
    case kErLockWaitTimeout:
      return AbortedError(prefix + " (lock conflict)");
    case kErDupEntry:
      return AlreadyExistsError(prefix + " (duplicate key)");
    case kErNoReferencedRow:
      return NotFoundError(prefix + " (referenced identity missing)");
    default:
      // After an unexpected server error the session state (an open
      // transaction, say) is unknown: start afresh.
      if (conn != nullptr) conn->MarkBroken();
      return InternalError(prefix + " [" + e.getSQLState() + "]");
  }
}

MysqlConnection::MysqlConnection(std::unique_ptr<sql::Connection> conn) : conn_(std::move(conn)) {}

MysqlConnection::~MysqlConnection() {
  // Statements before their connection; a dead server must not throw here.
  try {
    statements_.clear();
    plain_.reset();
    if (conn_ && !broken_) conn_->close();
  } catch (...) {
  }
  try {
    conn_.reset();
  } catch (...) {
  }
}

Result<std::unique_ptr<MysqlConnection>> MysqlConnection::Open(const MysqlConnectParams& p,
                                                               const std::string& host) {
  try {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString(host);
    options["userName"] = sql::SQLString(p.user);
    options["password"] = sql::SQLString(p.password.c_str(), p.password.size());
    options["schema"] = sql::SQLString(p.database);
    options["OPT_CONNECT_TIMEOUT"] = p.connect_timeout_s;
    options["OPT_READ_TIMEOUT"] = p.read_timeout_s;
    options["OPT_WRITE_TIMEOUT"] = p.write_timeout_s;
    options["OPT_RECONNECT"] = false;     // a silent reconnect would lose the transaction
    options["CLIENT_FOUND_ROWS"] = true;  // UPDATE counts matched rows, not changed ones
    options["OPT_CHARSET_NAME"] = sql::SQLString("utf8mb4");
    std::unique_ptr<sql::Connection> raw(Driver()->connect(options));
    std::unique_ptr<MysqlConnection> conn(new MysqlConnection(std::move(raw)));
    conn->Execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    const std::string session =
        "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,NO_AUTO_VALUE_ON_ZERO',"
        " time_zone = '+00:00', innodb_lock_wait_timeout = " +
        std::to_string(p.lock_wait_timeout_s);
    std::unique_ptr<sql::Statement> stmt(conn->conn_->createStatement());
    stmt->execute(session);
    if (p.galera) {
      // Reads see every write the cluster acknowledged before they began.
      stmt->execute("SET SESSION wsrep_sync_wait = 1");
      std::unique_ptr<sql::ResultSet> ready(stmt->executeQuery("SHOW STATUS LIKE 'wsrep_ready'"));
      if (!ready->next() || ready->getString(2) != "ON") {
        return Unavailable("connecting to MySQL at " + host +
                           ": not a ready Galera node (wsrep_ready is not ON)");
      }
    }
    return conn;
  } catch (const sql::SQLException& e) {
    Status s = SqlErrorStatus(e, "connecting to MySQL at " + host, nullptr);
    if (s.code() == StatusCode::kUnavailable) return s;
    return Unavailable(s.message());
  } catch (const std::exception&) {
    return Unavailable("connecting to MySQL at " + host + ": unexpected driver error");
  }
}

sql::PreparedStatement& MysqlConnection::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    it->second->clearParameters();
    return *it->second;
  }
  std::unique_ptr<sql::PreparedStatement> stmt(conn_->prepareStatement(sql));
  sql::PreparedStatement& ref = *stmt;
  statements_.emplace(sql, std::move(stmt));
  return ref;
}

void MysqlConnection::Execute(const char* sql) {
  if (!plain_) plain_.reset(conn_->createStatement());
  plain_->execute(sql);
}

MysqlPool::MysqlPool(MysqlConnectParams params, int size, std::chrono::milliseconds timeout)
    : params_(std::move(params)), size_(size), timeout_(timeout) {}

Result<std::unique_ptr<MysqlConnection>> MysqlPool::OpenConnection() {
  const std::size_t count = params_.hosts.size();
  if (count == 0) return Unavailable("no MySQL server configured");
  const std::size_t first = preferred_.load(std::memory_order_relaxed) % count;
  Status last = Status::Ok();
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t host = (first + i) % count;
    Result<std::unique_ptr<MysqlConnection>> conn =
        MysqlConnection::Open(params_, params_.hosts[host]);
    if (conn.ok()) {
      preferred_.store(host, std::memory_order_relaxed);
      return conn;
    }
    last = conn.status();
  }
  if (count == 1) return last;
  return Unavailable("none of the " + std::to_string(count) +
                     " MySQL servers answered; last: " + last.message());
}

Result<MysqlPool::Lease> MysqlPool::Acquire(bool fresh) {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // Stale idle connections (opened before a connection broke) are dropped.
    while (!idle_.empty() && (fresh || idle_.back()->epoch != epoch_)) {
      std::unique_ptr<MysqlConnection> stale = std::move(idle_.back());
      idle_.pop_back();
      --open_;
      lock.unlock();
      stale.reset();  // may touch the network: not under the lock
      lock.lock();
    }
    if (!idle_.empty()) {
      std::unique_ptr<MysqlConnection> conn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (std::chrono::steady_clock::now() - conn->last_used > kPingIfIdleFor) {
        Status ping = Guard(*conn, "pinging MySQL", [&] {
          conn->Prepare("SELECT 1").executeQuery();
          return Status::Ok();
        });
        if (!ping.ok()) {
          conn.reset();
          lock.lock();
          --open_;
          ++epoch_;
          cv_.notify_one();
          continue;
        }
      }
      return Lease(this, std::move(conn), /*reused=*/true);
    }
    if (open_ < size_) {
      ++open_;
      const std::uint64_t epoch = epoch_;
      lock.unlock();
      Result<std::unique_ptr<MysqlConnection>> conn = OpenConnection();
      if (!conn.ok()) {
        lock.lock();
        --open_;
        cv_.notify_one();
        return conn.status();
      }
      (*conn)->epoch = epoch;
      return Lease(this, std::move(conn).value(), /*reused=*/false);
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      return Unavailable("all " + std::to_string(size_) +
                         " MySQL connections are busy; timed out waiting for one");
    }
  }
}

void MysqlPool::Release(std::unique_ptr<MysqlConnection> conn) {
  if (conn->broken()) {
    conn.reset();
    std::lock_guard<std::mutex> lock(mu_);
    --open_;
    ++epoch_;  // its siblings probably died with it
    cv_.notify_one();
    return;
  }
  conn->last_used = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  if (conn->epoch != epoch_) {
    --open_;
    cv_.notify_one();
    // Opened before a sibling broke: do not trust it. Closing a healthy
    // connection is one quick write, fine under the lock.
    conn.reset();
    return;
  }
  idle_.push_back(std::move(conn));
  cv_.notify_one();
}

}  // namespace strongroom::store::internal
