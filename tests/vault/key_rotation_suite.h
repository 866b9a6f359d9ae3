// The key lifecycle suite (SPEC 11, issue 13): master-key and KEK rotation
// through the vault use cases, on real SoftHSM2 keys, with "servers" (each a
// Vault with its own store connection and key manager, as two processes have)
// serving a bounded load throughout. Written once; each store backend
// instantiates it (SQLite in vault_test, MariaDB in mysql_key_rotation_test).
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "base/result.h"
#include "store/credential_store.h"

namespace strongroom::vault::testing {

// One test's database; every Open sees the same data.
class RotationDatabase {
 public:
  virtual ~RotationDatabase() = default;
  virtual Result<std::unique_ptr<store::CredentialStore>> Open() = 0;
};

struct RotationBackend {
  std::string name;  // letters and digits only
  std::function<Result<std::unique_ptr<RotationDatabase>>()> new_database;
};

inline void PrintTo(const RotationBackend& backend, std::ostream* os) { *os << backend.name; }

class KeyRotationTest : public ::testing::TestWithParam<RotationBackend> {};

}  // namespace strongroom::vault::testing
