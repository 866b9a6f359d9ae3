// The end-to-end suite, continued (issue 11, Loomal v0 parity): GET /v0/whoami,
// the unpaged list (REST and MCP), and lastUsedAt under a GET racing a
// DELETE-then-PUT of the same name, on every backend (see e2e_suite.h).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_suite.h"
#include "tests/e2e/mcp_call.h"
#include "tests/testing/http_client.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;

// The exact whoami body for `key` (SPEC 4); createdAt is the identity's, taken
// from the response after checking it is a time.
std::string ExpectedWhoami(std::int64_t identity_id, const std::string& identity,
                           const std::string& key, const std::string& scopes,
                           const std::string& key_expires_at, const std::string& created_at) {
  return R"({"identityId":")" + std::to_string(identity_id) + R"(","name":")" + identity +
         R"(","displayName":")" + identity +
         R"(","email":null,"type":"AGENT","purpose":null,"scopes":)" + scopes + R"(,"keyId":")" +
         key.substr(3, 16) + R"(","keyExpiresAt":)" + key_expires_at + R"(,"createdAt":")" +
         created_at + R"(","wallet":null})";
}

void ExpectWhoami(HttpClient& client, const std::string& key, std::int64_t identity_id,
                  const std::string& scopes, bool expiring) {
  HttpResponse r = client.Get("/v0/whoami", key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type").value_or(""), "application/json");
  const json body = Body(r);
  ASSERT_TRUE(body["createdAt"].is_string()) << r.body;
  const std::string created_at = body["createdAt"];
  EXPECT_EQ(created_at.size(), 24u) << created_at;  // 2026-11-28T14:07:21.123Z
  std::string expires = "null";
  if (expiring) {
    ASSERT_TRUE(body["keyExpiresAt"].is_string()) << r.body;
    expires = "\"" + body["keyExpiresAt"].get<std::string>() + "\"";
    EXPECT_GT(body["keyExpiresAt"].get<std::string>(), created_at);
  }
  EXPECT_EQ(r.body, ExpectedWhoami(identity_id, "dev", key, scopes, expires, created_at));
}

TEST_P(E2eTest, WhoamiShowsTheIdentityAndThePresentingKey) {
  const std::int64_t dev = vault().IdentityId("dev");
  const std::string reader = server().CreateKey("dev", {"vault:read"});
  const std::string writer = server().CreateKey("dev", {"vault:write"});
  const std::string expiring = server().CreateKey("dev", {"vault:read"}, "1h");
  ASSERT_FALSE(reader.empty() || writer.empty() || expiring.empty());
  ExpectWhoami(*client_, key_, dev, R"(["vault:read","vault:write"])", false);
  ExpectWhoami(*client_, reader, dev, R"(["vault:read"])", false);
  ExpectWhoami(*client_, writer, dev, R"(["vault:write"])", false);  // no scope needed
  ExpectWhoami(*client_, expiring, dev, R"(["vault:read"])", true);
  // Same identity, same createdAt whichever key asks.
  EXPECT_EQ(Body(client_->Get("/v0/whoami", reader))["createdAt"],
            Body(client_->Get("/v0/whoami", key_))["createdAt"]);

  for (const std::string& bad :
       {std::string(), std::string("sr_0123456789abcdef_nope"), reader + "x"}) {
    HttpResponse r = client_->Get("/v0/whoami", bad);
    ExpectError(r, 401, "unauthorized");
    EXPECT_EQ(r.Header("www-authenticate").value_or(""), "Bearer");
  }
  HttpResponse post = client_->Post("/v0/whoami", key_);
  ExpectError(post, 405, "method_not_allowed");
  EXPECT_EQ(post.Header("allow").value_or(""), "GET");
}

// `n` credentials (n coprime with 97), put in a scrambled order; their sorted names.
std::vector<std::string> PutMany(HttpClient& client, const std::string& key, int n) {
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "cred-%03d", (i * 97) % n);  // 97 is coprime with 250
    HttpResponse r = client.PutJson(
        std::string("/v0/vault/") + name,
        json{{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"metadata", {{"n", i}}}}.dump(),
        key);
    EXPECT_EQ(r.status, 200) << r.body;
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Names(const json& list) {
  std::vector<std::string> names;
  for (const auto& c : list["credentials"]) names.push_back(c["name"]);
  return names;
}

TEST_P(E2eTest, ListWithoutLimitReturnsEverything) {
  ASSERT_EQ(server().Admin({"identity", "create", "loomal-list"}).exit_code, 0);
  const std::string key = server().CreateKey("loomal-list", {"vault:read", "vault:write"});
  ASSERT_FALSE(key.empty());
  const std::vector<std::string> all = PutMany(*client_, key, 250);

  HttpResponse r = client_->Get("/v0/vault", key);
  ASSERT_EQ(r.status, 200);
  json listed = Body(r);
  EXPECT_EQ(listed["count"], 250);
  EXPECT_TRUE(listed["nextCursor"].is_null());
  EXPECT_EQ(Names(listed), all);
  EXPECT_EQ(r.body.find(R"({"credentials":[{"credentialId":")"), 0u);

  // limit=100 pages as before: 100, 100, 50.
  std::vector<std::string> paged;
  std::string cursor;
  std::vector<std::size_t> sizes;
  for (int page = 0; page < 5; ++page) {
    std::string path = "/v0/vault?limit=100";
    if (!cursor.empty()) path += "&cursor=" + testing::UrlEncode(cursor);
    json body = Body(client_->Get(path, key));
    sizes.push_back(body["credentials"].size());
    EXPECT_EQ(body["count"], body["credentials"].size());
    for (const auto& name : Names(body)) paged.push_back(name);
    if (body["nextCursor"].is_null()) break;
    cursor = body["nextCursor"];
  }
  EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 100, 50}));
  EXPECT_EQ(paged, all);

  // A cursor without limit: everything after it.
  json first = Body(client_->Get("/v0/vault?limit=100", key));
  json rest = Body(client_->Get(
      "/v0/vault?cursor=" + testing::UrlEncode(first["nextCursor"].get<std::string>()), key));
  EXPECT_EQ(rest["count"], 150);
  EXPECT_TRUE(rest["nextCursor"].is_null());
  EXPECT_EQ(Names(rest), std::vector<std::string>(all.begin() + 100, all.end()));
  ExpectError(client_->Get("/v0/vault?limit=1001", key), 400, "invalid_limit");

  // MCP vault.list follows the same rule.
  const json result = McpCall(*client_, key, "vault.list", json::object())["structuredContent"];
  EXPECT_EQ(result["count"], 250);
  EXPECT_TRUE(result["nextCursor"].is_null());
  EXPECT_EQ(Names(result), all);
}

// A GET racing DELETE-then-PUT of its name never marks the new credential used
// before it was created (issue 11): uses are recorded by credentialId.
TEST_P(E2eTest, LastUsedNeverPrecedesCreationUnderDeleteAndPut) {
  const std::string name = "loomal-race";
  const std::string path = "/v0/vault/" + name;
  const std::string body = json{{"type", "CUSTOM"}, {"data", {{"v", "x"}}}}.dump();
  ASSERT_EQ(client_->PutJson(path, body, key_).status, 200);
  const std::string base_url = client_->base_url();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<std::string> violations;
  std::set<std::string> ids_read;
  int reads = 0;
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      HttpClient client(base_url);
      while (!done.load() && std::chrono::steady_clock::now() < deadline) {
        HttpResponse r = client.Get(path, key_);
        if (r.status != 200) continue;  // 404 between DELETE and PUT
        json c = Body(r);
        std::lock_guard<std::mutex> lock(mu);
        ++reads;
        ids_read.insert(c.value("credentialId", ""));
        if (!c["lastUsedAt"].is_string() || c["lastUsedAt"] < c["createdAt"]) {
          violations.push_back(c.dump());
        }
      }
    });
  }
  int cycles = 0;
  for (; cycles < 200 && std::chrono::steady_clock::now() < deadline; ++cycles) {
    // No ASSERT here: the readers must be joined.
    if (client_->Delete(path, key_).status != 204) break;
    if (client_->PutJson(path, body, key_).status != 200) break;
  }
  done = true;
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(cycles, 200);
  EXPECT_GT(reads, 0);
  EXPECT_GT(ids_read.size(), 1u);
  EXPECT_TRUE(violations.empty()) << violations.size() << " e.g. " << violations.front();

  // The final credential as stored (a list records no use), before and after
  // the server's flush of pending uses (every 1 s).
  auto check_final = [&] {
    json listed = Body(client_->Get("/v0/vault", key_));
    for (const auto& c : listed["credentials"]) {
      if (c["name"] != name) continue;
      EXPECT_TRUE(c["lastUsedAt"].is_null() || c["lastUsedAt"] >= c["createdAt"]) << c.dump();
      return;
    }
    ADD_FAILURE() << "final credential not listed";
  };
  check_final();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  check_final();
}

}  // namespace
}  // namespace strongroom::e2e
