// The CredentialStore suite on SQLite, plus what only the SQLite backend has:
// file creation, pragmas, lock timeouts, on-disk corruption.
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "tests/store/credential_store_suite.h"

namespace strongroom::store::testing {
namespace {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/sr-store-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) != nullptr) path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Raw access to the file, behind the store's back.
struct RawDb {
  explicit RawDb(const std::string& path) { ::sqlite3_open(path.c_str(), &db); }
  ~RawDb() { ::sqlite3_close(db); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  int Exec(const std::string& sql) {
    return ::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  }
  sqlite3* db = nullptr;
};

class SqliteTestDatabase final : public StoreTestDatabase {
 public:
  SqliteTestDatabase() : path_(dir_.path() + "/vault.db") {}

  Result<std::unique_ptr<CredentialStore>> Open() override { return OpenSqliteStore(path_); }

  Status RecordSchemaVersion(std::int64_t version) override {
    RawDb raw(path_);
    std::string sql = "INSERT INTO schema_migrations (version, applied_at) VALUES (" +
                      std::to_string(version) + ", 0)";
    if (raw.Exec(sql) != SQLITE_OK) return InternalError(::sqlite3_errmsg(raw.db));
    return Status::Ok();
  }

  Result<std::vector<std::int64_t>> AppliedSchemaVersions() override {
    RawDb raw(path_);
    sqlite3_stmt* stmt = nullptr;
    if (::sqlite3_prepare_v2(raw.db, "SELECT version FROM schema_migrations ORDER BY version", -1,
                             &stmt, nullptr) != SQLITE_OK) {
      return InternalError(::sqlite3_errmsg(raw.db));
    }
    std::vector<std::int64_t> out;
    while (::sqlite3_step(stmt) == SQLITE_ROW) out.push_back(::sqlite3_column_int64(stmt, 0));
    ::sqlite3_finalize(stmt);
    return out;
  }

  Status Exec(const std::string& sql) override {
    RawDb raw(path_);
    if (raw.Exec(sql) != SQLITE_OK) return InternalError(::sqlite3_errmsg(raw.db));
    return Status::Ok();
  }

 private:
  TempDir dir_;
  std::string path_;
};

StoreBackend SqliteBackend() {
  return {"Sqlite", []() -> Result<std::unique_ptr<StoreTestDatabase>> {
            return std::unique_ptr<StoreTestDatabase>(new SqliteTestDatabase());
          }};
}

INSTANTIATE_TEST_SUITE_P(Sqlite, CredentialStoreTest, ::testing::Values(SqliteBackend()),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Sqlite, VaultOnStoreTest, ::testing::Values(SqliteBackend()), BackendName);

class FixedClock final : public Clock {
 public:
  explicit FixedClock(UnixMillis now) : now_(now) {}
  UnixMillis NowMillis() const override { return now_; }

 private:
  UnixMillis now_;
};

model::Identity TestIdentity(const std::string& name) {
  model::Identity identity;
  identity.name = name;
  identity.wrapped_kek = {1, 2, 3};
  return identity;
}

model::StoredCredential TestCredential() {
  model::StoredCredential c;
  c.credential_id = "id";
  c.type = model::CredentialType::kCustom;
  c.metadata_json = "null";
  c.created_at = c.updated_at = 1;
  c.version = 1;
  c.ciphertext = {1, 2, 3};
  c.wrapped_dek = {4, 5, 6};
  return c;
}

TEST(SqliteStoreTest, OpenInMissingDirectoryIsUnavailable) {
  TempDir dir;
  auto store = OpenSqliteStore(dir.path() + "/missing/vault.db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
}

TEST(SqliteStoreTest, OpenOfANonDatabaseFileIsUnavailable) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  std::ofstream(path) << std::string(8192, 'x');
  auto store = OpenSqliteStore(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
}

TEST(SqliteStoreTest, OpenOfADirectoryIsUnavailable) {
  TempDir dir;
  auto store = OpenSqliteStore(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable) << store.status().ToString();
  EXPECT_EQ(store.status().error_code(), "store_unavailable");
}

TEST(SqliteStoreTest, InvalidOptionsAreRejected) {
  TempDir dir;
  SqliteStoreOptions options;
  options.read_connections = 0;
  auto store = OpenSqliteStore(dir.path() + "/vault.db", options);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
}

TEST(SqliteStoreTest, NewDatabaseFilesAreOwnerOnly) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateIdentity(TestIdentity("alice")).ok());
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST(SqliteStoreTest, DatabaseIsInWalMode) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  RawDb raw(path);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(raw.db, "PRAGMA journal_mode", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 0)), "wal");
  ::sqlite3_finalize(stmt);
}

TEST(SqliteStoreTest, InjectedClockStampsIdentitiesAndMigrations) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  FixedClock clock(1'234'567);
  SqliteStoreOptions options;
  options.clock = &clock;
  auto store = OpenSqliteStore(path, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto alice = (*store)->CreateIdentity(TestIdentity("alice"));
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_EQ(alice->created_at, 1'234'567);

  RawDb raw(path);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(
      ::sqlite3_prepare_v2(raw.db, "SELECT MIN(applied_at), MAX(applied_at) FROM schema_migrations",
                           -1, &stmt, nullptr),
      SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(::sqlite3_column_int64(stmt, 0), 1'234'567);
  EXPECT_EQ(::sqlite3_column_int64(stmt, 1), 1'234'567);
  ::sqlite3_finalize(stmt);
}

TEST(SqliteStoreTest, WriteLockHeldElsewhereIsAbortedAfterTimeout) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  SqliteStoreOptions options;
  options.busy_timeout_ms = 50;
  auto store = OpenSqliteStore(path, options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto alice = (*store)->CreateIdentity(TestIdentity("alice"));
  ASSERT_TRUE(alice.ok());

  RawDb other(path);  // another process, say the admin CLI
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);

  int calls = 0;
  auto outcome = (*store)->Mutate(alice->id, "x", [&](const auto&) {
    ++calls;
    return Result(TestCredential());
  });
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kAborted) << outcome.status().ToString();
  EXPECT_EQ(outcome.status().error_code(), "conflict");
  EXPECT_EQ(calls, 0);
  auto dup = (*store)->CreateIdentity(TestIdentity("bob"));
  EXPECT_EQ(dup.status().code(), StatusCode::kAborted) << dup.status().ToString();
  // Readers are not blocked by a writer in WAL mode.
  EXPECT_TRUE((*store)->GetIdentity(alice->id).ok());

  ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  auto retried =
      (*store)->Mutate(alice->id, "x", [&](const auto&) { return Result(TestCredential()); });
  EXPECT_TRUE(retried.ok()) << retried.status().ToString();
}

TEST(SqliteStoreTest, UnknownStoredTypeIsDataLoss) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto alice = (*store)->CreateIdentity(TestIdentity("alice"));
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(
      (*store)->Mutate(alice->id, "x", [](const auto&) { return Result(TestCredential()); }).ok());
  RawDb raw(path);
  ASSERT_EQ(raw.Exec("UPDATE credentials SET type = 'BOGUS'"), SQLITE_OK);

  auto got = (*store)->GetCredential(alice->id, "x");
  EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << got.status().ToString();
  auto listed = (*store)->ListCredentials(alice->id, "", 10);
  EXPECT_EQ(listed.status().code(), StatusCode::kDataLoss) << listed.status().ToString();
}

TEST(SqliteStoreTest, ConcurrentFirstOpensMigrateOnce) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  constexpr int kOpeners = 4;
  std::vector<Status> results(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      auto store = OpenSqliteStore(path);
      results[i] = store.ok() ? Status::Ok() : store.status();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();

  RawDb raw(path);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(raw.db, "SELECT COUNT(*), MAX(version) FROM schema_migrations", -1,
                                 &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(::sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_EQ(::sqlite3_column_int64(stmt, 0), internal::kSchemaVersion);
  EXPECT_EQ(::sqlite3_column_int64(stmt, 1), internal::kSchemaVersion);
  ::sqlite3_finalize(stmt);
}

// TouchLastUsed finds its row by (identity_id, credential_id) through the
// schema's index, not by scanning the identity's credentials.
TEST(SqliteStoreTest, TouchIsAnIndexLookup) {
  TempDir dir;
  std::string path = dir.path() + "/vault.db";
  ASSERT_TRUE(OpenSqliteStore(path).ok());
  RawDb raw(path);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(::sqlite3_prepare_v2(raw.db,
                                 "EXPLAIN QUERY PLAN UPDATE credentials SET last_used_at = 1"
                                 " WHERE identity_id = 1 AND credential_id = 'x'",
                                 -1, &stmt, nullptr),
            SQLITE_OK);
  std::string plan;
  while (::sqlite3_step(stmt) == SQLITE_ROW) {
    plan += reinterpret_cast<const char*>(::sqlite3_column_text(stmt, 3));
    plan += '\n';
  }
  ::sqlite3_finalize(stmt);
  EXPECT_NE(plan.find("USING INDEX credentials_by_credential_id"), std::string::npos) << plan;
}

// Random bytes: a needle no other data in the file can match by chance.
std::vector<std::uint8_t> RandomBytes(std::size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  std::vector<std::uint8_t> out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng());
  return out;
}

// How many of the 32-byte pieces of `needle` the raw bytes of `path` (absent:
// empty) contain. Pieces, because a value that spills onto overflow pages is
// not contiguous in the file.
int PiecesInFile(const std::string& path, const std::vector<std::uint8_t>& needle) {
  constexpr std::size_t kPiece = 32;
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int found = 0;
  for (std::size_t at = 0; at + kPiece <= needle.size(); at += kPiece) {
    auto first = needle.begin() + static_cast<std::ptrdiff_t>(at);
    if (std::search(bytes.begin(), bytes.end(), first, first + kPiece, [](char a, std::uint8_t b) {
          return static_cast<std::uint8_t>(a) == b;
        }) != bytes.end()) {
      ++found;
    }
  }
  return found;
}

// SPEC 5a: crypto-shredding shreds. After an identity delete neither the
// database file nor its WAL holds the identity's wrapped KEK, a wrapped DEK or
// a ciphertext (small, on a b-tree page; large, on overflow pages; and one a
// later write replaced), while the store, still open, keeps serving.
TEST(SqliteStoreTest, IdentityDeleteLeavesNoKeyOrCiphertextInTheFiles) {
  TempDir dir;
  const std::string path = dir.path() + "/vault.db";
  auto store = OpenSqliteStore(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  model::Identity alice = TestIdentity("alice");
  alice.wrapped_kek = RandomBytes(384);
  auto created = (*store)->CreateIdentity(alice);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto bob = (*store)->CreateIdentity(TestIdentity("bob"));
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();

  std::vector<std::vector<std::uint8_t>> needles = {alice.wrapped_kek};
  auto write = [&](std::int64_t identity_id, const std::string& name, std::size_t size) {
    model::StoredCredential c = TestCredential();
    c.ciphertext = RandomBytes(size);
    c.wrapped_dek = RandomBytes(40);
    if (identity_id == created->id) {
      needles.push_back(c.ciphertext);
      needles.push_back(c.wrapped_dek);
    }
    auto done = (*store)->Mutate(identity_id, name, [&](const auto&) { return c; });
    ASSERT_TRUE(done.ok()) << done.status().ToString();
  };
  write(created->id, "small", 200);
  write(created->id, "large", 20000);
  write(created->id, "replaced", 300);
  write(created->id, "replaced", 300);
  write(bob->id, "bobs", 200);
  int before = 0;  // the scan finds them
  for (const auto& needle : needles) before += PiecesInFile(path, needle);
  for (const auto& needle : needles) before += PiecesInFile(path + "-wal", needle);
  EXPECT_GT(before, 300);  // most of the 665 pieces (some straddle page boundaries)

  ASSERT_TRUE((*store)->DeleteIdentity("alice").ok());
  for (std::size_t i = 0; i < needles.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(PiecesInFile(path, needles[i]), 0);
    EXPECT_EQ(PiecesInFile(path + "-wal", needles[i]), 0);
  }
  EXPECT_TRUE((*store)->GetCredential(bob->id, "bobs").ok());
  write(bob->id, "after", 100);
}

}  // namespace
}  // namespace strongroom::store::testing
