// Issue 4 at store level: several stores (standing in for several servers)
// sharing one MariaDB database.
#include <atomic>
#include <barrier>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "tests/mysql/mysql_test_env.h"
#include "tests/mysql/scratch_database_test.h"

namespace strongroom::testing {
namespace {

using model::StoredCredential;

std::vector<std::string> SplitLines(const std::vector<std::uint8_t>& bytes) {
  std::vector<std::string> out;
  std::string cur;
  for (std::uint8_t b : bytes) {
    if (b == '\n') {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(static_cast<char>(b));
    }
  }
  return out;
}

std::vector<std::uint8_t> JoinLines(const std::vector<std::string>& lines) {
  std::vector<std::uint8_t> out;
  for (const std::string& l : lines) {
    out.insert(out.end(), l.begin(), l.end());
    out.push_back('\n');
  }
  return out;
}

StoredCredential ListCredential(const std::vector<std::string>& items) {
  StoredCredential c;
  c.credential_id = "cred-codes";
  c.type = model::CredentialType::kTotp;
  c.metadata_json = "null";
  c.created_at = c.updated_at = 1;
  c.version = 1;
  c.ciphertext = JoinLines(items);  // stands in for the encrypted backupCodes
  c.wrapped_dek = {1, 2, 3};
  return c;
}

class MysqlBackendTest : public ScratchDatabaseTest {
 protected:
  std::unique_ptr<store::CredentialStore> OpenStore(int pool_size = 8) {
    store::MysqlStoreOptions options = Options();
    options.pool_size = pool_size;
    auto store = store::OpenMysqlStore(options);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
};

TEST_F(MysqlBackendTest, SixtyFourPopsAcrossTwoStoresHandOutFiftyDistinctItems) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  model::Identity id;
  id.name = "alice";
  id.wrapped_kek = {1};
  auto alice = a->CreateIdentity(id);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  std::vector<std::string> codes;
  for (int i = 0; i < 50; ++i) codes.push_back("code-" + std::to_string(1000 + i));
  ASSERT_TRUE(a->Mutate(alice->id, "totp", [&](const auto&) {
                 return Result(ListCredential(codes));
               }).ok());

  constexpr int kCallers = 64;
  std::vector<std::string> got(kCallers);
  std::vector<Status> failures(kCallers);
  std::barrier start(kCallers);
  std::vector<std::thread> threads;
  for (int t = 0; t < kCallers; ++t) {
    threads.emplace_back([&, t] {
      store::CredentialStore& store = (t % 2 == 0) ? *a : *b;
      start.arrive_and_wait();
      std::string popped;
      auto outcome =
          store.Mutate(alice->id, "totp",
                       [&](const std::optional<StoredCredential>& old) -> Result<StoredCredential> {
                         if (!old) return NotFoundError("gone");
                         std::vector<std::string> left = SplitLines(old->ciphertext);
                         if (left.empty())
                           return FailedPreconditionError("none left", "no_backup_codes");
                         StoredCredential next = *old;
                         popped = left.front();
                         left.erase(left.begin());
                         next.ciphertext = JoinLines(left);
                         next.version = old->version + 1;
                         return next;
                       });
      if (outcome.ok()) {
        got[t] = popped;
      } else {
        failures[t] = outcome.status();
      }
    });
  }
  for (std::thread& t : threads) t.join();

  std::set<std::string> distinct;
  int handed_out = 0;
  int none_left = 0;
  for (int t = 0; t < kCallers; ++t) {
    if (failures[t].ok()) {
      ++handed_out;
      distinct.insert(got[t]);
    } else if (failures[t].code() == StatusCode::kFailedPrecondition &&
               failures[t].error_code() == "no_backup_codes") {
      ++none_left;
    } else {
      ADD_FAILURE() << "caller " << t << ": " << failures[t].ToString();
    }
  }
  EXPECT_EQ(handed_out, 50);
  EXPECT_EQ(distinct.size(), 50u);
  EXPECT_EQ(distinct, std::set<std::string>(codes.begin(), codes.end()));
  EXPECT_EQ(none_left, 14);
  auto final_row = b->GetCredential(alice->id, "totp");
  ASSERT_TRUE(final_row.ok());
  EXPECT_TRUE(final_row->ciphertext.empty());
  EXPECT_EQ(final_row->version, 51);
}

TEST_F(MysqlBackendTest, StoresOpeningAnEmptyDatabaseAtOnceMigrateOnce) {
  constexpr int kOpeners = 4;
  std::vector<Status> results(kOpeners);
  std::vector<std::unique_ptr<store::CredentialStore>> stores(kOpeners);
  std::barrier start(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      auto store = store::OpenMysqlStore(MysqlOptionsFor(env_, db_->name()));
      if (store.ok()) {
        stores[i] = std::move(store).value();
      } else {
        results[i] = store.status();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();

  auto versions =
      MysqlQuery(env_, db_->name(), "SELECT COUNT(*), MAX(version) FROM schema_migrations");
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(versions->at(0).at(0), std::to_string(store::internal::kSchemaVersion));
  EXPECT_EQ(versions->at(0).at(1), std::to_string(store::internal::kSchemaVersion));
  auto tables = MysqlQuery(env_, db_->name(),
                           "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                           "DATABASE()");
  ASSERT_TRUE(tables.ok());
  // identities, api_keys, credentials, master_keys, audit_events, audit_checkpoints,
  // schema_migrations, schema_migration_lock
  EXPECT_EQ(tables->at(0).at(0), "8");

  // Every store works on the one schema, and sees the others' writes.
  model::Identity id;
  id.name = "shared";
  id.wrapped_kek = {1};
  ASSERT_TRUE(stores[0]->CreateIdentity(id).ok());
  for (auto& store : stores) {
    ASSERT_TRUE(store);
    EXPECT_TRUE(store->GetIdentityByName("shared").ok());
  }
}

TEST_F(MysqlBackendTest, PoolBoundsConnectionsAndTimesOutAsUnavailable) {
  store::MysqlStoreOptions options = MysqlOptionsFor(env_, db_->name());
  options.pool_size = 1;
  options.checkout_timeout_ms = 200;
  options.lock_wait_timeout_s = 3;
  auto store = store::OpenMysqlStore(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  model::Identity id;
  id.name = "alice";
  id.wrapped_kek = {1};
  auto alice = (*store)->CreateIdentity(id);
  ASSERT_TRUE(alice.ok());
  // While the one connection is inside a Mutate, another call cannot get one.
  Status inner;
  auto outcome = (*store)->Mutate(alice->id, "x", [&](const auto&) {
    auto start = std::chrono::steady_clock::now();
    inner = (*store)->Ping();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
    return Result(ListCredential({"a"}));
  });
  EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(inner.code(), StatusCode::kUnavailable) << inner.ToString();
  EXPECT_EQ(inner.error_code(), "store_unavailable");
  EXPECT_TRUE((*store)->Ping().ok());
}

}  // namespace
}  // namespace strongroom::testing
