// Issue 4: restart MariaDB under a Strongroom server while a client loops over
// GETs. Runs alone (RUN_SERIAL): it stops the shared test server and starts it
// again on the same port and datadir (ops/mariadb.sh kill-server/start-server).
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_mysql_vault.h"
#include "tests/mysql/mysql_test_env.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;
using Clock = std::chrono::steady_clock;

std::int64_t Millis(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

TEST(E2eMysqlOutageTest, GetsAnswer503QuicklyDuringARestartAndRecoverWithoutRestart) {
  std::string error;
  std::unique_ptr<MysqlVault> vault = MysqlVault::Create(&error);
  ASSERT_NE(vault, nullptr) << error;
  std::unique_ptr<ServerProcess> server = vault->NewServer();
  ASSERT_TRUE(server->Start(&error)) << error;
  const std::string key = server->dev_key();
  HttpClient setup(server->base_url());
  HttpResponse put =
      setup.PutJson("/v0/vault/db",
                    json{{"type", "DATABASE"}, {"data", {{"password", "pw-outage"}}}}.dump(), key);
  ASSERT_EQ(put.status, 200) << put.body;

  struct Sample {
    Clock::time_point at;
    Clock::duration took;
    HttpResponse response;
  };
  // Bounded: at most kMaxRequests, and the loop stops after the checks below
  // (about 10 s), whichever comes first.
  constexpr int kMaxRequests = 2000;
  std::atomic<bool> stop{false};
  std::vector<Sample> samples;
  samples.reserve(kMaxRequests);
  const std::string base = server->base_url();
  std::thread loop([&] {
    HttpClient client(base);
    while (!stop.load() && samples.size() < kMaxRequests) {
      const auto start = Clock::now();
      HttpResponse r = client.Get("/v0/vault/db", key);
      samples.push_back({start, Clock::now() - start, std::move(r)});
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });

  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const auto down_at = Clock::now();
  const int killed = testing::RunMariadbScript("kill-server");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  HttpResponse ready_during = HttpClient(base).Get("/readyz");
  const auto restart_at = Clock::now();
  const int started = testing::RunMariadbScript("start-server");
  const auto up_at = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  stop.store(true);
  loop.join();
  ASSERT_EQ(killed, 0) << "could not stop MariaDB";
  ASSERT_EQ(started, 0) << "could not restart MariaDB";
  ASSERT_TRUE(server->running());

  int before_ok = 0, during = 0, after_ok = 0, after_failed = 0;
  for (const Sample& s : samples) {
    const HttpResponse& r = s.response;
    SCOPED_TRACE("request at +" + std::to_string(Millis(s.at - down_at)) + " ms");
    EXPECT_LT(s.took, std::chrono::seconds(2))
        << "a request took " << Millis(s.took) << " ms: " << r.status << " " << r.body;
    if (r.status != 200) {
      EXPECT_EQ(r.status, 503) << r.body << r.error;
      json body = json::parse(r.body, nullptr, false);
      EXPECT_EQ(body["error"], "store_unavailable") << r.body;
      EXPECT_TRUE(r.Header("retry-after").has_value()) << "503 without Retry-After";
      EXPECT_EQ(r.body.find("pw-outage"), std::string::npos);
    }
    if (s.at < down_at && r.status == 200) ++before_ok;
    if (s.at > down_at + std::chrono::milliseconds(300) && s.at < restart_at) {
      ++during;
      EXPECT_EQ(r.status, 503) << "GET answered " << r.status << " while MariaDB was down";
    }
    if (s.at > up_at) {
      if (r.status == 200) {
        ++after_ok;
        EXPECT_EQ(json::parse(r.body)["data"]["password"], "pw-outage");
      } else {
        ++after_failed;
      }
    }
  }
  EXPECT_GT(before_ok, 5);
  EXPECT_GT(during, 10);
  EXPECT_GT(after_ok, 10);
  EXPECT_EQ(after_failed, 0) << "GETs kept failing after MariaDB came back";
  EXPECT_EQ(ready_during.status, 503) << ready_during.body;

  // The same server process recovered: readiness, reads and writes.
  HttpClient after(base);
  EXPECT_EQ(after.Get("/readyz").status, 200);
  HttpResponse write = after.PutJson(
      "/v0/vault/db", json{{"type", "DATABASE"}, {"data", {{"password", "pw-2"}}}}.dump(), key);
  EXPECT_EQ(write.status, 200) << write.body;
  EXPECT_EQ(json::parse(after.Get("/v0/vault/db", key).body)["data"]["password"], "pw-2");
  EXPECT_EQ(server->Stop(), 0) << server->StderrText();
}

}  // namespace
}  // namespace strongroom::e2e
