// The MySQL store itself on the 3-node Galera cluster: three stores, each
// attached to a different node first, with galera = true.
#include <atomic>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/credential_store.h"
#include "tests/galera/galera_cluster.h"

namespace strongroom::testing {
namespace {

using model::StoredCredential;

StoredCredential Counter(std::int64_t version) {
  StoredCredential row;
  row.credential_id = "cred-counter";
  row.type = model::CredentialType::kCustom;
  row.metadata_json = "{}";
  row.created_at = 1;
  row.updated_at = 1;
  row.version = version;
  row.ciphertext = {1};
  row.wrapped_dek = {2};
  return row;
}

// Read-modify-writes of one row through three nodes at once: row locks do not
// span nodes, so only certification (retried whole) keeps every update.
TEST(GaleraStoreTest, ConcurrentMutatesThroughThreeNodesLoseNoUpdate) {
  auto env = LoadGaleraEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto db = ScratchDatabase::Create(env->Node(2));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  std::vector<std::unique_ptr<store::CredentialStore>> stores;
  for (int node = 1; node <= kGaleraNodes; ++node) {
    store::MysqlStoreOptions options = MysqlOptionsFor(env->Node(node), (*db)->name());
    options.url = env->UrlListFrom(node);
    options.galera = true;
    auto store = store::OpenMysqlStore(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    stores.push_back(std::move(store).value());
  }
  model::Identity id;
  id.name = "alice";
  id.wrapped_kek = {1};
  auto alice = stores[0]->CreateIdentity(id);
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();

  constexpr int kThreads = 6;
  constexpr int kEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      store::CredentialStore& store = *stores[static_cast<std::size_t>(t % kGaleraNodes)];
      for (int i = 0; i < kEach; ++i) {
        auto written = store.Mutate(
            alice->id, "counter",
            [](const std::optional<StoredCredential>& old) -> Result<StoredCredential> {
              return Counter(old ? old->version + 1 : 1);
            });
        if (!written.ok()) {
          ADD_FAILURE() << written.status().ToString();
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  long aborts = 0;  // conflicts the retries absorbed, for the log
  for (int node = 1; node <= kGaleraNodes; ++node) {
    auto rows = MysqlQuery(env->Node(node), "",
                           "SHOW GLOBAL STATUS WHERE Variable_name IN "
                           "('wsrep_local_cert_failures', 'wsrep_local_bf_aborts')");
    ASSERT_TRUE(rows.ok()) << rows.status().ToString();
    for (const auto& row : *rows) aborts += std::stol(row.at(1));
  }
  std::cout << "galera store: " << kThreads * kEach << " mutates, cluster abort counters now "
            << aborts << "\n";
  // Every node has every update, read through each store.
  for (auto& store : stores) {
    auto row = store->GetCredential(alice->id, "counter");
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    EXPECT_EQ(row->version, kThreads * kEach);
  }
}

}  // namespace
}  // namespace strongroom::testing
