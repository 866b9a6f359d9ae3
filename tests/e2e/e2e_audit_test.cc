// SPEC 12 end to end on `serve --dev` (audit.mode sync by default): after
// kill -9 of a server under load every acknowledged request has its event;
// `admin audit export` is a valid chain for the offline verifier, holds no
// secret value and no API key, and admin commands append their events.
#include <atomic>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/software_signer.h"
#include "audit/verifier.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;
using testing::TempDir;

constexpr char kSecretPrefix[] = "audit-secret-value-";

std::vector<json> ExportedEvents(const std::string& data_dir, std::string* text) {
  auto out = testing::RunCommand(
      {testing::StrongroomBinary(), "admin", "--data-dir", data_dir, "audit", "export"});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  *text = out.out;
  std::vector<json> events;
  std::stringstream lines(out.out);
  for (std::string line; std::getline(lines, line);) events.push_back(json::parse(line));
  return events;
}

TEST(E2eAuditTest, EveryAcknowledgedRequestHasItsEventAfterKill9) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const std::string key = server.dev_key();

  std::mutex mu;
  std::set<std::pair<std::string, std::string>> acknowledged;  // (action, credential)
  std::atomic<bool> stop{false};
  std::atomic<int> total{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(server.base_url());
      for (int i = 0; !stop; ++i) {
        const std::string name = "k-" + std::to_string(t) + "-" + std::to_string(i);
        const std::string body =
            json{{"type", "CUSTOM"}, {"data", {{"v", kSecretPrefix + name}}}}.dump();
        HttpResponse put = client.PutJson("/v0/vault/" + name, body, key);
        if (put.status == 0) return;
        HttpResponse get = client.Get("/v0/vault/" + name, key);
        std::lock_guard<std::mutex> lock(mu);
        if (put.status == 200) acknowledged.insert({"vault.store", name});
        if (get.status == 200) acknowledged.insert({"vault.get", name});
        if (put.status == 200) ++total;
        if (get.status == 0) return;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (total < 60 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server.Kill9();
  stop = true;
  for (auto& c : clients) c.join();
  ASSERT_GT(total.load(), 0);

  // Admin commands append to their own chain.
  auto created = testing::RunCommand({testing::StrongroomBinary(), "admin", "--data-dir",
                                      server.data_dir(), "identity", "create", "audited"});
  ASSERT_EQ(created.exit_code, 0) << created.err;

  std::string text;
  const std::vector<json> events = ExportedEvents(server.data_dir(), &text);
  std::set<std::pair<std::string, std::string>> recorded;
  bool admin_event = false;
  for (const json& e : events) {
    if (e["status"] == 200 && e["credential"].is_string()) {
      recorded.insert({e["action"].get<std::string>(), e["credential"].get<std::string>()});
    }
    if (e["action"] == "admin.identity.create" && e["identity"] == "audited") {
      admin_event = true;
      EXPECT_EQ(e["status"], 0);
      EXPECT_TRUE(e["requestId"].is_null());
      EXPECT_EQ(e["server"].get<std::string>().rfind("admin@", 0), 0u);
    }
  }
  EXPECT_TRUE(admin_event);
  for (const auto& ack : acknowledged) {
    EXPECT_TRUE(recorded.count(ack)) << ack.first << " " << ack.second << " has no event";
  }
  // Every chain in the export verifies offline.
  auto signer = audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(signer.ok());
  auto verdict = audit::Verify(text, "", *(*signer)->PublicKeyPem());
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->ok()) << verdict->failure->detail;
  // No secret value and no API key in the export.
  EXPECT_EQ(text.find(kSecretPrefix), std::string::npos);
  EXPECT_EQ(text.find(key.substr(20)), std::string::npos);
}

}  // namespace
}  // namespace strongroom::e2e
