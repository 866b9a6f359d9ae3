// The 3-node MariaDB Galera cluster that ops/galera.sh runs for the Galera
// tests (SPEC 13), and a Strongroom deployment on it.
//
// CTest runs `ops/galera.sh start` as the fixture setup test "galera_start"
// (tests/galera/CMakeLists.txt) and passes every Galera test the path of its
// env file in STRONGROOM_GALERA_ENV. A test that cannot read it fails: Galera
// tests never skip silently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "tests/mysql/mysql_test_env.h"
#include "tests/testing/server_process.h"

namespace strongroom::testing {

inline constexpr int kGaleraNodes = 3;

struct GaleraEnv {
  std::vector<std::string> urls;  // node 1..3: tcp://127.0.0.1:PORT
  std::string user;
  std::string password;
  std::string env_file;

  // A MysqlTestEnv on node `node` (1-based), for MysqlQuery / ScratchDatabase.
  MysqlTestEnv Node(int node) const;
  // The url list with node `first` first, then the others in order.
  std::string UrlListFrom(int first) const;
};

// Reads $STRONGROOM_GALERA_ENV. NOT_FOUND (with how to fix it) if unset or unreadable.
Result<GaleraEnv> LoadGaleraEnv();

// Runs `ops/galera.sh ARGS...` on the fixture's cluster; its exit code.
int RunGaleraScript(const std::string& args);

// A fresh empty database on the cluster, one deployment on it (one SoftHSM2
// master key), and three servers: server i (0-based) lists node i + 1 first,
// with store.galera = true. The servers are not started.
class GaleraVault {
 public:
  static std::unique_ptr<GaleraVault> Create(std::string* error);
  ~GaleraVault();

  // Starts the servers at the same moment; false with `*error` on failure.
  bool StartAll(std::string* error);
  ServerProcess& server(int i) { return *servers_.at(static_cast<std::size_t>(i)); }
  const GaleraEnv& env() const { return env_; }
  const std::string& database() const { return db_->name(); }
  // Runs one statement on this vault's database through node `node`.
  Result<std::vector<std::vector<std::string>>> Query(int node, const std::string& sql) const;

 private:
  GaleraVault() = default;

  GaleraEnv env_;
  std::unique_ptr<ScratchDatabase> db_;
  std::unique_ptr<TempDir> root_;
  std::vector<std::unique_ptr<ServerProcess>> servers_;
};

}  // namespace strongroom::testing
