// Issue 4: restart MariaDB under a loop of reads. Runs alone (RUN_SERIAL): it
// stops the shared test server and starts it again on the same port.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "tests/mysql/mysql_test_env.h"

namespace strongroom::testing {
namespace {

using Clock = std::chrono::steady_clock;

TEST(MysqlOutageTest, ReadsFailFastDuringARestartAndRecoverWithoutReopening) {
  auto env = LoadMysqlTestEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto db = ScratchDatabase::Create(*env);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto store = store::OpenMysqlStore(MysqlOptionsFor(*env, (*db)->name()));
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  model::Identity id;
  id.name = "alice";
  id.wrapped_kek = {1};
  auto alice = (*store)->CreateIdentity(id);
  ASSERT_TRUE(alice.ok());
  model::StoredCredential c;
  c.credential_id = "c1";
  c.type = model::CredentialType::kLogin;
  c.metadata_json = "null";
  c.created_at = c.updated_at = 1;
  c.version = 1;
  c.ciphertext = {9, 9, 9};
  c.wrapped_dek = {1};
  ASSERT_TRUE((*store)->Mutate(alice->id, "db", [&](const auto&) { return Result(c); }).ok());

  struct Sample {
    Clock::time_point at;
    Clock::duration took;
    Status status;
  };
  std::atomic<bool> stop{false};
  std::vector<Sample> samples;
  std::thread loop([&] {
    while (!stop.load()) {
      auto start = Clock::now();
      auto got = (*store)->GetCredential(alice->id, "db");
      samples.push_back({start, Clock::now() - start, got.ok() ? Status::Ok() : got.status()});
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto down_at = Clock::now();
  ASSERT_EQ(RunMariadbScript("kill-server"), 0);
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto restart_at = Clock::now();
  int started = RunMariadbScript("start-server");
  const auto up_at = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  stop.store(true);
  loop.join();
  ASSERT_EQ(started, 0) << "could not restart MariaDB";

  int during = 0;
  int after_ok = 0;
  int after_failed = 0;
  for (const Sample& s : samples) {
    EXPECT_LT(s.took, std::chrono::seconds(2))
        << "a request hung for "
        << std::chrono::duration_cast<std::chrono::milliseconds>(s.took).count()
        << " ms: " << s.status.ToString();
    if (!s.status.ok()) {
      EXPECT_EQ(s.status.code(), StatusCode::kUnavailable) << s.status.ToString();
      EXPECT_EQ(s.status.error_code(), "store_unavailable") << s.status.ToString();
    }
    if (s.at > down_at + std::chrono::milliseconds(300) && s.at < restart_at) {
      ++during;
      EXPECT_FALSE(s.status.ok()) << "read succeeded while the server was down";
    }
    if (s.at > up_at) (s.status.ok() ? after_ok : after_failed)++;
  }
  EXPECT_GT(during, 10);
  EXPECT_GT(after_ok, 10);
  EXPECT_EQ(after_failed, 0) << "reads kept failing after the server came back";

  // Writes work again too, on the same store object.
  auto written = (*store)->Mutate(alice->id, "db", [&](const auto&) {
    c.version = 2;
    return Result(c);
  });
  EXPECT_TRUE(written.ok()) << written.status().ToString();
}

}  // namespace
}  // namespace strongroom::testing
