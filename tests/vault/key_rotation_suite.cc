// The key lifecycle suite: see key_rotation_suite.h.
#include "tests/vault/key_rotation_suite.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kms/key_manager.h"
#include "kms/pkcs11.h"
#include "tests/testing/softhsm_token.h"
#include "vault/admin.h"
#include "vault/key_rotation.h"
#include "vault/vault.h"

namespace strongroom::vault::testing {
namespace {

constexpr char kNewLabel[] = "master-2";
constexpr int kIdentities = 6;

// One process's view: its own store connection, key manager and vault.
struct Server {
  std::unique_ptr<store::CredentialStore> store;
  std::unique_ptr<kms::KeyManager> keys;
  std::unique_ptr<Vault> vault;
};

struct Agent {
  std::string name;
  Principal principal;
};

class Rotation {
 public:
  explicit Rotation(const RotationBackend& backend) {
    strongroom::testing::SoftHsmToken token =
        strongroom::testing::SoftHsmEnvironment::Get().NewToken("rot");
    params_.module_path = strongroom::testing::kSoftHsmModulePath;
    params_.token_label = token.token_label;
    params_.pin = SecretString(token.pin);
    params_.master_key_label = token.key_label;
    so_pin_ = token.so_pin;
    EXPECT_TRUE(kms::ProvisionToken(params_, SecretString(so_pin_)).ok());
    auto db = backend.new_database();
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (db.ok()) db_ = std::move(db).value();
  }

  const kms::HsmParams& params() const { return params_; }
  std::string old_label() const { return params_.master_key_label; }

  // The rotation key, as the ceremony makes it (`--key-label NEW --no-init`).
  void MakeNewKey() {
    kms::HsmParams second = params_;
    second.master_key_label = kNewLabel;
    ASSERT_TRUE(kms::ProvisionToken(second, SecretString(so_pin_)).ok());
  }

  // A server (or admin process) opened with `label` as its configured key.
  Server Start(const std::string& label) {
    Server server;
    auto store = db_->Open();
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    server.store = std::move(store).value();
    kms::HsmParams params = params_;
    params.master_key_label = label;
    auto keys = kms::OpenKeyManager(params);
    EXPECT_TRUE(keys.ok()) << keys.status().ToString();
    server.keys = std::move(keys).value();
    VaultOptions options;
    options.touch_flush_interval = std::chrono::milliseconds(50);
    options.identity_sweep_interval = std::chrono::milliseconds(200);
    options.key_state_poll_interval = std::chrono::milliseconds(100);
    server.vault =
        std::make_unique<Vault>(server.store.get(), server.keys.get(), &Clock::Real(), options);
    return server;
  }

  // Identities with an API key, a secret and a TOTP seed with backup codes.
  std::vector<Agent> MakeAgents(Server& server, int count, const std::string& prefix = "agent") {
    std::vector<Agent> agents;
    for (int i = 0; i < count; ++i) {
      const std::string name = prefix + std::to_string(i);
      EXPECT_TRUE(CreateIdentity(*server.store, *server.keys, name, Clock::Real()).ok());
      auto key = CreateApiKey(*server.store, name, model::kScopeRead | model::kScopeWrite,
                              std::nullopt, Clock::Real());
      EXPECT_TRUE(key.ok());
      auto principal = server.vault->Authenticate("Bearer " + std::string(key->key.view()));
      EXPECT_TRUE(principal.ok());
      agents.push_back({name, *principal});
      Put(server, agents.back(), "secret", ApiKeyBody());
      Put(server, agents.back(), "otp", TotpBody(400));
    }
    return agents;
  }

  static nlohmann::json ApiKeyBody() {
    return {{"type", "API_KEY"}, {"data", {{"key", "sk_live_123"}}}};
  }
  static nlohmann::json TotpBody(int backup_codes) {
    std::vector<std::string> codes;
    for (int i = 0; i < backup_codes; ++i) codes.push_back("code-" + std::to_string(i));
    return {{"type", "TOTP"},
            {"data", {{"secret", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"}, {"backupCodes", codes}}}};
  }
  static void Put(Server& server, const Agent& agent, const std::string& name,
                  const nlohmann::json& body) {
    auto put = server.vault->Put(agent.principal, name, body.dump());
    EXPECT_TRUE(put.ok()) << put.status().ToString();
  }

  // Every credential of every agent opens through `server`.
  static void ExpectAllRead(Server& server, const std::vector<Agent>& agents) {
    for (const Agent& agent : agents) {
      auto got = server.vault->Get(agent.principal, "secret");
      EXPECT_TRUE(got.ok()) << agent.name << ": " << got.status().ToString();
      EXPECT_TRUE(server.vault->Totp(agent.principal, "otp").ok()) << agent.name;
    }
  }

 private:
  kms::HsmParams params_;
  std::string so_pin_;
  std::unique_ptr<RotationDatabase> db_;
};

// A bounded load on some servers: GET, TOTP, PUT and backup pops, round robin
// over the agents, until stopped. Every failure is kept.
class Load {
 public:
  Load(std::vector<Server*> servers, const std::vector<Agent>& agents)
      : servers_(std::move(servers)), agents_(agents) {
    for (std::size_t t = 0; t < 2; ++t) threads_.emplace_back([this, t] { Run(t); });
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  int requests() const { return requests_; }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  void Run(std::size_t thread) {
    for (std::size_t i = thread; !stop_; i += 2) {
      Server& server = *servers_[i % servers_.size()];
      const Agent& agent = agents_[(i / 2) % agents_.size()];
      Status status;
      switch (i % 4) {
        case 0:
          status = server.vault->Get(agent.principal, "secret").status();
          break;
        case 1:
          status = server.vault->Totp(agent.principal, "otp").status();
          break;
        case 2:
          status = server.vault
                       ->Put(agent.principal, "put" + std::to_string(i % 7),
                             Rotation::ApiKeyBody().dump())
                       .status();
          break;
        default:
          status = server.vault->PopBackupCode(agent.principal, "otp").status();
          break;
      }
      ++requests_;
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        failures_.push_back(agent.name + ": " + status.ToString());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // bounded
    }
  }

  std::vector<Server*> servers_;
  const std::vector<Agent>& agents_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  std::vector<std::string> failures_;
};

std::string StatusLine(store::CredentialStore& store) {
  auto statuses = MasterKeyStatuses(store);
  EXPECT_TRUE(statuses.ok()) << statuses.status().ToString();
  std::string out;
  for (const MasterKeyStatus& s : *statuses) {
    out += s.label + " state=" + std::string(model::MasterKeyStateName(s.state)) +
           " keks=" + std::to_string(s.keks) + "\n";
  }
  return out;
}

bool Eventually(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ok();
}

}  // namespace

TEST_P(KeyRotationTest, MasterKeyRotationUnderLoadFailsNoRequest) {
  Rotation rotation(GetParam());
  Server one = rotation.Start(rotation.old_label());
  Server two = rotation.Start(rotation.old_label());
  std::vector<Agent> agents = rotation.MakeAgents(one, kIdentities);
  // Half the agents warm on the first server; the rest stay cold there.
  for (int i = 0; i < kIdentities / 2; ++i)
    ASSERT_TRUE(one.vault->Get(agents[i].principal, "secret").ok());
  rotation.MakeNewKey();
  Server admin = rotation.Start(rotation.old_label());

  Load load({&one, &two}, agents);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<std::string> progress;
  RotationOptions options;
  options.progress = [&](std::int64_t done, std::int64_t total) {
    progress.push_back(std::to_string(done) + "/" + std::to_string(total));
  };
  auto rotated = RotateMasterKey(*admin.store, *admin.keys, kNewLabel, options, Clock::Real());
  ASSERT_TRUE(rotated.ok()) << rotated.status().ToString();
  EXPECT_EQ(rotated->rewrapped, kIdentities);
  EXPECT_EQ(progress.front(), "1/" + std::to_string(kIdentities));
  // Both servers switch without a restart, well within SPEC 11's 10 s.
  for (Server* server : {&one, &two}) {
    EXPECT_TRUE(Eventually([&] { return server->keys->active_master_key_label() == kNewLabel; },
                           std::chrono::seconds(10)));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  load.Stop();
  EXPECT_GT(load.requests(), 20);
  EXPECT_EQ(load.failures(), std::vector<std::string>{});
  // New identities go under the new key, from any server.
  rotation.MakeAgents(two, 1, "late");
  EXPECT_EQ(StatusLine(*admin.store),
            rotation.old_label() + " state=previous keks=0\n" + kNewLabel +
                " state=active keks=" + std::to_string(kIdentities + 1) + "\n");
  Rotation::ExpectAllRead(one, agents);
}

TEST_P(KeyRotationTest, DryRunChangesNothing) {
  Rotation rotation(GetParam());
  Server admin = rotation.Start(rotation.old_label());
  rotation.MakeAgents(admin, 2);
  rotation.MakeNewKey();
  const std::string before = StatusLine(*admin.store);
  RotationOptions options;
  options.dry_run = true;
  auto dry = RotateMasterKey(*admin.store, *admin.keys, kNewLabel, options, Clock::Real());
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_EQ(dry->pending, 2);
  EXPECT_EQ(dry->rewrapped, 0);
  EXPECT_EQ(StatusLine(*admin.store), before);
  EXPECT_EQ(before, rotation.old_label() + " state=active keks=2\n");
  EXPECT_EQ(admin.keys->active_master_key_label(), rotation.old_label());
}

TEST_P(KeyRotationTest, InterruptedRotationResumesThenRetireAndDestroy) {
  Rotation rotation(GetParam());
  Server admin = rotation.Start(rotation.old_label());
  std::vector<Agent> agents = rotation.MakeAgents(admin, kIdentities);
  rotation.MakeNewKey();
  RotationOptions interrupted;
  interrupted.stop_after = 2;  // as a kill -9 after the second identity
  EXPECT_EQ(RotateMasterKey(*admin.store, *admin.keys, kNewLabel, interrupted, Clock::Real())
                .status()
                .code(),
            StatusCode::kAborted);
  const std::string old = rotation.old_label();
  EXPECT_EQ(StatusLine(*admin.store),
            old + " state=previous keks=4\n" + kNewLabel + " state=active keks=2\n");
  Status refused = RetireMasterKey(*admin.store, old, Clock::Real());
  EXPECT_EQ(refused.error_code(), "master_key_in_use") << refused.ToString();
  EXPECT_EQ(refused.message().rfind("4 identity KEKs", 0), 0u) << refused.message();
  EXPECT_EQ(RetireMasterKey(*admin.store, kNewLabel, Clock::Real()).error_code(),
            "master_key_active");

  // Rerun (a fresh process): continues with what is left.
  Server rerun = rotation.Start(old);
  auto resumed = RotateMasterKey(*rerun.store, *rerun.keys, kNewLabel, {}, Clock::Real());
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_EQ(resumed->rewrapped, kIdentities - 2);
  ASSERT_TRUE(RetireMasterKey(*rerun.store, old, Clock::Real()).ok());
  ASSERT_TRUE(kms::DestroyMasterKeyPair(rotation.params(), old).ok());
  EXPECT_EQ(StatusLine(*rerun.store),
            old + " state=retired keks=0\n" + kNewLabel + " state=active keks=6\n");
  // The old pair is gone: a key manager cannot open it any more ...
  EXPECT_FALSE(kms::OpenKeyManager(rotation.params()).ok());
  // ... and a server started on the new key reads everything, cold.
  Server after = rotation.Start(kNewLabel);
  Rotation::ExpectAllRead(after, agents);
}

TEST_P(KeyRotationTest, KekRotationUnderLoadResumesAndDropsTheOldKek) {
  Rotation rotation(GetParam());
  Server one = rotation.Start(rotation.old_label());
  Server admin = rotation.Start(rotation.old_label());
  std::vector<Agent> agents = rotation.MakeAgents(one, 2);
  for (int i = 0; i < 10; ++i) {
    Rotation::Put(one, agents[0], "extra" + std::to_string(i), Rotation::ApiKeyBody());
  }
  Load load({&one}, agents);
  RotationOptions interrupted;
  interrupted.stop_after = 3;
  EXPECT_EQ(RotateIdentityKek(*admin.store, *admin.keys, "agent0", interrupted, Clock::Real())
                .status()
                .code(),
            StatusCode::kAborted);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto done = RotateIdentityKek(*admin.store, *admin.keys, "agent0", {}, Clock::Real());
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(done->resumed);
  EXPECT_EQ(done->kek_version, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  load.Stop();
  EXPECT_EQ(load.failures(), std::vector<std::string>{});

  auto identity = admin.store->GetIdentityByName("agent0");
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->kek_version, 2);
  EXPECT_EQ(identity->previous_kek_version, 0);
  auto rows = admin.store->ListCredentials(identity->id, "", 100);
  ASSERT_TRUE(rows.ok());
  for (const model::StoredCredential& row : *rows) EXPECT_EQ(row.kek_version, 2) << row.name;
  Rotation::ExpectAllRead(one, agents);
  Server cold = rotation.Start(rotation.old_label());
  Rotation::ExpectAllRead(cold, agents);
}

}  // namespace strongroom::vault::testing
