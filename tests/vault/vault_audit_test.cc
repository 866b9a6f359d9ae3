// The audit events of the use cases (SPEC 12): one per request with the right
// fields, chains recomputed independently (SHA-256 with OpenSSL over JSON built
// here), checkpoints verified with OpenSSL, the offline verifier on an export,
// fail-closed writes and reads, async mode, and no secret in the audit log.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "audit/checkpoint.h"
#include "audit/software_signer.h"
#include "audit/verifier.h"
#include "tests/audit/test_util.h"
#include "tests/vault/vault_fixture.h"
#include "vault/audit.h"
#include "vault/audit_checkpointer.h"
#include "vault/vault.h"

namespace strongroom::vault {
namespace {

using nlohmann::json;
using testing::ExpectError;

constexpr char kServer[] = "test-host:8700";
const char kSecret[] = "sk_live_AUDIT_SECRET_VALUE";

class VaultAuditTest : public testing::VaultFixture {
 protected:
  void SetUp() override {
    testing::VaultFixture::SetUp();
    UseMode(AuditMode::kSync);
  }

  void UseMode(AuditMode mode) {
    vault_.reset();
    VaultOptions options{std::chrono::hours(1)};
    options.audit = AuditOptions{mode, kServer};
    vault_ = std::make_unique<Vault>(store_.get(), &keys_, &clock_, options);
    alice_key_ = Key("alice", model::kScopeRead | model::kScopeWrite);
    alice_ = *vault_->Authenticate("Bearer " + alice_key_, RequestContext{"req-auth", "10.0.0.1"});
    alice_.context = RequestContext{"req-1", "10.0.0.1"};
  }

  std::vector<store::AuditRecord> Events() {
    auto events = store_->inner().ListAuditEvents(store::AuditQuery{});
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? *events : std::vector<store::AuditRecord>{};
  }

  std::string ExportText() {
    std::string out;
    for (const auto& r : Events()) out += audit::EventJsonLine(AuditEventOf(r)) + "\n";
    return out;
  }

  // Runs SQL on the database through a separate connection (test hooks).
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(::sqlite3_open((dir_.path() + "/vault.db").c_str(), &db), SQLITE_OK);
    ::sqlite3_busy_timeout(db, 5000);
    char* error = nullptr;
    EXPECT_EQ(::sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    ::sqlite3_free(error);
    ::sqlite3_close(db);
  }

  std::string alice_key_;
};

// The canonical JSON of SPEC 12 built here with nlohmann, independently of audit/.
std::string IndependentCanonicalJson(const store::AuditRecord& r) {
  auto opt = [](const auto& v) -> nlohmann::ordered_json {
    if (!v) return nullptr;
    return *v;
  };
  nlohmann::ordered_json j;
  j["seq"] = r.seq;
  j["time"] = r.time;
  j["server"] = r.server;
  j["requestId"] = opt(r.request_id);
  j["action"] = r.action;
  j["identity"] = opt(r.identity);
  j["keyId"] = opt(r.key_id);
  j["credential"] = opt(r.credential);
  j["credentialId"] = opt(r.credential_id);
  j["version"] = opt(r.version);
  j["status"] = r.status;
  j["remote"] = opt(r.remote);
  j["prev"] = r.prev;
  return j.dump();
}

TEST_F(VaultAuditTest, OneEventPerOperationWithItsFields) {
  const std::size_t before = Events().size();  // the authentication above made none
  EXPECT_EQ(before, 0u);
  Put(alice_, "stripe", ApiKeyBody(kSecret));
  ASSERT_TRUE(vault_->Get(alice_, "stripe").ok());
  const RequestContext header_context{"req-h", "10.0.0.2"};
  ASSERT_TRUE(
      vault_->Get(Caller::WithAuthorization("Bearer " + alice_key_, header_context), "stripe")
          .ok());
  ASSERT_TRUE(vault_->List(alice_, std::nullopt, std::nullopt).ok());
  Put(alice_, "otp", TotpBody({"one"}));
  ASSERT_TRUE(vault_->Totp(alice_, "otp").ok());
  ASSERT_TRUE(vault_->PopBackupCode(alice_, "otp").ok());
  ASSERT_TRUE(vault_->Whoami(alice_).ok());
  ExpectError(vault_->Get(alice_, "missing").status(), StatusCode::kNotFound, "not_found");
  ASSERT_TRUE(vault_->Delete(alice_, "stripe").ok());
  EXPECT_FALSE(vault_->Authenticate("Bearer sr_nope", RequestContext{"req-x", "10.9.9.9"}).ok());

  const std::vector<store::AuditRecord> events = Events();
  ASSERT_EQ(events.size(), 11u);
  struct Want {
    const char* action;
    int status;
    const char* credential;
  };
  const std::vector<Want> want = {
      {"vault.store", 200, "stripe"},        {"vault.get", 200, "stripe"},
      {"vault.get", 200, "stripe"},          {"vault.list", 200, nullptr},
      {"vault.store", 200, "otp"},           {"vault.totp", 200, "otp"},
      {"vault.totp_use_backup", 200, "otp"}, {"whoami", 200, nullptr},
      {"vault.get", 404, "missing"},         {"vault.delete", 204, "stripe"},
      {"auth.failed", 401, nullptr}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    const store::AuditRecord& e = events[i];
    EXPECT_EQ(e.server, kServer);
    EXPECT_EQ(e.seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(e.action, want[i].action);
    EXPECT_EQ(e.status, want[i].status);
    EXPECT_EQ(e.credential,
              want[i].credential ? std::optional<std::string>(want[i].credential) : std::nullopt);
    EXPECT_TRUE(ParseRfc3339(e.time).has_value()) << e.time;
    if (e.action == "auth.failed") {
      EXPECT_EQ(e.identity, std::nullopt);
      EXPECT_EQ(e.request_id, "req-x");
      EXPECT_EQ(e.remote, "10.9.9.9");
      continue;
    }
    EXPECT_EQ(e.identity, "alice");
    EXPECT_EQ(e.key_id, alice_.key_id);
    EXPECT_EQ(e.request_id, i == 2 ? "req-h" : "req-1");
    EXPECT_EQ(e.remote, i == 2 ? "10.0.0.2" : "10.0.0.1");
  }
  // credentialId and version of what was written or read.
  EXPECT_TRUE(events[0].credential_id.has_value());
  EXPECT_EQ(events[0].version, 1);
  EXPECT_EQ(events[1].credential_id, events[0].credential_id);
  EXPECT_EQ(events[6].version, 2);  // the pop wrote version 2
  EXPECT_EQ(events[3].credential_id, std::nullopt);
}

TEST_F(VaultAuditTest, ChainRecomputedIndependently) {
  Put(alice_, "a", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  ASSERT_FALSE(vault_->Get(alice_, "nope").ok());
  // A new vault (a restarted server) continues the chain from the database.
  UseMode(AuditMode::kSync);
  ASSERT_TRUE(vault_->Delete(alice_, "a").ok());
  const std::vector<store::AuditRecord> events = Events();
  ASSERT_EQ(events.size(), 4u);
  std::string prev(store::kAuditGenesisHash);
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, static_cast<std::int64_t>(i + 1));
    EXPECT_EQ(events[i].prev, prev);
    EXPECT_EQ(events[i].hash,
              audit::testing::OpenSslSha256Hex(IndependentCanonicalJson(events[i])));
    prev = events[i].hash;
  }
}

TEST_F(VaultAuditTest, CheckpointsVerifyWithOpenSslAndTheVerifierChecksTheExport) {
  auto signer = audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(signer.ok());
  const std::string pem = *(*signer)->PublicKeyPem();
  const std::string file = dir_.path() + "/audit-checkpoints.jsonl";
  AuditCheckpointer checkpointer(store_.get(), signer->get(), kServer, file, std::chrono::hours(1),
                                 &clock_);
  Put(alice_, "a", ApiKeyBody());
  ASSERT_TRUE(checkpointer.CheckpointNow().ok());
  ASSERT_TRUE(checkpointer.CheckpointNow().ok());  // nothing new: no second checkpoint
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  checkpointer.Stop();  // a last checkpoint
  auto stored = store_->inner().ListAuditCheckpoints();
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 2u);
  std::ifstream in(file);
  std::stringstream file_text;
  file_text << in.rdbuf();
  std::string checkpoints;
  for (const auto& c : *stored) {
    const std::string message = audit::CheckpointMessage(c.server, c.seq, c.hash);
    EXPECT_TRUE(
        audit::testing::OpenSslVerify(pem, message, audit::testing::Base64Decode(c.signature)));
    checkpoints += audit::CheckpointJsonLine({c.server, c.seq, c.hash, c.time, c.signature}) + "\n";
  }
  EXPECT_EQ(file_text.str(), checkpoints);  // the file holds the same lines
  EXPECT_EQ((*stored)[1].seq, 4);

  const std::string events = ExportText();
  auto verdict = audit::Verify(events, checkpoints, pem);
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->ok()) << verdict->failure->detail;
  EXPECT_EQ(verdict->events, 4);

  std::vector<std::string> lines;
  std::stringstream split(events);
  for (std::string line; std::getline(split, line);) lines.push_back(line);
  auto join = [](const std::vector<std::string>& ls) {
    std::string out;
    for (const auto& l : ls) out += l + "\n";
    return out;
  };
  auto failure_of = [&](const std::vector<std::string>& ls) {
    auto v = audit::Verify(join(ls), checkpoints, pem);
    EXPECT_TRUE(v.ok());
    EXPECT_FALSE(v->ok());
    return v->ok() ? audit::VerifyFailure{} : *v->failure;
  };
  std::vector<std::string> changed = lines;
  changed[1].replace(changed[1].find("\"status\":200"), 12, "\"status\":404");
  EXPECT_EQ(failure_of(changed).kind, audit::FailureKind::kChanged);
  EXPECT_EQ(failure_of(changed).seq, 2);
  std::vector<std::string> deleted = lines;
  deleted.erase(deleted.begin() + 1);
  EXPECT_EQ(failure_of(deleted).kind, audit::FailureKind::kMissing);
  std::vector<std::string> reordered = lines;
  std::swap(reordered[1], reordered[2]);
  EXPECT_EQ(failure_of(reordered).kind, audit::FailureKind::kReordered);
  std::vector<std::string> truncated(lines.begin(), lines.begin() + 3);
  EXPECT_EQ(failure_of(truncated).kind, audit::FailureKind::kTruncated);
}

TEST_F(VaultAuditTest, FailsClosedWhenTheEventCannotBeWritten) {
  Put(alice_, "a", ApiKeyBody("old-value"));
  Sql("CREATE TRIGGER audit_fail BEFORE INSERT ON audit_events"
      " BEGIN SELECT RAISE(ABORT, 'injected audit failure'); END");
  ExpectError(TryPut(alice_, "a", ApiKeyBody("new-value")).status(), StatusCode::kUnavailable,
              "audit_unavailable");
  ExpectError(TryPut(alice_, "b", ApiKeyBody()).status(), StatusCode::kUnavailable,
              "audit_unavailable");
  ExpectError(vault_->Delete(alice_, "a"), StatusCode::kUnavailable, "audit_unavailable");
  ExpectError(vault_->Get(alice_, "a").status(), StatusCode::kUnavailable, "audit_unavailable");
  ExpectError(vault_->Authenticate("Bearer sr_bad").status(), StatusCode::kUnavailable,
              "audit_unavailable");
  Sql("DROP TRIGGER audit_fail");
  auto opened = vault_->Get(alice_, "a");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->credential.version, 1);  // unchanged
  EXPECT_EQ(opened->credential.last_used_at, clock_.NowMillis());
  EXPECT_NE(std::string(opened->data.begin(), opened->data.end()).find("old-value"),
            std::string::npos);
  ExpectError(vault_->Get(alice_, "b").status(), StatusCode::kNotFound, "not_found");
}

TEST_F(VaultAuditTest, AsyncBuffersAndOffWritesNothing) {
  UseMode(AuditMode::kAsync);
  Put(alice_, "a", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  vault_->Shutdown();  // flushes the buffer
  EXPECT_EQ(Events().size(), 2u);
  UseMode(AuditMode::kOff);
  ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  vault_->Shutdown();
  EXPECT_EQ(Events().size(), 2u);
}

TEST_F(VaultAuditTest, NoSecretOrApiKeyInTheAuditLog) {
  Put(alice_, "stripe", ApiKeyBody(kSecret));
  ASSERT_TRUE(vault_->Get(alice_, "stripe").ok());
  ASSERT_TRUE(vault_->Get(Caller::WithAuthorization("Bearer " + alice_key_), "stripe").ok());
  EXPECT_FALSE(vault_->Authenticate("Bearer " + alice_key_ + "x").ok());
  ASSERT_TRUE(RecordAdminEvent(*store_, AuditOptions{AuditMode::kSync, "admin@test"},
                               AdminEvent{audit::action::kAdminKeyCreate, "alice", alice_.key_id},
                               clock_)
                  .ok());
  const std::string exported = ExportText();
  EXPECT_NE(exported.find("admin.key.create"), std::string::npos);
  EXPECT_EQ(exported.find(kSecret), std::string::npos);
  EXPECT_EQ(exported.find(alice_key_), std::string::npos);
  EXPECT_EQ(exported.find(alice_key_.substr(alice_key_.size() - 20)), std::string::npos);
  EXPECT_NE(exported.find(alice_.key_id), std::string::npos);  // keys appear as their id
}

}  // namespace
}  // namespace strongroom::vault
