// The key lifecycle suite (key_rotation_suite.h) on MariaDB (fixture
// "mariadb" of tests/mysql), a scratch database per test.
#include <memory>
#include <string>
#include <utility>

#include "tests/mysql/mysql_test_env.h"
#include "tests/vault/key_rotation_suite.h"

namespace strongroom::vault::testing {
namespace {

using strongroom::testing::LoadMysqlTestEnv;
using strongroom::testing::MysqlOptionsFor;
using strongroom::testing::MysqlTestEnv;
using strongroom::testing::ScratchDatabase;

class MysqlRotationDatabase final : public RotationDatabase {
 public:
  MysqlRotationDatabase(MysqlTestEnv env, std::unique_ptr<ScratchDatabase> db)
      : env_(std::move(env)), db_(std::move(db)) {}
  Result<std::unique_ptr<store::CredentialStore>> Open() override {
    return store::OpenMysqlStore(MysqlOptionsFor(env_, db_->name()));
  }

 private:
  MysqlTestEnv env_;
  std::unique_ptr<ScratchDatabase> db_;
};

INSTANTIATE_TEST_SUITE_P(Mysql, KeyRotationTest,
                         ::testing::Values(RotationBackend{
                             "Mysql",
                             []() -> Result<std::unique_ptr<RotationDatabase>> {
                               SR_ASSIGN_OR_RETURN(MysqlTestEnv env, LoadMysqlTestEnv());
                               SR_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDatabase> db,
                                                   ScratchDatabase::Create(env));
                               return std::unique_ptr<RotationDatabase>(
                                   new MysqlRotationDatabase(std::move(env), std::move(db)));
                             }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace strongroom::vault::testing
