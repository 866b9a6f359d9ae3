// Backend-independent conformance suite for store::CredentialStore.
//
// The suite body (credential_store_suite.cc) is written once; each backend
// instantiates it with a StoreBackend that can create a fresh, empty database
// per test:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, CredentialStoreTest,
//                            ::testing::Values(SqliteBackend()), BackendName);
//
// A database outlives the stores opened on it, so tests can close a store and
// reopen the same data (durability, idempotent migrations).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/result.h"
#include "store/credential_store.h"

namespace strongroom::store::testing {

// One test's database. Destroying it drops the data.
class StoreTestDatabase {
 public:
  virtual ~StoreTestDatabase() = default;
  // Opens a new store on this database; every call sees the same data.
  virtual Result<std::unique_ptr<CredentialStore>> Open() = 0;
  // Records `version` in schema_migrations behind the store's back, as a newer
  // build would have.
  virtual Status RecordSchemaVersion(std::int64_t version) = 0;
  // The versions recorded in schema_migrations, ascending.
  virtual Result<std::vector<std::int64_t>> AppliedSchemaVersions() = 0;
  // Runs one SQL statement behind the store's back (an edit by someone with
  // database access); rows it answers are ignored.
  virtual Status Exec(const std::string& sql) = 0;
};

struct StoreBackend {
  std::string name;  // test name suffix: letters and digits only
  std::function<Result<std::unique_ptr<StoreTestDatabase>>()> new_database;
};

// Keeps ctest names readable ("...Sqlite") instead of a byte dump of the struct.
inline void PrintTo(const StoreBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string BackendName(const ::testing::TestParamInfo<StoreBackend>& info) {
  return info.param.name;
}

class CredentialStoreTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Closes the store and opens a new one on the same database.
  void Reopen();

  model::Identity NewIdentity(const std::string& name);
  // Creates `name` and returns it with its id.
  model::Identity MakeIdentity(const std::string& name);
  // A full credential row as the vault would write it.
  static model::StoredCredential NewCredential(const std::string& name, std::int64_t version);
  // Inserts or replaces `name` with NewCredential(name, version).
  MutateOutcome Put(std::int64_t identity_id, const std::string& name, std::int64_t version = 1);

  std::unique_ptr<StoreTestDatabase> db_;
  std::unique_ptr<CredentialStore> store_;
};

// The vault over each backend (credential_aad_suite.cc): what needs a real
// database behind the vault, such as clear columns edited behind its back.
class VaultOnStoreTest : public CredentialStoreTest {};

}  // namespace strongroom::store::testing
