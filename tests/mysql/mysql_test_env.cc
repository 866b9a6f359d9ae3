#include "tests/mysql/mysql_test_env.h"

#include <cppconn/connection.h>
#include <cppconn/exception.h>
#include <cppconn/resultset.h>
#include <cppconn/resultset_metadata.h>
#include <cppconn/statement.h>
#include <mysql_driver.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>

namespace strongroom::testing {

Result<std::map<std::string, std::string>> ReadEnvFile(const std::string& variable,
                                                       const std::string& script,
                                                       const std::string& fixture) {
  const char* path = std::getenv(variable.c_str());
  if (path == nullptr || *path == '\0') {
    return NotFoundError(variable + " is not set: run these tests through ctest (fixture " +
                         fixture + ") or export it after `STATE_DIR=... " + script + " start`");
  }
  std::ifstream in(path);
  if (!in) {
    return NotFoundError(std::string("cannot read ") + path + ": did " + script + " start (test " +
                         fixture + ") succeed?");
  }
  std::map<std::string, std::string> values;
  values["ENV_FILE"] = path;
  std::string line;
  while (std::getline(in, line)) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

Result<MysqlTestEnv> LoadMysqlTestEnv() {
  SR_ASSIGN_OR_RETURN(auto values,
                      ReadEnvFile("STRONGROOM_MARIADB_ENV", "ops/mariadb.sh", "mariadb_start"));
  MysqlTestEnv env;
  env.env_file = values["ENV_FILE"];
  env.url = values["STRONGROOM_TEST_MYSQL_URL"];
  env.user = values["STRONGROOM_TEST_MYSQL_USER"];
  env.password = values["STRONGROOM_TEST_MYSQL_PASSWORD"];
  env.database = values["STRONGROOM_TEST_MYSQL_DATABASE"];
  env.admin_socket = values["MYSQL_ADMIN_SOCKET"];
  if (env.url.empty() || env.user.empty() || env.database.empty()) {
    return NotFoundError(env.env_file + " is incomplete");
  }
  return env;
}

Result<std::vector<std::vector<std::string>>> MysqlQuery(const MysqlTestEnv& env,
                                                         const std::string& database,
                                                         const std::string& sql) {
  try {
    sql::ConnectOptionsMap options;
    options["hostName"] = sql::SQLString(env.url);
    options["userName"] = sql::SQLString(env.user);
    options["password"] = sql::SQLString(env.password);
    if (!database.empty()) options["schema"] = sql::SQLString(database);
    options["OPT_CONNECT_TIMEOUT"] = 2;
    std::unique_ptr<sql::Connection> conn(
        sql::mysql::get_mysql_driver_instance()->connect(options));
    std::unique_ptr<sql::Statement> stmt(conn->createStatement());
    std::vector<std::vector<std::string>> rows;
    if (stmt->execute(sql)) {
      std::unique_ptr<sql::ResultSet> rs(stmt->getResultSet());
      const unsigned columns = rs->getMetaData()->getColumnCount();
      while (rs->next()) {
        std::vector<std::string> row;
        for (unsigned c = 1; c <= columns; ++c) {
          row.push_back(rs->isNull(c) ? "NULL" : rs->getString(c).asStdString());
        }
        rows.push_back(std::move(row));
      }
    }
    return rows;
  } catch (const sql::SQLException& e) {
    return InternalError("MySQL error " + std::to_string(e.getErrorCode()) + ": " + e.what());
  }
}

Result<std::unique_ptr<ScratchDatabase>> ScratchDatabase::Create(const MysqlTestEnv& env) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  const std::string name = "strongroom_test_" + std::to_string(::getpid()) + "_" +
                           std::to_string(counter.fetch_add(1)) + "_" +
                           std::to_string(rd() % 100000);
  auto created = MysqlQuery(
      env, "", "CREATE DATABASE `" + name + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
  if (!created.ok()) return created.status();
  return std::unique_ptr<ScratchDatabase>(new ScratchDatabase(env, name));
}

ScratchDatabase::~ScratchDatabase() {
  auto dropped = MysqlQuery(env_, "", "DROP DATABASE IF EXISTS `" + name_ + "`");
  (void)dropped;
}

store::MysqlStoreOptions MysqlOptionsFor(const MysqlTestEnv& env, const std::string& database) {
  store::MysqlStoreOptions options;
  options.url = env.url;
  options.user = env.user;
  options.password = SecretString(env.password);
  options.database = database;
  return options;
}

int RunMariadbScript(const std::string& arg) {
#ifdef STRONGROOM_TEST_SOURCE_DIR
  const std::string source = STRONGROOM_TEST_SOURCE_DIR;
#else
  const char* env_source = std::getenv("STRONGROOM_SOURCE_DIR");
  const std::string source = env_source != nullptr ? env_source : ".";
#endif
  auto env = LoadMysqlTestEnv();
  if (!env.ok()) return -1;
  // The env file lives in the script's STATE_DIR.
  const std::string state_dir = env->env_file.substr(0, env->env_file.rfind('/'));
  std::string cmd =
      "STATE_DIR='" + state_dir + "' bash '" + source + "/ops/mariadb.sh' " + arg + " >&2";
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace strongroom::testing
