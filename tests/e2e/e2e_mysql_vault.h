// The end-to-end vault on MySQL/MariaDB: config mode (`strongroom serve
// --config`) on a fresh database of the private test server that CTest's
// fixture "mariadb" runs (tests/mysql), with a SoftHSM2 token of its own.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/e2e_suite.h"
#include "tests/mysql/mysql_test_env.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {

class MysqlVault final : public E2eVault {
 public:
  // A fresh, empty database and a deployment on it; null with `*error` set
  // when the test server is not there (the test fails).
  static std::unique_ptr<MysqlVault> Create(std::string* error);
  ~MysqlVault() override;

  // Servers share the deployment (and database); each logs to its own folder.
  std::unique_ptr<testing::ServerProcess> NewServer() override;
  // A `mariadb-dump` of the database (blobs as escaped bytes, not hex, so any
  // plaintext in them would show), then every file of the MariaDB datadir
  // (InnoDB tablespaces, redo and undo logs, error log).
  std::vector<std::pair<std::string, std::string>> BytesAtRest() override;
  std::int64_t IdentityId(const std::string& name) override;
  Envelope GetEnvelope(std::int64_t identity_id, const std::string& name) override;
  void SetEnvelope(std::int64_t identity_id, const std::string& name,
                   const Envelope& envelope) override;

  const testing::MysqlTestEnv& env() const { return env_; }
  const std::string& database() const { return db_->name(); }
  const std::shared_ptr<testing::ConfigDeployment>& deployment() const { return deployment_; }
  // Runs one statement on this vault's database; fails the test on error.
  std::vector<std::vector<std::string>> Query(const std::string& sql);

 private:
  MysqlVault() = default;

  testing::MysqlTestEnv env_;
  std::unique_ptr<testing::ScratchDatabase> db_;
  std::unique_ptr<testing::TempDir> root_;
  std::shared_ptr<testing::ConfigDeployment> deployment_;
  int servers_ = 0;
};

E2eBackend MysqlE2eBackend();

}  // namespace strongroom::e2e
