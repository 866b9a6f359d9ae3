// A GoogleTest fixture with a fresh, empty database on the private test
// server (tests/mysql), dropped after the test. Header-only: for test
// executables, which link GoogleTest.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "tests/mysql/mysql_test_env.h"

namespace strongroom::testing {

class ScratchDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = LoadMysqlTestEnv();
    ASSERT_TRUE(env.ok()) << env.status().ToString();  // fail, never skip
    env_ = *env;
    auto db = ScratchDatabase::Create(env_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
  }

  // Store options for the scratch database.
  store::MysqlStoreOptions Options() const { return MysqlOptionsFor(env_, db_->name()); }
  // Runs one statement on the scratch database.
  Result<std::vector<std::vector<std::string>>> Query(const std::string& sql) const {
    return MysqlQuery(env_, db_->name(), sql);
  }

  MysqlTestEnv env_;
  std::unique_ptr<ScratchDatabase> db_;
};

}  // namespace strongroom::testing
