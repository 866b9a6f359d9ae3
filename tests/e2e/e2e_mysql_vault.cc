#include "tests/e2e/e2e_mysql_vault.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace strongroom::e2e {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HexDecode(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

std::string HexEncode(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xF]);
  }
  return out;
}

// A SQL string literal for test-chosen names (letters, digits, "-", "_", ".").
std::string Quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

std::unique_ptr<MysqlVault> MysqlVault::Create(std::string* error) {
  auto env = testing::LoadMysqlTestEnv();
  if (!env.ok()) {
    *error = env.status().ToString();
    return nullptr;
  }
  std::unique_ptr<MysqlVault> vault(new MysqlVault());
  vault->env_ = *env;
  auto db = testing::ScratchDatabase::Create(vault->env_);
  if (!db.ok()) {
    *error = "cannot create a test database: " + db.status().ToString();
    return nullptr;
  }
  vault->db_ = std::move(*db);
  vault->root_ = std::make_unique<testing::TempDir>();
  testing::MysqlDatabase database;
  database.url = vault->env_.url;
  database.user = vault->env_.user;
  database.password = vault->env_.password;
  database.database = vault->db_->name();
  vault->deployment_ =
      testing::ConfigDeployment::CreateMysql(vault->root_->path() + "/deploy", database, error);
  if (vault->deployment_ == nullptr) return nullptr;
  return vault;
}

MysqlVault::~MysqlVault() = default;

std::unique_ptr<testing::ServerProcess> MysqlVault::NewServer() {
  const std::string dir = root_->path() + "/server-" + std::to_string(++servers_);
  std::filesystem::create_directories(dir);
  return std::make_unique<testing::ServerProcess>(dir, deployment_);
}

std::vector<std::vector<std::string>> MysqlVault::Query(const std::string& sql) {
  auto rows = testing::MysqlQuery(env_, db_->name(), sql);
  EXPECT_TRUE(rows.ok()) << sql << ": " << rows.status().ToString();
  return rows.ok() ? *rows : std::vector<std::vector<std::string>>();
}

std::vector<std::pair<std::string, std::string>> MysqlVault::BytesAtRest() {
  std::vector<std::pair<std::string, std::string>> out;
  // The password goes in an option file, not on the command line.
  const std::string options = root_->path() + "/dump.cnf";
  const std::string port = env_.url.substr(env_.url.rfind(':') + 1);
  {
    std::ofstream cnf(options, std::ios::trunc);
    cnf << "[client]\nhost=127.0.0.1\nport=" << port << "\nuser=" << env_.user
        << "\npassword=" << env_.password << "\n";
  }
  ::chmod(options.c_str(), 0600);
  testing::CommandOutput dump =
      testing::RunCommand({"/usr/bin/mariadb-dump", "--defaults-file=" + options,
                           "--single-transaction", "--skip-lock-tables", db_->name()});
  EXPECT_EQ(dump.exit_code, 0) << dump.err;
  EXPECT_NE(dump.out.find("CREATE TABLE `credentials`"), std::string::npos) << dump.out;
  out.emplace_back("mariadb-dump " + db_->name(), dump.out);

  // The datadir: ops/mariadb.sh keeps its path next to the env file.
  const std::string state_dir = env_.env_file.substr(0, env_.env_file.rfind('/'));
  std::string datadir = ReadFile(state_dir + "/datadir");
  datadir = datadir.substr(0, datadir.find('\n'));
  EXPECT_FALSE(datadir.empty()) << state_dir;
  std::error_code ec;
  bool redo_log_read = false;
  bool tablespace_read = false;
  for (const std::string& dir : {datadir, datadir + "/" + db_->name()}) {
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file(ec)) continue;
      out.emplace_back(entry.path(), ReadFile(entry.path()));
      redo_log_read |= entry.path().filename() == "ib_logfile0" && !out.back().second.empty();
      tablespace_read |= entry.path().filename() == "credentials.ibd" && !out.back().second.empty();
    }
  }
  // Proves the files are the ones InnoDB writes to.
  EXPECT_TRUE(redo_log_read) << "no redo log in " << datadir;
  EXPECT_TRUE(tablespace_read) << "no credentials.ibd in " << datadir << "/" << db_->name();
  return out;
}

std::int64_t MysqlVault::IdentityId(const std::string& name) {
  auto rows = Query("SELECT id FROM identities WHERE name = " + Quote(name));
  if (rows.size() != 1) return -1;
  return std::stoll(rows[0][0]);
}

Envelope MysqlVault::GetEnvelope(std::int64_t identity_id, const std::string& name) {
  auto rows =
      Query("SELECT HEX(ciphertext), HEX(wrapped_dek) FROM credentials WHERE identity_id = " +
            std::to_string(identity_id) + " AND name = " + Quote(name));
  if (rows.size() != 1) {
    ADD_FAILURE() << "no row " << identity_id << "/" << name;
    return {};
  }
  return {HexDecode(rows[0][0]), HexDecode(rows[0][1])};
}

void MysqlVault::SetEnvelope(std::int64_t identity_id, const std::string& name,
                             const Envelope& envelope) {
  Query("UPDATE credentials SET ciphertext = UNHEX('" + HexEncode(envelope.ciphertext) +
        "'), wrapped_dek = UNHEX('" + HexEncode(envelope.wrapped_dek) +
        "') WHERE identity_id = " + std::to_string(identity_id) + " AND name = " + Quote(name));
  auto changed =
      Query("SELECT COUNT(*) FROM credentials WHERE identity_id = " + std::to_string(identity_id) +
            " AND name = " + Quote(name) + " AND ciphertext = UNHEX('" +
            HexEncode(envelope.ciphertext) + "')");
  EXPECT_EQ(changed.size() == 1 ? changed[0][0] : "", "1") << identity_id << "/" << name;
}

E2eBackend MysqlE2eBackend() {
  return {"Mysql", [](std::string* error) -> std::unique_ptr<E2eVault> {
            return MysqlVault::Create(error);
          }};
}

}  // namespace strongroom::e2e
