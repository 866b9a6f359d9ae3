// The key lifecycle suite (key_rotation_suite.h) on SQLite.
#include <memory>
#include <string>

#include "tests/testing/server_process.h"
#include "tests/vault/key_rotation_suite.h"

namespace strongroom::vault::testing {
namespace {

class SqliteRotationDatabase final : public RotationDatabase {
 public:
  Result<std::unique_ptr<store::CredentialStore>> Open() override {
    return store::OpenSqliteStore(dir_.path() + "/vault.db");
  }

 private:
  strongroom::testing::TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, KeyRotationTest,
                         ::testing::Values(RotationBackend{
                             "Sqlite",
                             []() -> Result<std::unique_ptr<RotationDatabase>> {
                               return std::unique_ptr<RotationDatabase>(
                                   new SqliteRotationDatabase());
                             }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace strongroom::vault::testing
