// SPEC 12 on MySQL: two servers (two stores with their own server ids) sharing
// one database append concurrently, reads batched and writes in their own
// transactions, and keep two valid chains (checked by the offline verifier).
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "audit/software_signer.h"
#include "audit/verifier.h"
#include "store/credential_store.h"
#include "tests/mysql/scratch_database_test.h"
#include "vault/audit.h"

namespace strongroom::testing {
namespace {

store::AuditRecord Read(const std::string& server, int i) {
  store::AuditRecord r;
  r.time = "2026-12-03T08:00:00.000Z";
  r.server = server;
  r.request_id = "req-" + std::to_string(i);
  r.action = "vault.get";
  r.identity = "alice";
  r.key_id = "0123456789abcdef";
  r.credential = "db";
  r.status = 200;
  r.remote = "127.0.0.1";
  return r;
}

class MysqlAuditTest : public ScratchDatabaseTest {};

TEST_F(MysqlAuditTest, TwoServersOnOneDatabaseKeepTwoValidChains) {
  auto first = store::OpenMysqlStore(Options());
  auto second = store::OpenMysqlStore(Options());
  ASSERT_TRUE(first.ok() && second.ok());
  model::Identity alice_row;
  alice_row.name = "alice";
  alice_row.wrapped_kek = {1};
  auto alice = (*first)->CreateIdentity(alice_row);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  constexpr int kThreadsPerServer = 3;
  constexpr int kRounds = 15;
  std::vector<std::thread> threads;
  for (int s = 0; s < 2; ++s) {
    for (int t = 0; t < kThreadsPerServer; ++t) {
      store::CredentialStore* store = s == 0 ? first->get() : second->get();
      const std::string server = s == 0 ? "server-a:8700" : "server-b:8700";
      threads.emplace_back([=] {
        for (int i = 0; i < kRounds; ++i) {
          std::vector<store::AuditRecord> batch{Read(server, i), Read(server, i + 1000)};
          EXPECT_TRUE(store->AppendAuditEvents(&batch, &vault::AuditRecordHash).ok());
          store::AuditRecord write = Read(server, i);
          write.action = "vault.store";
          auto written = store->MutateAudited(
              alice->id, "c" + std::to_string(t),
              [&](const std::optional<model::StoredCredential>& old) {
                model::StoredCredential c;
                c.credential_id = "cred";
                c.type = model::CredentialType::kCustom;
                c.metadata_json = "null";
                c.version = old ? old->version + 1 : 1;
                c.ciphertext = {1};
                c.wrapped_dek = {2};
                return Result<model::StoredCredential>(c);
              },
              store::AuditWrite{&write, &vault::AuditRecordHash});
          EXPECT_TRUE(written.ok()) << written.status().ToString();
        }
      });
    }
  }
  for (auto& t : threads) t.join();

  auto events = (*first)->ListAuditEvents(store::AuditQuery{.limit = 100000});
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u * kThreadsPerServer * kRounds * 3);
  std::string text;
  for (const auto& r : *events) text += audit::EventJsonLine(vault::AuditEventOf(r)) + "\n";
  auto signer = audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(signer.ok());
  auto verdict = audit::Verify(text, "", *(*signer)->PublicKeyPem());
  ASSERT_TRUE(verdict.ok());
  EXPECT_TRUE(verdict->ok()) << verdict->failure->detail;
  auto last = (*second)->LastAuditEvent("server-b:8700");
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->seq, kThreadsPerServer * kRounds * 3);
}

}  // namespace
}  // namespace strongroom::testing
