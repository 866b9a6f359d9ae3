#include "tests/galera/galera_cluster.h"

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace strongroom::testing {

MysqlTestEnv GaleraEnv::Node(int node) const {
  MysqlTestEnv out;
  out.url = urls.at(static_cast<std::size_t>(node - 1));
  out.user = user;
  out.password = password;
  out.database = "strongroom_test";
  out.env_file = env_file;
  return out;
}

std::string GaleraEnv::UrlListFrom(int first) const {
  std::string out;
  for (int i = 0; i < kGaleraNodes; ++i) {
    const int node = (first - 1 + i) % kGaleraNodes;
    out += (out.empty() ? "" : ",") + urls.at(static_cast<std::size_t>(node));
  }
  return out;
}

Result<GaleraEnv> LoadGaleraEnv() {
  SR_ASSIGN_OR_RETURN(auto values,
                      ReadEnvFile("STRONGROOM_GALERA_ENV", "ops/galera.sh", "galera_start"));
  GaleraEnv env;
  env.env_file = values["ENV_FILE"];
  for (int n = 1; n <= kGaleraNodes; ++n) {
    env.urls.push_back(values["STRONGROOM_TEST_GALERA_URL_" + std::to_string(n)]);
    if (env.urls.back().empty()) return NotFoundError(env.env_file + " is incomplete");
  }
  env.user = values["STRONGROOM_TEST_MYSQL_USER"];
  env.password = values["STRONGROOM_TEST_MYSQL_PASSWORD"];
  if (env.user.empty()) return NotFoundError(env.env_file + " is incomplete");
  return env;
}

int RunGaleraScript(const std::string& args) {
  auto env = LoadGaleraEnv();
  if (!env.ok()) return -1;
  // The env file lives in the script's STATE_DIR.
  const std::string state_dir = env->env_file.substr(0, env->env_file.rfind('/'));
  const std::string cmd = "STATE_DIR='" + state_dir +
                          "' bash '" STRONGROOM_TEST_SOURCE_DIR "/ops/galera.sh' " + args + " >&2";
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::unique_ptr<GaleraVault> GaleraVault::Create(std::string* error) {
  auto env = LoadGaleraEnv();
  if (!env.ok()) {
    *error = env.status().ToString();
    return nullptr;
  }
  std::unique_ptr<GaleraVault> vault(new GaleraVault());
  vault->env_ = *env;
  // Through node 2: the failover test kills node 1.
  auto db = ScratchDatabase::Create(vault->env_.Node(2));
  if (!db.ok()) {
    *error = "cannot create a test database on the cluster: " + db.status().ToString();
    return nullptr;
  }
  vault->db_ = std::move(*db);
  vault->root_ = std::make_unique<TempDir>();
  MysqlDatabase database;
  database.url = vault->env_.UrlListFrom(1);
  database.user = vault->env_.user;
  database.password = vault->env_.password;
  database.database = vault->db_->name();
  database.galera = true;
  auto deployment =
      ConfigDeployment::CreateMysql(vault->root_->path() + "/deploy", database, error);
  if (deployment == nullptr) return nullptr;
  for (int i = 0; i < kGaleraNodes; ++i) {
    const std::string dir = vault->root_->path() + "/server-" + std::to_string(i + 1);
    std::filesystem::create_directories(dir);
    auto own = deployment->WithUrl(dir, vault->env_.UrlListFrom(i + 1), error);
    if (own == nullptr) return nullptr;
    vault->servers_.push_back(std::make_unique<ServerProcess>(dir, own));
  }
  return vault;
}

GaleraVault::~GaleraVault() {
  servers_.clear();  // stop the servers before their database goes
}

bool GaleraVault::StartAll(std::string* error) {
  std::vector<std::string> errors(servers_.size());
  std::vector<char> started(servers_.size(), 0);
  std::vector<std::thread> starters;
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    starters.emplace_back([&, i] { started[i] = servers_[i]->Start(&errors[i]) ? 1 : 0; });
  }
  for (std::thread& t : starters) t.join();
  for (std::size_t i = 0; i < servers_.size(); ++i) {
    if (!started[i]) {
      *error = "server " + std::to_string(i + 1) + ": " + errors[i];
      return false;
    }
  }
  return true;
}

Result<std::vector<std::vector<std::string>>> GaleraVault::Query(int node,
                                                                 const std::string& sql) const {
  return MysqlQuery(env_.Node(node), db_->name(), sql);
}

}  // namespace strongroom::testing
