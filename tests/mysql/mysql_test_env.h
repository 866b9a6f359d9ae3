// The private MariaDB that ops/mariadb.sh starts for the MySQL tests.
//
// CTest runs `ops/mariadb.sh start` as the fixture setup test "mariadb_start"
// (tests/mysql/CMakeLists.txt) and passes every MySQL test the path of its env
// file in STRONGROOM_MARIADB_ENV. A test that cannot read it fails: MySQL tests
// never skip silently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/credential_store.h"

namespace strongroom::testing {

struct MysqlTestEnv {
  std::string url;       // tcp://127.0.0.1:PORT
  std::string user;      // may create and drop databases named strongroom_test*
  std::string password;  // a throwaway test password
  std::string database;  // strongroom_test (pre-created)
  std::string admin_socket;
  std::string env_file;
};

// Reads the NAME=value lines of the env file whose path is in $`variable`.
// NOT_FOUND naming `script` (the ops/ script that writes it, started by the
// ctest fixture `fixture`) if unset or unreadable.
Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& variable,
                                                       const std::string& script,
                                                       const std::string& fixture);

// Reads $STRONGROOM_MARIADB_ENV. NOT_FOUND (with how to fix it) if unset or unreadable.
Result<MysqlTestEnv> LoadMysqlTestEnv();

// Runs one statement as the test user on `database` (empty: none) and returns
// the rows as text (NULL as "NULL").
Result<std::vector<std::vector<std::string>>> MysqlQuery(const MysqlTestEnv& env,
                                                         const std::string& database,
                                                         const std::string& sql);

// A fresh empty database "strongroom_test_<unique>", dropped on destruction.
class ScratchDatabase {
 public:
  static Result<std::unique_ptr<ScratchDatabase>> Create(const MysqlTestEnv& env);
  ~ScratchDatabase();
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;
  const std::string& name() const { return name_; }

 private:
  ScratchDatabase(MysqlTestEnv env, std::string name)
      : env_(std::move(env)), name_(std::move(name)) {}
  MysqlTestEnv env_;
  std::string name_;
};

// Store options for `database` on the test server.
store::MysqlStoreOptions MysqlOptionsFor(const MysqlTestEnv& env, const std::string& database);

// Runs `ops/mariadb.sh ARG` against the fixture's server; its exit code.
int RunMariadbScript(const std::string& arg);

}  // namespace strongroom::testing
