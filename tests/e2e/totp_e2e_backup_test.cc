// End-to-end tests of issue 3 against the real `strongroom serve --dev`
// process, continued: atomic backup-code consumption (concurrent pops, kill -9
// mid-burst), lastUsedAt, and the scope, identity and expiry guards of /totp
// and /totp/backup (see totp_e2e_fixture.h).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/totp_e2e_fixture.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::totp_e2e {
namespace {

TEST_F(TotpE2eTest, SixtyFourConcurrentPopsHandOutFiftyCodesOnce) {
  const std::string name = "pop-race";
  const std::string seed = Seed("pop-race");
  const std::vector<std::string> codes = BackupCodes("race", 50);
  json body = {{"type", "TOTP"},
               {"data", {{"secret", seed}, {"backupCodes", codes}}},
               {"metadata", {{"issuer", "ACME"}, {"algorithm", "SHA512"}, {"digits", 8}}}};
  ASSERT_EQ(Put(name, body).status, 200);
  HttpResponse before_response = Get(name);
  ASSERT_EQ(before_response.status, 200);
  const json before = Body(before_response);

  constexpr int kClients = 64;
  std::vector<HttpResponse> responses(kClients);
  std::latch ready(kClients);
  std::vector<std::thread> threads;
  const std::string base = server_->base_url();
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(base);  // its own connection
      ready.arrive_and_wait();
      responses[i] = client.Post("/v0/vault/" + name + "/totp/backup", key_);
    });
  }
  for (auto& t : threads) t.join();

  std::map<int, std::string> by_remaining;  // remaining -> code
  std::set<std::string> handed_out;
  int conflicts = 0;
  for (const auto& r : responses) {
    if (r.status == 409) {
      ExpectError(r, 409, "no_backup_codes");
      ++conflicts;
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    json b = Body(r);
    ASSERT_EQ(b.size(), 3u) << r.body;
    ASSERT_TRUE(b["code"].is_string()) << r.body;
    ASSERT_TRUE(b["remaining"].is_number_integer()) << r.body;
    EXPECT_EQ(b["backupCodesRemaining"], b["remaining"]) << r.body;
    EXPECT_TRUE(handed_out.insert(b["code"].get<std::string>()).second)
        << "handed out twice: " << r.body;
    EXPECT_TRUE(by_remaining.emplace(b["remaining"].get<int>(), b["code"]).second)
        << "remaining repeated: " << r.body;
  }
  EXPECT_EQ(handed_out.size(), 50u);
  EXPECT_EQ(conflicts, 14);
  EXPECT_EQ(handed_out, std::set<std::string>(codes.begin(), codes.end()));

  // Hand-out order: remaining 49 came first, 0 last.
  std::vector<std::string> order;
  for (auto it = by_remaining.rbegin(); it != by_remaining.rend(); ++it) {
    order.push_back(it->second);
  }
  ASSERT_EQ(by_remaining.size(), 50u);
  EXPECT_EQ(by_remaining.begin()->first, 0);
  EXPECT_EQ(by_remaining.rbegin()->first, 49);
  EXPECT_EQ(order, codes);  // the first unused code is always the one taken

  HttpResponse after_response = Get(name);
  ASSERT_EQ(after_response.status, 200) << after_response.body;
  const json after = Body(after_response);
  EXPECT_EQ(after["data"]["backupCodes"], json::array());
  EXPECT_EQ(Strings(after["data"]["usedBackupCodes"]), order);
  EXPECT_EQ(after["data"]["secret"], "[REDACTED]");
  EXPECT_EQ(after["data"].size(), 3u) << after["data"].dump();
  for (const char* field :
       {"credentialId", "name", "type", "metadata", "expiresAt", "createdAt", "lastRotatedAt"}) {
    EXPECT_EQ(after[field], before[field]) << field;
  }
  EXPECT_EQ(after["version"], before["version"].get<int>() + 50);
  EXPECT_GE(after["updatedAt"].get<std::string>(), before["updatedAt"].get<std::string>());

  // The seed survived 50 re-encryptions.
  TotpSample s = SampleTotp(*client_, key_, name, "SHA512", 8, 30, seed);
  ExpectTotpMatches(s, 8, 30, 0);
  ExpectError(Pop(name), 409, "no_backup_codes");
}

TEST(TotpE2eCrashTest, Kill9MidPopBurstNeverLosesOrDuplicatesACode) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const std::string key = server.dev_key();
  const std::string name = "pop-crash";
  const std::vector<std::string> codes = BackupCodes("crash", 200);
  {
    HttpClient client(server.base_url());
    HttpResponse put = client.PutJson(
        "/v0/vault/" + name,
        json{{"type", "TOTP"}, {"data", {{"secret", Seed("crash")}, {"backupCodes", codes}}}}
            .dump(),
        key);
    ASSERT_EQ(put.status, 200) << put.body;
  }

  std::mutex mu;
  std::vector<json> acknowledged;  // 200 bodies received before the kill
  std::atomic<bool> stop{false};
  std::atomic<int> total{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> poppers;
  const std::string base = server.base_url();
  for (int t = 0; t < 8; ++t) {
    poppers.emplace_back([&] {
      HttpClient client(base);
      while (!stop) {
        HttpResponse r = client.Post("/v0/vault/" + name + "/totp/backup", key);
        if (r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(Body(r));
          ++total;
        } else if (r.status == 0) {
          return;  // the server is gone
        } else {
          ++unexpected;  // 409 cannot happen before 200 pops
          return;
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < 60 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server.Kill9();
  stop = true;
  for (auto& p : poppers) p.join();
  EXPECT_EQ(unexpected.load(), 0);
  ASSERT_GT(total.load(), 0);
  ASSERT_LT(total.load(), 200) << "the burst ended before the kill";

  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient client(server.base_url());
  HttpResponse got = client.Get("/v0/vault/" + name, key);
  ASSERT_EQ(got.status, 200) << got.body;
  json full = Body(got);
  const std::vector<std::string> used = Strings(full["data"]["usedBackupCodes"]);
  const std::vector<std::string> unused = Strings(full["data"]["backupCodes"]);

  // Never lost, never duplicated, never both used and unused.
  std::vector<std::string> all = used;
  all.insert(all.end(), unused.begin(), unused.end());
  std::vector<std::string> sorted_all = all;
  std::sort(sorted_all.begin(), sorted_all.end());
  std::vector<std::string> sorted_codes = codes;
  std::sort(sorted_codes.begin(), sorted_codes.end());
  EXPECT_EQ(sorted_all, sorted_codes);
  // And in order: the used ones are a prefix of the original list.
  EXPECT_EQ(all, codes);

  // Every acknowledged code is used, at the place its `remaining` says; a pop
  // that committed just before the kill may be used without an acknowledgement.
  const std::set<std::string> used_set(used.begin(), used.end());
  EXPECT_GE(used.size(), acknowledged.size());
  for (const auto& ack : acknowledged) {
    const std::string code = ack["code"];
    const int remaining = ack["remaining"];
    EXPECT_TRUE(used_set.count(code) == 1) << code;
    EXPECT_EQ(code, codes[static_cast<std::size_t>(199 - remaining)]);
  }
  // Data and version move together: one write per pop.
  EXPECT_EQ(full["version"], 1 + used.size());

  // Popping resumes where it stopped.
  if (!unused.empty()) {
    json next = Body(client.Post("/v0/vault/" + name + "/totp/backup", key));
    EXPECT_EQ(next["code"], unused.front());
    EXPECT_EQ(next["remaining"], unused.size() - 1);
  }
}

TEST_F(TotpE2eTest, TotpAndPopSetLastUsedAt) {
  const std::string seed = Seed("last-used");
  ASSERT_EQ(
      Put("last-used", {{"type", "TOTP"}, {"data", {{"secret", seed}, {"backupCodes", {"lu-1"}}}}})
          .status,
      200);
  EXPECT_TRUE(Listed("last-used")["lastUsedAt"].is_null());
  ASSERT_EQ(Totp("last-used").status, 200);
  json after_totp = Listed("last-used")["lastUsedAt"];
  ASSERT_TRUE(after_totp.is_string()) << after_totp.dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Pop("last-used").status, 200);
  json after_pop = Listed("last-used")["lastUsedAt"];
  ASSERT_TRUE(after_pop.is_string()) << after_pop.dump();
  EXPECT_GT(after_pop.get<std::string>(), after_totp.get<std::string>());
}

TEST_F(TotpE2eTest, ScopesIdentitiesAndExpiryGuardTotpAndPop) {
  const std::string seed = Seed("guarded");
  ASSERT_EQ(Put("guarded",
                {{"type", "TOTP"}, {"data", {{"secret", seed}, {"backupCodes", {"g-1", "g-2"}}}}})
                .status,
            200);
  // /totp needs vault:read, the pop vault:write (SPEC 4).
  const std::string reader = server_->CreateKey("dev", {"vault:read"});
  const std::string writer = server_->CreateKey("dev", {"vault:write"});
  ASSERT_FALSE(reader.empty());
  ASSERT_FALSE(writer.empty());
  EXPECT_EQ(client_->Get("/v0/vault/guarded/totp", reader).status, 200);
  ExpectError(client_->Post("/v0/vault/guarded/totp/backup", reader), 403, "insufficient_scope");
  ExpectError(client_->Get("/v0/vault/guarded/totp", writer), 403, "insufficient_scope");
  // Another identity cannot even detect the credential.
  ASSERT_EQ(server_->Admin({"identity", "create", "totp-other"}).exit_code, 0);
  const std::string other = server_->CreateKey("totp-other", {"vault:read", "vault:write"});
  ASSERT_FALSE(other.empty());
  ExpectError(client_->Get("/v0/vault/guarded/totp", other), 404, "not_found");
  ExpectError(client_->Post("/v0/vault/guarded/totp/backup", other), 404, "not_found");
  // None of that consumed a code.
  json full = Body(Get("guarded"));
  EXPECT_EQ(full["data"]["backupCodes"], (json{"g-1", "g-2"}));
  EXPECT_EQ(full["version"], 1);
  EXPECT_EQ(Body(client_->Post("/v0/vault/guarded/totp/backup", writer))["code"], "g-1");

  // Expired: 410 for both, and no code is consumed.
  ASSERT_EQ(Put("expired-totp", {{"type", "TOTP"},
                                 {"data", {{"secret", seed}, {"backupCodes", {"e-1"}}}},
                                 {"expiresAt", "2020-01-01T00:00:00Z"}})
                .status,
            200);
  ExpectError(Totp("expired-totp"), 410, "expired");
  ExpectError(Pop("expired-totp"), 410, "expired");
  json listed = Listed("expired-totp");
  EXPECT_EQ(listed["version"], 1);
}

}  // namespace
}  // namespace strongroom::totp_e2e
