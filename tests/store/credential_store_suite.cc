#include "tests/store/credential_store_suite.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "store/internal/migrations.h"
#include "tests/store/credential_store_suite_util.h"

namespace strongroom::store::testing {

void CredentialStoreTest::SetUp() {
  auto db = GetParam().new_database();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  db_ = std::move(db).value();
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

void CredentialStoreTest::TearDown() {
  store_.reset();
  db_.reset();
}

void CredentialStoreTest::Reopen() {
  store_.reset();
  auto store = db_->Open();
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  store_ = std::move(store).value();
}

Identity CredentialStoreTest::NewIdentity(const std::string& name) {
  Identity identity;
  identity.name = name;
  identity.wrapped_kek = Bytes({0x00, 0x01, 0xfe, 0xff, 0x00, 0x42});  // embedded NUL bytes
  identity.kek_version = 3;
  return identity;
}

Identity CredentialStoreTest::MakeIdentity(const std::string& name) {
  auto created = store_->CreateIdentity(NewIdentity(name));
  EXPECT_TRUE(created.ok()) << created.status().ToString();
  return created.ok() ? *created : Identity{};
}

StoredCredential CredentialStoreTest::NewCredential(const std::string& name, std::int64_t version) {
  StoredCredential c;
  c.credential_id = "cred-" + name;
  c.name = name;
  c.type = CredentialType::kLogin;
  c.metadata_json = R"({"uri":"https://example.com","username":"agent"})";
  c.expires_at = 1'900'000'000'000 + version;
  c.last_used_at = std::nullopt;
  c.last_rotated_at =
      version > 1 ? std::optional<UnixMillis>(1'700'000'000'000 + version) : std::nullopt;
  c.created_at = 1'700'000'000'000;
  c.updated_at = 1'700'000'000'000 + version;
  c.version = version;
  c.ciphertext = Bytes({0x00, 0x10, 0x20, static_cast<int>(version & 0xff), 0x00, 0xff});
  c.wrapped_dek = Bytes({0xa6, 0x59, 0x59, 0xa6, 0x00, static_cast<int>(version & 0xff)});
  c.kek_version = 3;  // the identity's current KEK (NewIdentity): Mutate insists
  return c;
}

MutateOutcome CredentialStoreTest::Put(std::int64_t identity_id, const std::string& name,
                                       std::int64_t version) {
  StoredCredential c = NewCredential(name, version);
  c.identity_id = identity_id;
  auto outcome = store_->Mutate(identity_id, name, [&](const auto&) { return Result(c); });
  EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
  return outcome.ok() ? *outcome : MutateOutcome{};
}

// --- identities ---

TEST_P(CredentialStoreTest, CreateGetAndListIdentities) {
  auto bob = store_->CreateIdentity(NewIdentity("bob"));
  SR_ASSERT_OK(bob);
  auto alice = store_->CreateIdentity(NewIdentity("alice"));
  SR_ASSERT_OK(alice);
  EXPECT_GT(bob->id, 0);
  EXPECT_NE(alice->id, bob->id);
  EXPECT_GT(alice->created_at, 0);

  auto by_id = store_->GetIdentity(alice->id);
  SR_ASSERT_OK(by_id);
  EXPECT_EQ(by_id->name, "alice");
  EXPECT_EQ(by_id->wrapped_kek, NewIdentity("alice").wrapped_kek);
  EXPECT_EQ(by_id->kek_version, 3);
  EXPECT_EQ(by_id->created_at, alice->created_at);

  auto by_name = store_->GetIdentityByName("bob");
  SR_ASSERT_OK(by_name);
  EXPECT_EQ(by_name->id, bob->id);

  auto all = store_->ListIdentities();
  SR_ASSERT_OK(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].name, "alice");
  EXPECT_EQ((*all)[1].name, "bob");

  SR_EXPECT_ERROR(store_->GetIdentity(alice->id + bob->id + 100), StatusCode::kNotFound,
                  "not_found");
  SR_EXPECT_ERROR(store_->GetIdentityByName("carol"), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->GetIdentityByName("Alice"), StatusCode::kNotFound, "not_found");
}

TEST_P(CredentialStoreTest, DuplicateIdentityNameIsAlreadyExists) {
  MakeIdentity("alice");
  SR_EXPECT_ERROR(store_->CreateIdentity(NewIdentity("alice")), StatusCode::kAlreadyExists,
                  "identity_exists");
  auto all = store_->ListIdentities();
  SR_ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_P(CredentialStoreTest, DeleteIdentity) {
  Identity alice = MakeIdentity("alice");
  SR_ASSERT_OK(store_->DeleteIdentity("alice"));
  SR_EXPECT_ERROR(store_->GetIdentity(alice.id), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->DeleteIdentity("alice"), StatusCode::kNotFound, "not_found");
  // The name is free again.
  SR_ASSERT_OK(store_->CreateIdentity(NewIdentity("alice")));
}

TEST_P(CredentialStoreTest, IdentityIdsAreNeverReused) {
  MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  SR_ASSERT_OK(store_->DeleteIdentity("bob"));
  Identity carol = MakeIdentity("carol");
  EXPECT_GT(carol.id, bob.id);
}

// --- API keys ---

TEST_P(CredentialStoreTest, ApiKeyCreateGetListRevoke) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");

  ApiKeyRecord key = NewApiKey(alice.id);
  SR_ASSERT_OK(store_->CreateApiKey(key));

  ApiKeyRecord second = key;
  second.key_id = "fedcba9876543210";
  second.scopes = model::kScopeRead;
  second.expires_at = std::nullopt;
  second.created_at = 1'700'000'000'001;
  SR_ASSERT_OK(store_->CreateApiKey(second));

  auto got = store_->GetApiKey(key.key_id);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key_id, key.key_id);
  EXPECT_EQ(got->identity_id, alice.id);
  EXPECT_EQ(got->key_hash, key.key_hash);
  EXPECT_EQ(got->scopes, key.scopes);
  EXPECT_EQ(got->expires_at, key.expires_at);
  EXPECT_EQ(got->revoked_at, std::nullopt);
  EXPECT_EQ(got->created_at, key.created_at);

  auto listed = store_->ListApiKeys(alice.id);
  SR_ASSERT_OK(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].key_id, key.key_id);
  EXPECT_EQ((*listed)[1].key_id, second.key_id);
  EXPECT_EQ((*listed)[1].expires_at, std::nullopt);
  auto none = store_->ListApiKeys(bob.id);
  SR_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  SR_ASSERT_OK(store_->RevokeApiKey(key.key_id, 1'750'000'000'000));
  got = store_->GetApiKey(key.key_id);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->revoked_at, std::optional<UnixMillis>(1'750'000'000'000));
  // Revoking again keeps the first revocation time.
  SR_ASSERT_OK(store_->RevokeApiKey(key.key_id, 1'760'000'000'000));
  got = store_->GetApiKey(key.key_id);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->revoked_at, std::optional<UnixMillis>(1'750'000'000'000));
  // The other key is untouched.
  got = store_->GetApiKey(second.key_id);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->revoked_at, std::nullopt);

  SR_EXPECT_ERROR(store_->RevokeApiKey("0000000000000000", 1), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->GetApiKey("0000000000000000"), StatusCode::kNotFound, "not_found");
}

// A key check that accepts every key.
Status AcceptKey(const ApiKeyRecord&) { return Status::Ok(); }

// The GET path's one read: the key and its own identity's credential.
TEST_P(CredentialStoreTest, GetCredentialWithKeyReadsBothInOneRead) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  ApiKeyRecord key = NewApiKey(alice.id);
  key.scopes = model::kScopeRead;
  SR_ASSERT_OK(store_->CreateApiKey(key));
  MutateOutcome mine = Put(alice.id, "shared-name", 4);
  Put(bob.id, "shared-name", 9);
  Put(bob.id, "bobs-only", 1);

  auto got = store_->GetCredentialWithKey(key.key_id, "shared-name", AcceptKey);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key.key_id, key.key_id);
  EXPECT_EQ(got->key.identity_id, alice.id);
  EXPECT_EQ(got->key.key_hash, key.key_hash);
  EXPECT_EQ(got->key.scopes, key.scopes);
  EXPECT_EQ(got->key.expires_at, key.expires_at);
  EXPECT_EQ(got->key.revoked_at, std::nullopt);
  EXPECT_EQ(got->key.created_at, key.created_at);
  ASSERT_TRUE(got->credential.has_value());
  ExpectSameCredential(*got->credential, mine.written, true);
  EXPECT_EQ(got->credential->identity_id, alice.id);

  // Another identity's credential is never joined in.
  got = store_->GetCredentialWithKey(key.key_id, "bobs-only", AcceptKey);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key.key_id, key.key_id);
  EXPECT_FALSE(got->credential.has_value());

  // A revocation is seen by the next read.
  SR_ASSERT_OK(store_->RevokeApiKey(key.key_id, 1'750'000'000'000));
  got = store_->GetCredentialWithKey(key.key_id, "missing", AcceptKey);
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key.revoked_at, std::optional<UnixMillis>(1'750'000'000'000));
  EXPECT_FALSE(got->credential.has_value());

  SR_EXPECT_ERROR(store_->GetCredentialWithKey("0000000000000000", "shared-name", AcceptKey),
                  StatusCode::kNotFound, "not_found");
}

// SPEC 4: the key is checked before anything about the name is looked at. A
// failed check is returned as it is, for an existing and a missing name alike,
// and the check sees the key record only.
TEST_P(CredentialStoreTest, GetCredentialWithKeyChecksTheKeyBeforeTheName) {
  Identity alice = MakeIdentity("alice");
  ApiKeyRecord key = NewApiKey(alice.id);
  SR_ASSERT_OK(store_->CreateApiKey(key));
  Put(alice.id, "exists", 1);
  for (const char* name : {"exists", "missing"}) {
    SCOPED_TRACE(name);
    int checks = 0;
    auto refuse = [&](const ApiKeyRecord& seen) {
      ++checks;
      EXPECT_EQ(seen.key_id, key.key_id);
      EXPECT_EQ(seen.key_hash, key.key_hash);
      return UnauthenticatedError("invalid or missing API key");
    };
    auto got = store_->GetCredentialWithKey(key.key_id, name, refuse);
    SR_EXPECT_ERROR(got, StatusCode::kUnauthenticated, "unauthorized");
    EXPECT_EQ(got.status().message(), "invalid or missing API key");
    EXPECT_GE(checks, 1);
  }
  // The credential is looked up only after the check: one deleted by the
  // check (through another connection) is not found.
  auto delete_then_accept = [&](const ApiKeyRecord&) {
    Status deleted = store_->DeleteCredential(alice.id, "exists");
    EXPECT_TRUE(deleted.ok() || deleted.code() == StatusCode::kNotFound) << deleted.ToString();
    return Status::Ok();
  };
  auto got = store_->GetCredentialWithKey(key.key_id, "exists", delete_then_accept);
  SR_ASSERT_OK(got);
  EXPECT_FALSE(got->credential.has_value());
}

TEST_P(CredentialStoreTest, ApiKeyDuplicateIdAndUnknownIdentity) {
  Identity alice = MakeIdentity("alice");
  ApiKeyRecord key;
  key.key_id = "0123456789abcdef";
  key.identity_id = alice.id;
  key.key_hash = std::vector<std::uint8_t>(32, 1);
  key.scopes = model::kScopeRead;
  key.created_at = 1;
  SR_ASSERT_OK(store_->CreateApiKey(key));
  SR_EXPECT_ERROR(store_->CreateApiKey(key), StatusCode::kAlreadyExists, "api_key_exists");

  key.key_id = "1111111111111111";
  key.identity_id = alice.id + 1000;
  SR_EXPECT_ERROR(store_->CreateApiKey(key), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->GetApiKey(key.key_id), StatusCode::kNotFound, "not_found");
}

// --- durability and schema ---

TEST_P(CredentialStoreTest, DataPersistsAcrossReopen) {
  Identity alice = MakeIdentity("alice");
  ApiKeyRecord key;
  key.key_id = "0123456789abcdef";
  key.identity_id = alice.id;
  key.key_hash = std::vector<std::uint8_t>(32, 9);
  key.scopes = model::kScopeWrite;
  key.created_at = 1;
  SR_ASSERT_OK(store_->CreateApiKey(key));
  Put(alice.id, "github", 2);
  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-github", 1234}}));

  Reopen();

  auto identity = store_->GetIdentityByName("alice");
  SR_ASSERT_OK(identity);
  EXPECT_EQ(identity->id, alice.id);
  EXPECT_EQ(identity->wrapped_kek, alice.wrapped_kek);
  EXPECT_EQ(identity->created_at, alice.created_at);
  auto got_key = store_->GetApiKey(key.key_id);
  SR_ASSERT_OK(got_key);
  EXPECT_EQ(got_key->key_hash, key.key_hash);
  auto got = store_->GetCredential(alice.id, "github");
  SR_ASSERT_OK(got);
  StoredCredential want = NewCredential("github", 2);
  want.identity_id = alice.id;
  want.last_used_at = 1234;
  ExpectSameCredential(*got, want, true);
}

TEST_P(CredentialStoreTest, MigrationsAreRecordedOnceAndIdempotent) {
  std::vector<std::int64_t> want;
  for (std::int64_t v = 1; v <= internal::kSchemaVersion; ++v) want.push_back(v);
  auto versions = db_->AppliedSchemaVersions();
  SR_ASSERT_OK(versions);
  EXPECT_EQ(*versions, want);

  MakeIdentity("alice");
  Reopen();
  Reopen();
  versions = db_->AppliedSchemaVersions();
  SR_ASSERT_OK(versions);
  EXPECT_EQ(*versions, want);
  SR_ASSERT_OK(store_->GetIdentityByName("alice"));
}

TEST_P(CredentialStoreTest, RefusesASchemaNewerThanThisBuild) {
  MakeIdentity("alice");
  store_.reset();
  SR_ASSERT_OK(db_->RecordSchemaVersion(internal::kSchemaVersion + 1));
  auto reopened = db_->Open();
  SR_EXPECT_ERROR(reopened, StatusCode::kFailedPrecondition, "schema_too_new");
  EXPECT_NE(reopened.status().message().find(std::to_string(internal::kSchemaVersion + 1)),
            std::string::npos)
      << reopened.status().message();
}

// --- concurrency ---

TEST_P(CredentialStoreTest, ConcurrentMutatesNeverLoseAnUpdate) {
  Identity alice = MakeIdentity("alice");
  constexpr int kThreads = 8;
  constexpr int kIncrements = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        auto outcome =
            store_->Mutate(alice.id, "counter", [&](const std::optional<StoredCredential>& old) {
              StoredCredential c = old ? *old : NewCredential("counter", 0);
              std::int64_t n = old ? Counter(old->metadata_json) : 0;
              c.metadata_json = CounterJson(n + 1);
              c.version = (old ? old->version : 0) + 1;
              return Result(c);
            });
        if (!outcome.ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto got = store_->GetCredential(alice.id, "counter");
  SR_ASSERT_OK(got);
  EXPECT_EQ(Counter(got->metadata_json), kThreads * kIncrements);
  EXPECT_EQ(got->version, kThreads * kIncrements);
}

// Concurrent writers may share one transaction (SQLite group commit): a
// failing fn must roll back only its own change, never a neighbour's.
TEST_P(CredentialStoreTest, ConcurrentMutatesFailIndependently) {
  Identity alice = MakeIdentity("alice");
  constexpr int kThreads = 16;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string name = "c" + std::to_string(t);
      auto outcome = store_->Mutate(
          alice.id, name, [&](const std::optional<StoredCredential>&) -> Result<StoredCredential> {
            if (t % 2 == 0) return InvalidArgumentError("refused", "refused_for_test");
            return NewCredential(name, 1);
          });
      results[t] = outcome.ok() ? Status::Ok() : outcome.status();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) {
    auto got = store_->GetCredential(alice.id, "c" + std::to_string(t));
    if (t % 2 == 0) {
      EXPECT_EQ(results[t].error_code(), "refused_for_test") << t;
      ASSERT_FALSE(got.ok()) << t;
      EXPECT_EQ(got.status().code(), StatusCode::kNotFound) << t;
    } else {
      EXPECT_TRUE(results[t].ok()) << t << ": " << results[t].ToString();
      EXPECT_TRUE(got.ok()) << t;
    }
  }
  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, kThreads / 2);
}

TEST_P(CredentialStoreTest, ReadsRunWhileWritesCommit) {
  Identity alice = MakeIdentity("alice");
  for (int i = 0; i < 10; ++i) Put(alice.id, "n" + std::to_string(i), 1);

  constexpr int kWrites = 60;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> reads{0};
  std::thread writer([&] {
    for (int v = 2; v <= kWrites + 1; ++v) {
      StoredCredential c = NewCredential("n0", v);
      if (!store_->Mutate(alice.id, "n0", [&](const auto&) { return Result(c); }).ok()) {
        failures.fetch_add(1);
      }
      if (!store_->TouchLastUsed({{alice.id, "cred-n1", v}}).ok()) failures.fetch_add(1);
    }
    done.store(true);
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 6; ++r) {
    readers.emplace_back([&] {
      std::int64_t last_version = 0;
      while (!done.load()) {
        auto got = store_->GetCredential(alice.id, "n0");
        // Each read sees a committed row, and never goes back in time.
        if (!got.ok() || got->version < last_version ||
            got->ciphertext != NewCredential("n0", got->version).ciphertext) {
          failures.fetch_add(1);
        } else {
          last_version = got->version;
        }
        auto list = store_->ListCredentials(alice.id, "", 100);
        if (!list.ok() || list->size() != 10) failures.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  writer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0);
  auto got = store_->GetCredential(alice.id, "n0");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->version, kWrites + 1);
}

}  // namespace strongroom::store::testing
