// The end-to-end suite (see e2e_suite.h), continued: identities, timestamps
// and versions, TOTP and backup codes, tampered ciphertext, secrets at rest and
// kill -9 durability, on every backend. The API surface (routes, validation,
// auth) is in e2e_suite.cc.
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_suite.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;

TEST_P(E2eTest, IdentitiesAreIsolated) {
  auto created = server().Admin({"identity", "create", "tenant-b"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string b_key = server().CreateKey("tenant-b", {"vault:read", "vault:write"});
  ASSERT_FALSE(b_key.empty());
  ASSERT_EQ(Put("a-private", {{"type", "CUSTOM"}, {"data", {{"v", "a-only"}}}}).status, 200);
  HttpResponse missing = Get("never-existed", b_key);
  HttpResponse foreign = Get("a-private", b_key);
  ExpectError(foreign, 404, "not_found");
  EXPECT_EQ(foreign.body, missing.body);  // indistinguishable
  ExpectError(client_->Delete("/v0/vault/a-private", b_key), 404, "not_found");
  ExpectError(client_->Get("/v0/vault/a-private/totp", b_key), 404, "not_found");
  json b_list = Body(client_->Get("/v0/vault?limit=1000", b_key));
  EXPECT_EQ(b_list["count"], 0) << b_list.dump();
  // B's own credential of the same name does not touch A's.
  ASSERT_EQ(Put("a-private", {{"type", "CUSTOM"}, {"data", {{"v", "b-own"}}}}, b_key).status, 200);
  EXPECT_EQ(Body(Get("a-private"))["data"]["v"], "a-only");
  EXPECT_EQ(Body(Get("a-private", b_key))["data"]["v"], "b-own");
}

TEST_P(E2eTest, TimestampsAndVersions) {
  json body = {{"type", "LOGIN"}, {"data", {{"password", "v1"}}}};
  json created = Body(Put("times", body));
  EXPECT_TRUE(created["lastUsedAt"].is_null());
  EXPECT_TRUE(created["lastRotatedAt"].is_null());
  EXPECT_EQ(created["version"], 1);
  auto listed_entry = [&]() {
    json listed = Body(client_->Get("/v0/vault?limit=1000", key_));
    for (const auto& c : listed["credentials"]) {
      if (c["name"] == "times") return c;
    }
    return json();
  };
  EXPECT_TRUE(listed_entry()["lastUsedAt"].is_null());  // list is not a use
  json got = Body(Get("times"));
  ASSERT_TRUE(got["lastUsedAt"].is_string()) << got.dump();
  json after_get = listed_entry();
  EXPECT_EQ(after_get["lastUsedAt"], got["lastUsedAt"]);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(listed_entry()["lastUsedAt"], got["lastUsedAt"]);  // unchanged by list

  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  body["data"]["password"] = "v2";
  json replaced = Body(Put("times", body));
  EXPECT_EQ(replaced["created"], false);
  EXPECT_EQ(replaced["version"], 2);
  EXPECT_EQ(replaced["credentialId"], created["credentialId"]);
  EXPECT_EQ(replaced["createdAt"], created["createdAt"]);
  ASSERT_TRUE(replaced["lastRotatedAt"].is_string());
  EXPECT_GT(replaced["lastRotatedAt"].get<std::string>(), created["createdAt"].get<std::string>());
  EXPECT_EQ(replaced["lastUsedAt"], got["lastUsedAt"]);
  EXPECT_EQ(Body(Put("times", body))["version"], 3);
  EXPECT_EQ(Body(Get("times"))["data"]["password"], "v2");
  EXPECT_EQ(client_->Delete("/v0/vault/times", key_).status, 204);
  json again = Body(Put("times", body));
  EXPECT_EQ(again["created"], true);
  EXPECT_EQ(again["version"], 1);
  EXPECT_NE(again["credentialId"], created["credentialId"]);
  EXPECT_TRUE(again["lastUsedAt"].is_null());
}

TEST_P(E2eTest, TotpAndBackupCodes) {
  json body = {{"type", "TOTP"},
               {"data", {{"secret", "JBSWY3DPEHPK3PXPJBSWY3DP"}, {"backupCodes", {"c-1", "c-2"}}}}};
  ASSERT_EQ(Put("otp", body).status, 200);
  HttpResponse code = client_->Get("/v0/vault/otp/totp", key_);
  ASSERT_EQ(code.status, 200) << code.body;
  json c = Body(code);
  EXPECT_TRUE(std::regex_match(c["code"].get<std::string>(), std::regex("[0-9]{6}"))) << code.body;
  EXPECT_GE(c["remaining"].get<int>(), 1);
  EXPECT_LE(c["remaining"].get<int>(), 30);
  EXPECT_EQ(c["backupCodesRemaining"], 2);
  EXPECT_EQ(c["digits"], 6);
  EXPECT_EQ(c["period"], 30);
  EXPECT_EQ(code.body.find("c-1"), std::string::npos);

  json first = Body(client_->Post("/v0/vault/otp/totp/backup", key_));
  EXPECT_EQ(first, (json{{"code", "c-1"}, {"remaining", 1}, {"backupCodesRemaining", 1}}));
  json second = Body(client_->Post("/v0/vault/otp/totp/backup", key_));
  EXPECT_EQ(second, (json{{"code", "c-2"}, {"remaining", 0}, {"backupCodesRemaining", 0}}));
  ExpectError(client_->Post("/v0/vault/otp/totp/backup", key_), 409, "no_backup_codes");
  json full = Body(Get("otp"));
  EXPECT_EQ(full["data"]["secret"], "[REDACTED]");
  EXPECT_EQ(full["data"]["usedBackupCodes"], (json{"c-1", "c-2"}));
  EXPECT_EQ(full["version"], 3);

  ASSERT_EQ(Put("not-otp", {{"type", "CUSTOM"}, {"data", {{"a", "b"}}}}).status, 200);
  ExpectError(client_->Get("/v0/vault/not-otp/totp", key_), 400, "not_totp");
  ExpectError(client_->Post("/v0/vault/not-otp/totp/backup", key_), 400, "not_totp");
  ExpectError(client_->Get("/v0/vault/nope/totp", key_), 404, "not_found");
}

TEST_P(E2eTest, TamperedOrMovedCiphertextIsAnIntegrityError) {
  ASSERT_EQ(Put("int-a", {{"type", "CUSTOM"}, {"data", {{"v", "a"}}}}).status, 200);
  ASSERT_EQ(Put("int-b", {{"type", "CUSTOM"}, {"data", {{"v", "b"}}}}).status, 200);
  ASSERT_EQ(Put("int-c", {{"type", "CUSTOM"}, {"data", {{"v", "c"}}}}).status, 200);
  auto created = server().Admin({"identity", "create", "tenant-int"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  std::string other_key = server().CreateKey("tenant-int", {"vault:read", "vault:write"});
  ASSERT_EQ(Put("int-a", {{"type", "CUSTOM"}, {"data", {{"v", "other"}}}}, other_key).status, 200);

  E2eVault& db = vault();
  std::int64_t dev = db.IdentityId("dev");
  std::int64_t other = db.IdentityId("tenant-int");
  ASSERT_GT(dev, 0);
  ASSERT_GT(other, 0);

  // 1. A flipped ciphertext byte.
  Envelope env = db.GetEnvelope(dev, "int-a");
  ASSERT_GT(env.ciphertext.size(), 20u);
  env.ciphertext[env.ciphertext.size() / 2] ^= 0x01;
  db.SetEnvelope(dev, "int-a", env);
  HttpResponse flipped = Get("int-a");
  ExpectError(flipped, 500, "integrity_error");
  EXPECT_EQ(flipped.body.find("\"v\""), std::string::npos);

  // 2. Another row's envelope copied over (same identity, different name).
  db.SetEnvelope(dev, "int-b", db.GetEnvelope(dev, "int-c"));
  ExpectError(Get("int-b"), 500, "integrity_error");

  // 3. Another identity's envelope for the same name.
  db.SetEnvelope(other, "int-a", db.GetEnvelope(dev, "int-c"));
  ExpectError(Get("int-a", other_key), 500, "integrity_error");

  EXPECT_EQ(Body(Get("int-c"))["data"]["v"], "c");  // the source row is untouched
}

// Secrets and keys never reach the disk (SQLite file and WAL; MySQL dump and
// datadir) or the logs in the clear.
TEST_P(E2eAtRestTest, NoSecretOrKeyInDatabaseWalOrLogs) {
  std::string error;
  std::unique_ptr<E2eVault> vault = GetParam().new_vault(&error);
  ASSERT_NE(vault, nullptr) << error;
  std::unique_ptr<ServerProcess> server_ptr = vault->NewServer();
  ServerProcess& server = *server_ptr;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient client(server.base_url());
  const std::string key = server.dev_key();
  std::string extra_key = server.CreateKey("dev", {"vault:read"});
  ASSERT_FALSE(extra_key.empty());
  const std::vector<std::string> secrets = {"Zq7-SECRET-PASSWORD-4f1b9e",
                                            "Zq7-SECRET-APIKEY-77aa01", "Zq7-SECRET-TOKEN-c0ffee",
                                            "Zq7-SECRET-PRIVKEY-d00d42", "Zq7-BACKUP-CODE-9911"};
  ASSERT_EQ(client
                .PutJson("/v0/vault/login",
                         json{{"type", "LOGIN"},
                              {"data", {{"password", secrets[0]}}},
                              {"metadata", {{"username", "visible-username"}}}}
                             .dump(),
                         key)
                .status,
            200);
  ASSERT_EQ(client
                .PutJson("/v0/vault/api",
                         json{{"type", "API_KEY"}, {"data", {{"key", secrets[1]}}}}.dump(), key)
                .status,
            200);
  ASSERT_EQ(
      client
          .PutJson("/v0/vault/oauth",
                   json{{"type", "OAUTH"}, {"data", {{"accessToken", secrets[2]}}}}.dump(), key)
          .status,
      200);
  ASSERT_EQ(
      client
          .PutJson("/v0/vault/ssh",
                   json{{"type", "SSH_KEY"}, {"data", {{"privateKey", secrets[3]}}}}.dump(), key)
          .status,
      200);
  ASSERT_EQ(
      client
          .PutJson("/v0/vault/otp",
                   json{{"type", "TOTP"},
                        {"data",
                         {{"secret", "JBSWY3DPEHPK3PXPJBSWY3DP"}, {"backupCodes", {secrets[4]}}}}}
                       .dump(),
                   key)
          .status,
      200);
  ASSERT_EQ(client.Get("/v0/vault/login", key).status, 200);
  ASSERT_EQ(client.Post("/v0/vault/otp/totp/backup", key).status, 200);
  ExpectError(client.Get("/v0/vault", key + "x"), 401, "unauthorized");

  auto check_files = [&](const std::string& when) {
    const auto at_rest = vault->BytesAtRest();
    ASSERT_FALSE(at_rest.empty()) << when;
    // The plaintext metadata is there: proves we are grepping the right bytes.
    EXPECT_NE(at_rest.front().second.find("visible-username"), std::string::npos)
        << when << ": " << at_rest.front().first;
    for (const auto& [what, bytes] : at_rest) {
      for (const auto& s : secrets) {
        EXPECT_EQ(bytes.find(s), std::string::npos) << when << ": " << s << " in " << what;
      }
      for (const auto& k : {key, extra_key}) {
        std::string secret_part = k.substr(20);
        EXPECT_EQ(bytes.find(secret_part), std::string::npos) << when << ": API key in " << what;
      }
      // The seed is a secret too.
      EXPECT_EQ(bytes.find("JBSWY3DPEHPK3PXPJBSWY3DP"), std::string::npos)
          << when << ": TOTP seed in " << what;
    }
  };
  check_files("while running");
  EXPECT_EQ(server.Stop(), 0);
  check_files("after shutdown");

  std::string logs = server.StderrText();
  for (const auto& s : secrets) EXPECT_EQ(logs.find(s), std::string::npos) << s << " in logs";
  EXPECT_EQ(logs.find(key.substr(20)), std::string::npos) << "API key in the logs";
  EXPECT_EQ(logs.find(extra_key.substr(20)), std::string::npos) << "API key in the logs";
}

// kill -9 during a burst of PUTs: every acknowledged PUT survives.
TEST_P(E2eCrashTest, AcknowledgedPutsSurviveKill9) {
  std::string error;
  std::unique_ptr<E2eVault> vault = GetParam().new_vault(&error);
  ASSERT_NE(vault, nullptr) << error;
  std::unique_ptr<ServerProcess> server_ptr = vault->NewServer();
  ServerProcess& server = *server_ptr;
  ASSERT_TRUE(server.Start(&error)) << error;
  const std::string key = server.dev_key();
  const std::string base = server.base_url();

  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // name -> value
  std::atomic<bool> stop{false};
  std::atomic<int> total{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      HttpClient client(base);
      for (int i = 0; !stop; ++i) {
        std::string name = "crash-" + std::to_string(t) + "-" + std::to_string(i % 40);
        std::string value = "v-" + std::to_string(t) + "-" + std::to_string(i);
        HttpResponse r =
            client.PutJson("/v0/vault/" + name,
                           json{{"type", "CUSTOM"}, {"data", {{"value", value}}}}.dump(), key);
        if (r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged[name] = value;  // later acknowledged writes supersede earlier ones
          ++total;
        } else if (r.status == 0) {
          return;  // the server is gone
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (total < 60 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.Kill9();
  stop = true;
  for (auto& w : writers) w.join();
  ASSERT_GT(total.load(), 0);

  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_EQ(server.dev_key(), key);  // dev mode reuses its key
  HttpClient client(server.base_url());
  for (const auto& [name, value] : acknowledged) {
    HttpResponse r = client.Get("/v0/vault/" + name, key);
    ASSERT_EQ(r.status, 200) << name << ": " << r.body;
    // A write in flight at the kill may have committed without being acknowledged,
    // so the value is the acknowledged one or a later write of the same writer.
    std::string got = Body(r)["data"]["value"];
    std::string prefix = value.substr(0, value.rfind('-') + 1);
    ASSERT_EQ(got.rfind(prefix, 0), 0u) << name;
    EXPECT_GE(std::stoll(got.substr(prefix.size())), std::stoll(value.substr(prefix.size())))
        << name;
  }
}

}  // namespace
}  // namespace strongroom::e2e
