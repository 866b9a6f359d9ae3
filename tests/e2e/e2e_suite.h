// The end-to-end suite (issues 2 and 4), written once and run on every storage
// backend against real `strongroom serve` processes.
//
// e2e_suite.cc, e2e_data_suite.cc and e2e_types_suite.cc hold the tests; each backend file
// instantiates them with an E2eBackend that can create a fresh vault (database, and for config mode
// the HSM token and configuration) per test:
//
//   STRONGROOM_INSTANTIATE_E2E_SUITE(Sqlite, SqliteE2eBackend());
//
// What the suite cannot do through the API (read the bytes at rest, tamper
// with rows) goes through the vault, which knows its backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {

// A credential row's ciphertext and wrapped DEK, as raw bytes.
struct Envelope {
  std::string ciphertext;
  std::string wrapped_dek;
};

// One test's vault. Destroying it removes its files and database. Failures
// inside these calls are reported with ADD_FAILURE.
class E2eVault {
 public:
  virtual ~E2eVault() = default;
  // A new, not yet started server on this vault. The SQLite vault has one data
  // directory, so call it once there; config-mode vaults hand out any number
  // of servers sharing the database.
  virtual std::unique_ptr<testing::ServerProcess> NewServer() = 0;
  // Every byte the backend keeps at rest, as (what, bytes) pairs: the SQLite
  // file and its WAL, or a dump of the MySQL database and the server's files.
  // The first entry must contain the plaintext metadata (the suite checks it
  // to prove it greps the right bytes).
  virtual std::vector<std::pair<std::string, std::string>> BytesAtRest() = 0;
  // Row access behind the server's back.
  virtual std::int64_t IdentityId(const std::string& name) = 0;
  virtual Envelope GetEnvelope(std::int64_t identity_id, const std::string& name) = 0;
  virtual void SetEnvelope(std::int64_t identity_id, const std::string& name,
                           const Envelope& envelope) = 0;
};

struct E2eBackend {
  std::string name;  // test name suffix: letters and digits only
  // A fresh vault, or null with `*error` set (a test then fails, never skips).
  std::function<std::unique_ptr<E2eVault>(std::string* error)> new_vault;
};

inline void PrintTo(const E2eBackend& backend, std::ostream* os) { *os << backend.name; }

inline std::string E2eBackendName(const ::testing::TestParamInfo<E2eBackend>& info) {
  return info.param.name;
}

// The body of `r` as JSON (discarded, not thrown, if it is not JSON).
nlohmann::json Body(const testing::HttpResponse& r);
// Asserts the SPEC 5 error shape exactly: `status`, application/json and
// {"error": error, "message": "..."} with nothing else.
void ExpectError(const testing::HttpResponse& r, long status, const std::string& error);

// Tests sharing one long-running server on one vault (started by the first
// test, stopped after the last one of the executable).
class E2eTest : public ::testing::TestWithParam<E2eBackend> {
 protected:
  static void TearDownTestSuite();
  void SetUp() override;

  testing::HttpResponse Put(const std::string& name, const nlohmann::json& body,
                            const std::string& key = "");
  testing::HttpResponse Get(const std::string& name, const std::string& key = "");

  static testing::ServerProcess& server();
  static E2eVault& vault();

  std::unique_ptr<testing::HttpClient> client_;
  std::string key_;  // the dev identity's key, both scopes
};

// Tests that start (and stop or crash) servers of their own.
class E2eAtRestTest : public ::testing::TestWithParam<E2eBackend> {};
class E2eCrashTest : public ::testing::TestWithParam<E2eBackend> {};

#define STRONGROOM_INSTANTIATE_E2E_SUITE(prefix, backend)                                      \
  INSTANTIATE_TEST_SUITE_P(prefix, E2eTest, ::testing::Values(backend), E2eBackendName);       \
  INSTANTIATE_TEST_SUITE_P(prefix, E2eAtRestTest, ::testing::Values(backend), E2eBackendName); \
  INSTANTIATE_TEST_SUITE_P(prefix, E2eCrashTest, ::testing::Values(backend), E2eBackendName)

}  // namespace strongroom::e2e
