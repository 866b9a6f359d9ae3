// The end-to-end suite on the embedded default: `strongroom serve --dev`,
// SQLite in the data directory.
#include <sqlite3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tests/e2e/e2e_suite.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
namespace {

using testing::ServerProcess;
using testing::TempDir;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Small sqlite3 helper for tampering with the database under the server.
class Db {
 public:
  explicit Db(const std::string& path) {
    if (::sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
    }
    ::sqlite3_busy_timeout(db_, 5000);
  }
  ~Db() { ::sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  std::int64_t IdentityId(const std::string& name) {
    sqlite3_stmt* st = nullptr;
    ::sqlite3_prepare_v2(db_, "SELECT id FROM identities WHERE name = ?", -1, &st, nullptr);
    ::sqlite3_bind_text(st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    std::int64_t id = -1;
    if (::sqlite3_step(st) == SQLITE_ROW) id = ::sqlite3_column_int64(st, 0);
    ::sqlite3_finalize(st);
    return id;
  }

  Envelope GetEnvelope(std::int64_t identity, const std::string& name) {
    sqlite3_stmt* st = nullptr;
    ::sqlite3_prepare_v2(db_,
                         "SELECT ciphertext, wrapped_dek FROM credentials "
                         "WHERE identity_id = ? AND name = ?",
                         -1, &st, nullptr);
    ::sqlite3_bind_int64(st, 1, identity);
    ::sqlite3_bind_text(st, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    Envelope out;
    if (::sqlite3_step(st) == SQLITE_ROW) {
      out.ciphertext.assign(static_cast<const char*>(::sqlite3_column_blob(st, 0)),
                            static_cast<std::size_t>(::sqlite3_column_bytes(st, 0)));
      out.wrapped_dek.assign(static_cast<const char*>(::sqlite3_column_blob(st, 1)),
                             static_cast<std::size_t>(::sqlite3_column_bytes(st, 1)));
    } else {
      ADD_FAILURE() << "no row " << identity << "/" << name;
    }
    ::sqlite3_finalize(st);
    return out;
  }

  void SetEnvelope(std::int64_t identity, const std::string& name, const Envelope& envelope) {
    sqlite3_stmt* st = nullptr;
    ::sqlite3_prepare_v2(db_,
                         "UPDATE credentials SET ciphertext = ?, wrapped_dek = ? "
                         "WHERE identity_id = ? AND name = ?",
                         -1, &st, nullptr);
    ::sqlite3_bind_blob(st, 1, envelope.ciphertext.data(),
                        static_cast<int>(envelope.ciphertext.size()), SQLITE_TRANSIENT);
    ::sqlite3_bind_blob(st, 2, envelope.wrapped_dek.data(),
                        static_cast<int>(envelope.wrapped_dek.size()), SQLITE_TRANSIENT);
    ::sqlite3_bind_int64(st, 3, identity);
    ::sqlite3_bind_text(st, 4, name.c_str(), -1, SQLITE_TRANSIENT);
    EXPECT_EQ(::sqlite3_step(st), SQLITE_DONE) << ::sqlite3_errmsg(db_);
    EXPECT_EQ(::sqlite3_changes(db_), 1);
    ::sqlite3_finalize(st);
  }

 private:
  sqlite3* db_ = nullptr;
};

// A dev data directory: one server at a time.
class SqliteVault final : public E2eVault {
 public:
  std::unique_ptr<ServerProcess> NewServer() override {
    auto server = std::make_unique<ServerProcess>(root_.path());
    db_path_ = server->db_path();
    return server;
  }

  std::vector<std::pair<std::string, std::string>> BytesAtRest() override {
    std::string db = ReadFile(db_path_);
    std::string wal = ReadFile(db_path_ + "-wal");
    EXPECT_FALSE(db.empty() && wal.empty()) << db_path_;
    // The metadata may still be in the WAL only: the first entry holds both.
    return {{"vault.db + vault.db-wal", db + wal}, {"vault.db", db}, {"vault.db-wal", wal}};
  }

  std::int64_t IdentityId(const std::string& name) override {
    return Db(db_path_).IdentityId(name);
  }
  Envelope GetEnvelope(std::int64_t identity_id, const std::string& name) override {
    return Db(db_path_).GetEnvelope(identity_id, name);
  }
  void SetEnvelope(std::int64_t identity_id, const std::string& name,
                   const Envelope& envelope) override {
    Db(db_path_).SetEnvelope(identity_id, name, envelope);
  }

 private:
  TempDir root_;
  std::string db_path_;
};

E2eBackend SqliteE2eBackend() {
  return {"Sqlite", [](std::string*) -> std::unique_ptr<E2eVault> {
            return std::make_unique<SqliteVault>();
          }};
}

STRONGROOM_INSTANTIATE_E2E_SUITE(Sqlite, SqliteE2eBackend());

}  // namespace
}  // namespace strongroom::e2e
