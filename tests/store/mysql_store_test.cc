// The CredentialStore suite on MySQL/MariaDB (the private server of
// ops/mariadb.sh, one fresh database per test), plus what only the MySQL
// backend has: option checks and unreachable-server errors.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "store/internal/mysql_db.h"
#include "tests/mysql/mysql_test_env.h"
#include "tests/mysql/scratch_database_test.h"
#include "tests/store/credential_store_suite.h"

namespace strongroom::store::testing {
namespace {

using ::strongroom::testing::LoadMysqlTestEnv;
using ::strongroom::testing::MysqlOptionsFor;
using ::strongroom::testing::MysqlQuery;
using ::strongroom::testing::MysqlTestEnv;
using ::strongroom::testing::ScratchDatabase;

class MysqlTestDatabase final : public StoreTestDatabase {
 public:
  MysqlTestDatabase(MysqlTestEnv env, std::unique_ptr<ScratchDatabase> db)
      : env_(std::move(env)), db_(std::move(db)) {}

  Result<std::unique_ptr<CredentialStore>> Open() override {
    return OpenMysqlStore(MysqlOptionsFor(env_, db_->name()));
  }

  Status RecordSchemaVersion(std::int64_t version) override {
    auto done = MysqlQuery(env_, db_->name(),
                           "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                               std::to_string(version) + ", 0)");
    return done.ok() ? Status::Ok() : done.status();
  }

  Result<std::vector<std::int64_t>> AppliedSchemaVersions() override {
    auto rows =
        MysqlQuery(env_, db_->name(), "SELECT version FROM schema_migrations ORDER BY version");
    if (!rows.ok()) return rows.status();
    std::vector<std::int64_t> out;
    for (const auto& row : *rows) out.push_back(std::stoll(row.at(0)));
    return out;
  }

  Status Exec(const std::string& sql) override {
    auto done = MysqlQuery(env_, db_->name(), sql);
    return done.ok() ? Status::Ok() : done.status();
  }

 private:
  MysqlTestEnv env_;
  std::unique_ptr<ScratchDatabase> db_;
};

StoreBackend MysqlBackend() {
  return {"Mysql", []() -> Result<std::unique_ptr<StoreTestDatabase>> {
            SR_ASSIGN_OR_RETURN(MysqlTestEnv env, LoadMysqlTestEnv());
            SR_ASSIGN_OR_RETURN(std::unique_ptr<ScratchDatabase> db, ScratchDatabase::Create(env));
            return std::unique_ptr<StoreTestDatabase>(
                new MysqlTestDatabase(std::move(env), std::move(db)));
          }};
}

INSTANTIATE_TEST_SUITE_P(Mysql, CredentialStoreTest, ::testing::Values(MysqlBackend()),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Mysql, VaultOnStoreTest, ::testing::Values(MysqlBackend()), BackendName);

TEST(MysqlStoreTest, MissingOptionsAreRejected) {
  MysqlStoreOptions options;
  options.url = "tcp://127.0.0.1:1";
  options.user = "u";
  auto store = OpenMysqlStore(options);  // no database
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  options.database = "d";
  options.pool_size = 0;
  store = OpenMysqlStore(options);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST(MysqlStoreTest, UnreachableServerIsUnavailableQuickly) {
  MysqlStoreOptions options;
  options.url = "tcp://127.0.0.1:1";  // nothing listens on port 1
  options.user = "strongroom";
  options.password = SecretString("not-the-password-0xC0FFEE");
  options.database = "strongroom_test";
  const auto start = std::chrono::steady_clock::now();
  auto store = OpenMysqlStore(options);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
  EXPECT_EQ(store.status().message().find("0xC0FFEE"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(2));
}

TEST(MysqlStoreTest, WrongPasswordIsUnavailableWithoutThePassword) {
  auto env = LoadMysqlTestEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  MysqlStoreOptions options = MysqlOptionsFor(*env, env->database);
  options.password = SecretString("wrong-password-0xBADF00D");
  auto store = OpenMysqlStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
  EXPECT_EQ(store.status().message().find("0xBADF00D"), std::string::npos);
  EXPECT_EQ(store.status().message().find(env->password), std::string::npos);
}

// A fresh database on the test server, for tests of one store.
class MysqlScratchTest : public ::strongroom::testing::ScratchDatabaseTest {};

TEST_F(MysqlScratchTest, TablesAreInnoDbWithBinaryNames) {
  auto store = OpenMysqlStore(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto rows = Query(
      "SELECT table_name, engine FROM information_schema.tables WHERE "
      "table_schema = DATABASE() ORDER BY table_name");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  std::vector<std::string> names;
  for (const auto& row : *rows) {
    names.push_back(row.at(0));
    EXPECT_EQ(row.at(1), "InnoDB") << row.at(0);
  }
  // information_schema sorts "_" after letters.
  EXPECT_EQ(names, (std::vector<std::string>{"api_keys", "audit_checkpoints", "audit_events",
                                             "credentials", "identities", "master_keys",
                                             "schema_migrations", "schema_migration_lock"}));
}

// Galera replicates InnoDB only, and needs a primary key on every table
// (rows of a table without one cannot be certified or applied reliably).
TEST_F(MysqlScratchTest, EveryTableHasAPrimaryKeyAsGaleraRequires) {
  auto store = OpenMysqlStore(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto rows = Query(
      "SELECT t.table_name FROM information_schema.tables t WHERE "
      "t.table_schema = DATABASE() AND NOT EXISTS (SELECT 1 FROM "
      "information_schema.table_constraints c WHERE c.table_schema = "
      "t.table_schema AND c.table_name = t.table_name AND c.constraint_type = "
      "'PRIMARY KEY')");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_TRUE(rows->empty()) << rows->at(0).at(0) << " has no primary key";
  // One migration run recorded, and the lock is free again.
  auto lock = Query("SELECT holder, runs FROM schema_migration_lock");
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_EQ(*lock, (std::vector<std::vector<std::string>>{{"", "1"}}));
}

// store.url lists several servers: a server that does not answer is skipped,
// at open and later, without reopening the store.
TEST_F(MysqlScratchTest, ServerListSkipsServersThatDoNotAnswer) {
  MysqlStoreOptions options = Options();
  // Port 1 on loopback: refused at once.
  options.url = "tcp://127.0.0.1:1, " + env_.url;
  auto store = OpenMysqlStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  model::Identity id;
  id.name = "listed";
  id.wrapped_kek = {1};
  ASSERT_TRUE((*store)->CreateIdentity(id).ok());
  EXPECT_TRUE((*store)->GetIdentityByName("listed").ok());

  options.url = "tcp://127.0.0.1:1,tcp://127.0.0.1:2";
  auto none = OpenMysqlStore(options);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(none.status().error_code(), "store_unavailable");
  EXPECT_THAT(none.status().message(), ::testing::HasSubstr("none of the 2 MySQL servers"));
  EXPECT_THAT(none.status().message(), ::testing::Not(::testing::HasSubstr(env_.password)));

  options.url = env_.url + ",127.0.0.1:3306";
  auto bad = OpenMysqlStore(options);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// store.galera against a server that is not a ready cluster node: refused at
// connect, with a message that says why.
TEST_F(MysqlScratchTest, GaleraModeRefusesAServerThatIsNotAClusterNode) {
  MysqlStoreOptions options = Options();
  options.galera = true;
  auto store = OpenMysqlStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
  EXPECT_THAT(store.status().message(), ::testing::HasSubstr("not a ready Galera node"));
}

TEST(MysqlStoreTest, SplitServerList) {
  EXPECT_EQ(internal::SplitServerList("tcp://a:1"), (std::vector<std::string>{"tcp://a:1"}));
  EXPECT_EQ(internal::SplitServerList("tcp://a:1, tcp://b:2 ,unix:///s"),
            (std::vector<std::string>{"tcp://a:1", "tcp://b:2", "unix:///s"}));
  EXPECT_EQ(internal::SplitServerList("tcp://a:1,"), (std::vector<std::string>{"tcp://a:1", ""}));
}

// MySQL DDL is not transactional: a step whose index was created before the
// step was recorded (a crash in between) is re-run on the next open, and the
// index that exists already does not stop it.
TEST(MysqlStoreTest, UnrecordedIndexAndColumnStepsAreReRun) {
  auto env = LoadMysqlTestEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto db = ScratchDatabase::Create(*env);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(OpenMysqlStore(MysqlOptionsFor(*env, (*db)->name())).ok());
  // A crash in step 2 comes before any later step ran.
  ASSERT_TRUE(
      MysqlQuery(*env, (*db)->name(), "DELETE FROM schema_migrations WHERE version >= 2").ok());

  auto store = OpenMysqlStore(MysqlOptionsFor(*env, (*db)->name()));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto versions =
      MysqlQuery(*env, (*db)->name(), "SELECT version FROM schema_migrations ORDER BY version");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  // Every step after the first re-runs (an index or a column that exists is accepted).
  std::vector<std::vector<std::string>> want;
  for (std::int64_t v = 1; v <= internal::kSchemaVersion; ++v) want.push_back({std::to_string(v)});
  EXPECT_EQ(*versions, want);
  auto index = MysqlQuery(*env, (*db)->name(),
                          "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics"
                          " WHERE table_schema = DATABASE() AND table_name = 'credentials'"
                          " AND index_name = 'credentials_by_credential_id'");
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(*index, (std::vector<std::vector<std::string>>{{"1"}}));
}

}  // namespace
// The key-state step adds columns: re-run after a crash between its DDL and
// its record, the columns that exist already do not stop it.
TEST(MysqlStoreTest, AnUnrecordedColumnStepIsReRun) {
  auto env = LoadMysqlTestEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto db = ScratchDatabase::Create(*env);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(OpenMysqlStore(MysqlOptionsFor(*env, (*db)->name())).ok());
  ASSERT_TRUE(MysqlQuery(*env, (*db)->name(),
                         "DELETE FROM schema_migrations WHERE version = " +
                             std::to_string(internal::kSchemaVersion))
                  .ok());
  auto store = OpenMysqlStore(MysqlOptionsFor(*env, (*db)->name()));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->SeedMasterKey("m1", 1).ok());
  auto keys = (*store)->ListMasterKeys();
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  EXPECT_EQ(keys->size(), 1u);
}

}  // namespace strongroom::store::testing
