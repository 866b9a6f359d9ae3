// SPEC 8 and 11: the key lifecycle commands of `strongroom admin` against a
// running dev server: output formats, exit codes, progress on stderr, the
// server switching keys without a restart, retire refusals, --destroy, and a
// restart after the old key is gone. (Rotation semantics under load, resume
// and MySQL are in tests/vault/key_rotation_suite.cc.)
#include <stdlib.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kms/pkcs11.h"
#include "tests/app/app_test_util.h"
#include "tests/testing/http_client.h"

namespace strongroom::app {
namespace {

using testing::CommandOutput;
using ::testing::HasSubstr;
using testing::HttpClient;
using testing::ServerProcess;
using ::testing::StartsWith;
using testing::TempDir;

constexpr char kNewLabel[] = "master-2";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::string out = text.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// What `ops/key-ceremony.sh --key-label NEW --no-init` makes: a second
// RSA-3072 pair on the dev token. This process loads SoftHSM2 once, pointed
// at the dev data dir (each test runs in a process of its own).
kms::HsmParams DevTokenParams(const std::string& data_dir, const std::string& label) {
  ::setenv("SOFTHSM2_CONF", (data_dir + "/softhsm2.conf").c_str(), 1);
  kms::HsmParams params;
  params.module_path = kModule;
  params.token_label = "strongroom-dev";
  params.pin = SecretString(ReadFile(data_dir + "/hsm-pin"));
  params.master_key_label = label;
  return params;
}

// The progress lines of a command's stderr.
std::vector<std::string> Progress(const std::string& err) {
  std::vector<std::string> out;
  for (const std::string& line : Lines(err)) {
    if (line.rfind("rewrapped ", 0) == 0) out.push_back(line);
  }
  return out;
}

bool Eventually(const std::function<bool()>& ok, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return ok();
}

TEST(KeyRotationCliTest, RotateRetireDestroyWhileTheServerRuns) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient client(server.base_url());
  ASSERT_EQ(client.PutJson("/v0/vault/stripe", kStripeBody, server.dev_key()).status, 200);
  ASSERT_EQ(server.Admin({"identity", "create", "alice"}).exit_code, 0);

  CommandOutput status = server.Admin({"master-key", "status"});
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out, "strongroom-master state=active keks=2\n");
  ExpectFailure(server.Admin({"master-key", "rotate", "--new-label", kNewLabel}), 1);  // no pair
  ExpectFailure(server.Admin({"master-key", "rotate"}), 2);  // --new-label is required

  const kms::HsmParams params = DevTokenParams(server.data_dir(), kNewLabel);
  ASSERT_TRUE(
      kms::ProvisionToken(params, SecretString(ReadFile(server.data_dir() + "/hsm-so-pin"))).ok());

  CommandOutput dry = server.Admin({"master-key", "rotate", "--new-label", kNewLabel, "--dry-run"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_THAT(dry.LastLine(), StartsWith("strongroom: dry run: master key master-2 would"));
  EXPECT_EQ(server.Admin({"master-key", "status"}).out, status.out);

  CommandOutput rotate = server.Admin({"master-key", "rotate", "--new-label", kNewLabel});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_EQ(Progress(rotate.err), (std::vector<std::string>{"rewrapped 1/2", "rewrapped 2/2"}));
  EXPECT_EQ(rotate.LastLine(),
            "strongroom: master key master-2 is active; rewrapped 2 identity KEKs (2 identities)");
  EXPECT_EQ(server.Admin({"master-key", "status"}).out,
            "strongroom-master state=previous keks=0\nmaster-2 state=active keks=2\n");
  // Idempotent: a rerun has nothing left to do.
  CommandOutput again = server.Admin({"master-key", "rotate", "--new-label", kNewLabel});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Progress(again.err), std::vector<std::string>{});

  // The running server switches by itself (SPEC 11: within 10 s) and serves on.
  EXPECT_TRUE(Eventually(
      [&] {
        return server.StderrText().find("master key master-2 is now active") != std::string::npos;
      },
      std::chrono::seconds(10)))
      << server.StderrText();
  EXPECT_EQ(client.Get("/v0/vault/stripe", server.dev_key()).status, 200);

  ExpectFailure(server.Admin({"master-key", "retire", kNewLabel}), 1);  // active
  CommandOutput kek = server.Admin({"identity", "rotate-kek", "dev"});
  ASSERT_EQ(kek.exit_code, 0) << kek.err;
  EXPECT_EQ(kek.LastLine(),
            "strongroom: identity dev uses KEK version 2; rewrapped 1 credential DEKs");
  EXPECT_EQ(Progress(kek.err), std::vector<std::string>{"rewrapped 1/1"});
  EXPECT_EQ(client.Get("/v0/vault/stripe", server.dev_key()).status, 200);

  CommandOutput retired = server.Admin({"master-key", "retire", "strongroom-master", "--destroy"});
  ASSERT_EQ(retired.exit_code, 0) << retired.err;
  EXPECT_EQ(retired.LastLine(),
            "strongroom: retired master key strongroom-master and destroyed its key pair on the "
            "token");
  EXPECT_EQ(server.Admin({"master-key", "status"}).out,
            "strongroom-master state=retired keks=0\nmaster-2 state=active keks=2\n");

  // After a restart (the dev config still names the destroyed key) every
  // credential reads: the database names the active key.
  EXPECT_EQ(server.Stop(), 0);
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient restarted(server.base_url());
  EXPECT_EQ(restarted.Get("/v0/vault/stripe", server.dev_key()).status, 200);
}

TEST(KeyRotationCliTest, RetireRefusesTheActiveAndUnknownKeys) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  ASSERT_EQ(server.Stop(), 0);
  const kms::HsmParams params = DevTokenParams(server.data_dir(), kNewLabel);
  ASSERT_TRUE(
      kms::ProvisionToken(params, SecretString(ReadFile(server.data_dir() + "/hsm-so-pin"))).ok());
  // A dry run activates nothing.
  ASSERT_EQ(server.Admin({"master-key", "rotate", "--new-label", kNewLabel, "--dry-run"}).exit_code,
            0);
  CommandOutput refused = server.Admin({"master-key", "retire", "strongroom-master"});
  ExpectFailure(refused, 1);  // still active
  EXPECT_THAT(refused.err, HasSubstr("master key strongroom-master: master key is active"));
  ExpectFailure(server.Admin({"master-key", "retire", "nope"}), 1);
}

}  // namespace
}  // namespace strongroom::app
