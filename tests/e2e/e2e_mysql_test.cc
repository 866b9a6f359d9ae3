// The end-to-end suite on MySQL/MariaDB (config mode), plus what only a shared
// database allows: several Strongroom servers on one database (issue 4).
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "store/internal/migrations.h"
#include "tests/e2e/e2e_mysql_vault.h"
#include "tests/e2e/e2e_suite.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;

STRONGROOM_INSTANTIATE_E2E_SUITE(Mysql, MysqlE2eBackend());

// Releases all waiting threads at once.
class StartLine {
 public:
  explicit StartLine(int parties) : waiting_(parties) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mu_);
    if (--waiting_ == 0) cv_.notify_all();
    cv_.wait(lock, [this] { return waiting_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_;
};

// 64 concurrent POST /totp/backup split across two servers on one database,
// against 50 codes: exactly 50 distinct codes, 14 x 409 no_backup_codes.
TEST(E2eMysqlSharedDatabaseTest, ConcurrentBackupPopsAcrossTwoServers) {
  constexpr int kCodes = 50;
  constexpr int kCallers = 64;
  std::string error;
  std::unique_ptr<MysqlVault> vault = MysqlVault::Create(&error);
  ASSERT_NE(vault, nullptr) << error;
  std::unique_ptr<ServerProcess> a = vault->NewServer();
  std::unique_ptr<ServerProcess> b = vault->NewServer();
  ASSERT_TRUE(a->Start(&error)) << error;
  ASSERT_TRUE(b->Start(&error)) << error;
  const std::string key = a->dev_key();
  ASSERT_EQ(b->dev_key(), key);

  json codes = json::array();
  for (int i = 0; i < kCodes; ++i) codes.push_back("code-" + std::to_string(1000 + i));
  HttpClient setup(a->base_url());
  HttpResponse put =
      setup.PutJson("/v0/vault/shared-otp",
                    json{{"type", "TOTP"},
                         {"data", {{"secret", "JBSWY3DPEHPK3PXPJBSWY3DP"}, {"backupCodes", codes}}}}
                        .dump(),
                    key);
  ASSERT_EQ(put.status, 200) << put.body;
  // Both servers see it before the race starts.
  ASSERT_EQ(HttpClient(b->base_url()).Get("/v0/vault/shared-otp/totp", key).status, 200);

  std::vector<HttpResponse> results(kCallers);
  StartLine start(kCallers);
  std::vector<std::thread> callers;
  for (int i = 0; i < kCallers; ++i) {
    callers.emplace_back([&, i] {
      HttpClient client((i % 2 == 0 ? a : b)->base_url());
      start.ArriveAndWait();
      results[i] = client.Post("/v0/vault/shared-otp/totp/backup", key);
    });
  }
  for (auto& t : callers) t.join();

  std::multiset<std::string> handed_out;
  std::map<int, int> by_server_ok;
  int conflicts = 0;
  for (int i = 0; i < kCallers; ++i) {
    const HttpResponse& r = results[i];
    json body = json::parse(r.body, nullptr, false);
    if (r.status == 200) {
      handed_out.insert(body["code"].get<std::string>());
      ++by_server_ok[i % 2];
    } else if (r.status == 409) {
      EXPECT_EQ(body["error"], "no_backup_codes") << r.body;
      ++conflicts;
    } else {
      ADD_FAILURE() << "caller " << i << ": " << r.status << " " << r.body << r.error;
    }
  }
  EXPECT_EQ(handed_out.size(), static_cast<std::size_t>(kCodes));
  EXPECT_EQ(std::set<std::string>(handed_out.begin(), handed_out.end()).size(),
            static_cast<std::size_t>(kCodes))
      << "a code was handed out twice";
  std::set<std::string> expected;
  for (const auto& c : codes) expected.insert(c.get<std::string>());
  EXPECT_EQ(std::set<std::string>(handed_out.begin(), handed_out.end()), expected);
  EXPECT_EQ(conflicts, kCallers - kCodes);
  // Both servers took part in handing out codes.
  EXPECT_GT(by_server_ok[0], 0);
  EXPECT_GT(by_server_ok[1], 0);

  json full = json::parse(HttpClient(b->base_url()).Get("/v0/vault/shared-otp", key).body);
  EXPECT_EQ(full["data"]["backupCodes"], json::array());
  ASSERT_EQ(full["data"]["usedBackupCodes"].size(), static_cast<std::size_t>(kCodes));
  EXPECT_EQ(full["version"], 1 + kCodes);
}

// Two servers started at the same moment on an empty database both come up,
// and the schema is there once.
TEST(E2eMysqlSharedDatabaseTest, TwoServersStartTogetherOnAnEmptyDatabase) {
  std::string error;
  std::unique_ptr<MysqlVault> vault = MysqlVault::Create(&error);
  ASSERT_NE(vault, nullptr) << error;
  ASSERT_TRUE(vault->Query("SHOW TABLES").empty()) << "the database is not empty";

  std::unique_ptr<ServerProcess> servers[2] = {vault->NewServer(), vault->NewServer()};
  std::string errors[2];
  bool started[2] = {false, false};
  StartLine start(2);
  std::vector<std::thread> starters;
  for (int i = 0; i < 2; ++i) {
    starters.emplace_back([&, i] {
      start.ArriveAndWait();
      started[i] = servers[i]->Start(&errors[i]);
    });
  }
  for (auto& t : starters) t.join();
  ASSERT_TRUE(started[0]) << errors[0];
  ASSERT_TRUE(started[1]) << errors[1];

  for (auto& server : servers) {
    HttpResponse ready = HttpClient(server->base_url()).Get("/readyz");
    EXPECT_EQ(ready.status, 200) << ready.body;
  }
  // One schema: every migration recorded once, the expected tables and no others.
  std::vector<std::vector<std::string>> once;
  for (std::int64_t v = 1; v <= store::internal::kSchemaVersion; ++v) {
    once.push_back({std::to_string(v), "1"});
  }
  EXPECT_EQ(vault->Query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version"), once);
  EXPECT_EQ(vault->Query("SELECT table_name FROM information_schema.tables WHERE table_schema = "
                         "DATABASE() ORDER BY table_name"),
            (std::vector<std::vector<std::string>>{{"api_keys"},
                                                   {"audit_checkpoints"},
                                                   {"audit_events"},
                                                   {"credentials"},
                                                   {"identities"},
                                                   {"master_keys"},
                                                   {"schema_migrations"},
                                                   {"schema_migration_lock"}}));
  EXPECT_EQ(vault->Query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                         "DATABASE() AND engine <> 'InnoDB'"),
            (std::vector<std::vector<std::string>>{{"0"}}));

  // And they serve the same data.
  const std::string key = servers[0]->dev_key();
  HttpResponse put =
      HttpClient(servers[0]->base_url())
          .PutJson("/v0/vault/both", json{{"type", "CUSTOM"}, {"data", {{"v", "shared"}}}}.dump(),
                   key);
  ASSERT_EQ(put.status, 200) << put.body;
  HttpResponse got = HttpClient(servers[1]->base_url()).Get("/v0/vault/both", key);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body)["data"]["v"], "shared");
}

}  // namespace
}  // namespace strongroom::e2e
