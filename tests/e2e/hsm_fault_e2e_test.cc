// HSM faults end to end (SPEC 11, issue 13): a real `strongroom serve
// --config` process whose [hsm].module is the fault-injecting PKCS#11 module
// (tests/kms/fault_pkcs11) forwarding to SoftHSM2, on SQLite. The test drives
// the module through its control file and reads its call counters.
//
// Identities: "dev" is warm (its KEK is unwrapped by a GET before the fault),
// "cold" is cold (never used by the server under test). Every test starts its
// own server, so every identity starts cold.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/mcp_call.h"
#include "tests/kms/fault_pkcs11/fault_pkcs11_control.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using testing::CommandOutput;
using testing::FaultPkcs11Control;
using testing::HttpClient;
using testing::HttpResponse;
using testing::ServerProcess;
using testing::TempDir;

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string CredentialBody(const std::string& value) {
  return json{{"type", "CUSTOM"}, {"data", {{"v", value}}}}.dump();
}

// A dev data dir (token, master key, SQLite database) with the identities and
// credentials above, made by `serve --dev` and `admin`, and a config that
// serves it through the fault module. Built once per test process.
class FaultDeployment {
 public:
  static FaultDeployment& Get() {
    static FaultDeployment* deployment = new FaultDeployment();  // lives until exit
    return *deployment;
  }

  const FaultPkcs11Control& control() const { return *control_; }
  const std::string& dev_key() const { return dev_key_; }
  const std::string& cold_key() const { return cold_key_; }
  const std::string& pin() const { return pin_; }

  // A new server on the deployment (not started), with the HSM PIN in
  // STRONGROOM_HSM_PIN = `pin` (default: the right one).
  std::unique_ptr<ServerProcess> NewServer(const std::string& pin = "") {
    const std::string root = root_.path() + "/run-" + std::to_string(++runs_);
    std::filesystem::create_directories(root);
    std::vector<std::string> env = env_;
    env.push_back("STRONGROOM_HSM_PIN=" + (pin.empty() ? pin_ : pin));
    return std::make_unique<ServerProcess>(root, config_path_, env);
  }

  // Forgets the counts of earlier server processes.
  void ResetCounters() const { std::remove(control_->counters_path().c_str()); }

 private:
  FaultDeployment() {
    ServerProcess dev(root_.path() + "/dev");
    std::filesystem::create_directories(dev.root());
    std::string error;
    if (!dev.Start(&error)) throw std::runtime_error(error);
    dev_key_ = dev.dev_key();
    HttpClient client(dev.base_url());
    Check(client.PutJson("/v0/vault/warm-cred", CredentialBody("warm"), dev_key_));
    cold_key_ = NewIdentity(dev, "cold", "cold-cred");
    if (dev.Stop() != 0) throw std::runtime_error("serve --dev did not stop cleanly");

    const std::string data = dev.data_dir();
    pin_ = ReadFirstLine(data + "/hsm-pin");
    control_ = std::make_unique<FaultPkcs11Control>(root_.path());
    env_ = {"SOFTHSM2_CONF=" + data + "/softhsm2.conf"};
    for (const auto& [name, value] : control_->Environment(testing::kSoftHsmModulePath)) {
      env_.push_back(name + "=" + value);
    }
    config_path_ = root_.path() + "/strongroom.toml";
    std::ofstream toml(config_path_);
    toml << "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 4\n"
         << "[store]\nbackend = \"sqlite\"\npath = \"" << data << "/vault.db\"\n"
         << "[hsm]\nmodule = \"" << STRONGROOM_FAULT_PKCS11_PATH << "\"\n"
         << "token_label = \"strongroom-dev\"\npin_env = \"STRONGROOM_HSM_PIN\"\n"
         << "master_key_label = \"strongroom-master\"\n";
  }

  static void Check(const HttpResponse& response) {
    if (response.status != 200) throw std::runtime_error("setup PUT failed: " + response.body);
  }

  // Identity `name` with a read/write key and one credential `credential`.
  static std::string NewIdentity(ServerProcess& dev, const std::string& name,
                                 const std::string& credential) {
    CommandOutput created = dev.Admin({"identity", "create", name});
    if (created.exit_code != 0) throw std::runtime_error("identity create: " + created.err);
    std::string key = dev.CreateKey(name, {"vault:read", "vault:write"});
    if (key.empty()) throw std::runtime_error("key create failed for " + name);
    HttpClient client(dev.base_url());
    Check(client.PutJson("/v0/vault/" + credential, CredentialBody(name), key));
    return key;
  }

  TempDir root_;
  std::string dev_key_, cold_key_, pin_, config_path_;
  std::vector<std::string> env_;
  std::unique_ptr<FaultPkcs11Control> control_;
  int runs_ = 0;
};

class HsmFaultE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    deployment().control().Clear();
    StartServer();
  }
  void TearDown() override {
    deployment().control().Clear();
    StopServer();
  }

  // A fresh server: the dev identity's KEK warmed by a GET, every other cold.
  void StartServer() {
    server_ = deployment().NewServer();
    std::string error;
    ASSERT_TRUE(server_->Start(&error)) << error;
    client_ = std::make_unique<HttpClient>(server_->base_url());
    ExpectValue(Get("warm-cred", dev_key()), "warm");
  }
  void StopServer() {
    if (server_ == nullptr) return;
    server_->Stop();
    const std::string logs = server_->StderrText();
    EXPECT_EQ(logs.find(deployment().pin()), std::string::npos) << "the PIN reached a log";
    server_.reset();
  }

  static FaultDeployment& deployment() { return FaultDeployment::Get(); }
  static const std::string& dev_key() { return deployment().dev_key(); }
  static const std::string& cold_key() { return deployment().cold_key(); }
  const FaultPkcs11Control& control() const { return deployment().control(); }

  HttpResponse Get(const std::string& name, const std::string& key) {
    return client_->Get("/v0/vault/" + name, key);
  }
  HttpResponse Readyz() { return client_->Get("/readyz"); }

  static void ExpectValue(const HttpResponse& response, const std::string& value) {
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(json::parse(response.body)["data"]["v"], value);
  }

  static void ExpectHsmUnavailable(const HttpResponse& response) {
    EXPECT_EQ(response.status, 503) << response.body;
    const json body = json::parse(response.body, nullptr, false);
    EXPECT_EQ(body.value("error", ""), "hsm_unavailable") << response.body;
    const std::optional<std::string> retry_after = response.Header("retry-after");
    ASSERT_TRUE(retry_after.has_value()) << "503 without Retry-After";
    EXPECT_GE(std::stoi(*retry_after), 1);
  }

  // Polls `ok` every 50 ms until it holds or `limit` passes.
  static bool Eventually(const std::function<bool()>& ok, milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ok()) return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return ok();
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

// --- An outage: every PKCS#11 call fails with one CK_RV until it ends.

class HsmOutageE2eTest : public HsmFaultE2eTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(HsmOutageE2eTest, WarmServesColdIs503ReadyzIs503AndServiceRecovers) {
  control().Set(std::string("rv=") + GetParam());

  // Cached keys keep serving, reads and writes alike.
  for (int i = 0; i < 10; ++i) ExpectValue(Get("warm-cred", dev_key()), "warm");
  ASSERT_EQ(client_->PutJson("/v0/vault/written", CredentialBody("during"), dev_key()).status, 200);
  ExpectValue(Get("written", dev_key()), "during");

  // A request that needs the HSM: 503 hsm_unavailable with Retry-After (REST);
  // an isError tool result naming it (MCP).
  ExpectHsmUnavailable(Get("cold-cred", cold_key()));
  ExpectHsmUnavailable(Get("cold-cred", cold_key()));
  const json tool = McpCall(*client_, cold_key(), "vault.get", {{"name", "cold-cred"}});
  EXPECT_EQ(tool.value("isError", false), true) << tool.dump();
  EXPECT_EQ(tool["structuredContent"].value("error", ""), "hsm_unavailable") << tool.dump();

  // /readyz follows (its probe result is reused for up to a second).
  EXPECT_TRUE(Eventually([&] { return Readyz().status == 503; }, milliseconds(3000)));
  // Still serving from cache.
  ExpectValue(Get("warm-cred", dev_key()), "warm");

  // The HSM returns: the same process recovers by itself, within seconds.
  control().Clear();
  const auto cleared = std::chrono::steady_clock::now();
  EXPECT_TRUE(
      Eventually([&] { return Get("cold-cred", cold_key()).status == 200; }, milliseconds(8000)));
  EXPECT_LT(std::chrono::steady_clock::now() - cleared, milliseconds(8000));
  ExpectValue(Get("cold-cred", cold_key()), "cold");
  EXPECT_TRUE(Eventually([&] { return Readyz().status == 200; }, milliseconds(3000)));
  ExpectValue(Get("warm-cred", dev_key()), "warm");
}

INSTANTIATE_TEST_SUITE_P(Faults, HsmOutageE2eTest,
                         ::testing::Values("CKR_DEVICE_REMOVED", "CKR_SESSION_HANDLE_INVALID",
                                           "CKR_SESSION_CLOSED", "CKR_USER_NOT_LOGGED_IN"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param);
                         });

// --- One lost session (closed, logged out): re-initialised at once, unseen by clients.

TEST_F(HsmFaultE2eTest, LostSessionIsReinitialisedWithinTheRequest) {
  for (const char* fault :
       {"CKR_SESSION_HANDLE_INVALID", "CKR_SESSION_CLOSED", "CKR_USER_NOT_LOGGED_IN"}) {
    SCOPED_TRACE(fault);
    if (server_ == nullptr) StartServer();  // "cold" is cold again
    const unsigned long long inits = control().Count("C_Initialize");
    control().Set(std::string("rv=") + fault + "\nfunctions=C_DecryptInit\ntimes=1");
    ExpectValue(Get("cold-cred", cold_key()), "cold");
    EXPECT_EQ(control().Count("C_Initialize") - inits, 1u);  // finalize + initialize, once
    EXPECT_EQ(Readyz().status, 200);
    control().Clear();
    StopServer();
  }
}

// --- Faults that must never be retried in a loop (a token locks its PIN).

TEST_F(HsmFaultE2eTest, WrongPinAtStartMakesExactlyOneLogin) {
  StopServer();  // one process on the token at a time
  deployment().ResetCounters();
  std::unique_ptr<ServerProcess> wrong = deployment().NewServer("wrong-pin-31337");
  std::string error;
  ASSERT_FALSE(wrong->Start(&error));
  EXPECT_NE(error.find("CKR_PIN_INCORRECT"), std::string::npos) << error;
  EXPECT_EQ(error.find("wrong-pin-31337"), std::string::npos) << "the PIN reached a log";
  EXPECT_EQ(control().Count("C_Login"), 1u);
}

TEST_F(HsmFaultE2eTest, PinRejectedAtRunTimeIsTriedOnce) {
  // The session is lost once; logging in again is refused.
  control().Set(
      "rv=CKR_PIN_INCORRECT\nfunctions=C_Login\n---\n"
      "rv=CKR_DEVICE_REMOVED\nfunctions=C_DecryptInit\ntimes=1");
  const unsigned long long logins = control().Count("C_Login");
  const auto until = std::chrono::steady_clock::now() + milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    ExpectHsmUnavailable(Get("cold-cred", cold_key()));
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(Readyz().status, 503);
  EXPECT_EQ(control().Count("C_Login") - logins, 1u);
  // Reported, not retried, even once the token would accept the PIN again:
  // an operator fixes the configuration and restarts.
  control().Clear();
  std::this_thread::sleep_for(milliseconds(500));
  ExpectHsmUnavailable(Get("cold-cred", cold_key()));
  EXPECT_EQ(control().Count("C_Login") - logins, 1u);
  ExpectValue(Get("warm-cred", dev_key()), "warm");
}

TEST_F(HsmFaultE2eTest, MissingMechanismIsTriedOnce) {
  // The start-up logins: the master key's and the audit signing key's sessions.
  const unsigned long long logins = control().Count("C_Login");
  control().Set("rv=CKR_MECHANISM_INVALID\nfunctions=C_DecryptInit");
  const unsigned long long inits = control().Count("C_DecryptInit");
  for (int i = 0; i < 10; ++i) ExpectHsmUnavailable(Get("cold-cred", cold_key()));
  EXPECT_EQ(control().Count("C_DecryptInit") - inits, 1u);
  EXPECT_EQ(control().Count("C_Login"), logins);  // no login after start-up
  EXPECT_EQ(Readyz().status, 503);
  ExpectValue(Get("warm-cred", dev_key()), "warm");
}

TEST_F(HsmFaultE2eTest, MissingMechanismAtStartIsTriedOncePerMechanism) {
  StopServer();
  deployment().ResetCounters();
  control().Set("rv=CKR_MECHANISM_INVALID\nfunctions=C_DecryptInit");
  std::unique_ptr<ServerProcess> server = deployment().NewServer();
  std::string error;
  ASSERT_FALSE(server->Start(&error));
  EXPECT_NE(error.find("CKR_MECHANISM_INVALID"), std::string::npos) << error;
  // RSA-OAEP, then raw RSA (the software-OAEP fallback); then the server stops.
  EXPECT_EQ(control().Count("C_DecryptInit"), 2u);
  EXPECT_EQ(control().Count("C_Login"), 1u);
}

// --- A slow HSM delays only the requests that need it.

TEST_F(HsmFaultE2eTest, SlowHsmCallsDoNotBlockWarmRequests) {
  constexpr milliseconds kDelay(2000);
  // Two connections opened back to back land on different server threads
  // (Pistache assigns a connection to a thread by its descriptor).
  HttpClient warm(server_->base_url());
  ASSERT_EQ(warm.Get("/healthz").status, 200);
  control().Set("delay_ms=" + std::to_string(kDelay.count()) + "\nfunctions=C_Decrypt");
  const auto start = std::chrono::steady_clock::now();
  std::future<HttpResponse> cold = std::async(std::launch::async, [&] {
    HttpClient slow(server_->base_url());
    return slow.Get("/v0/vault/cold-cred", cold_key());
  });
  std::this_thread::sleep_for(milliseconds(300));  // the cold request is in the HSM now
  for (int i = 0; i < 10; ++i) {
    const auto sent = std::chrono::steady_clock::now();
    HttpResponse response = warm.Get("/v0/vault/warm-cred", dev_key());
    ExpectValue(response, "warm");
    EXPECT_LT(std::chrono::steady_clock::now() - sent, milliseconds(500));
  }
  // /readyz does not queue behind the slow call either.
  const auto sent = std::chrono::steady_clock::now();
  EXPECT_EQ(warm.Get("/readyz").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, milliseconds(500));
  EXPECT_LT(std::chrono::steady_clock::now() - start, kDelay);  // all while the call was slow

  HttpResponse slow = cold.get();
  ExpectValue(slow, "cold");
  EXPECT_GE(std::chrono::steady_clock::now() - start, kDelay);
}

}  // namespace
}  // namespace strongroom::e2e
