#include "tests/store/credential_store_suite.h"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "store/internal/migrations.h"

namespace strongroom::store::testing {
namespace {

using model::ApiKeyRecord;
using model::CredentialType;
using model::Identity;
using model::StoredCredential;

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

#define SR_ASSERT_OK(expr)                                 \
  do {                                                     \
    const auto& sr_v_ = (expr);                            \
    ASSERT_TRUE(sr_v_.ok()) << StatusOf(sr_v_).ToString(); \
  } while (false)
#define SR_EXPECT_ERROR(expr, want_code, want_error_code)                         \
  do {                                                                            \
    const auto& sr_v_ = (expr);                                                   \
    EXPECT_EQ(StatusOf(sr_v_).code(), (want_code)) << StatusOf(sr_v_).ToString(); \
    EXPECT_EQ(StatusOf(sr_v_).error_code(), (want_error_code));                   \
  } while (false)

std::vector<std::uint8_t> Bytes(std::initializer_list<int> values) {
  std::vector<std::uint8_t> out;
  for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
  return out;
}

std::vector<std::string> Names(const std::vector<StoredCredential>& list) {
  std::vector<std::string> out;
  for (const StoredCredential& c : list) out.push_back(c.name);
  return out;
}

// "{\"n\":17}" -> 17: the counter the concurrency tests increment.
std::int64_t Counter(const std::string& metadata_json) {
  return std::stoll(metadata_json.substr(metadata_json.find(':') + 1));
}
std::string CounterJson(std::int64_t n) { return "{\"n\":" + std::to_string(n) + "}"; }

void ExpectSameCredential(const StoredCredential& got, const StoredCredential& want,
                          bool with_envelope) {
  EXPECT_EQ(got.credential_id, want.credential_id);
  EXPECT_EQ(got.identity_id, want.identity_id);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.type, want.type);
  EXPECT_EQ(got.metadata_json, want.metadata_json);
  EXPECT_EQ(got.expires_at, want.expires_at);
  EXPECT_EQ(got.last_used_at, want.last_used_at);
  EXPECT_EQ(got.last_rotated_at, want.last_rotated_at);
  EXPECT_EQ(got.created_at, want.created_at);
  EXPECT_EQ(got.updated_at, want.updated_at);
  EXPECT_EQ(got.version, want.version);
  EXPECT_EQ(got.kek_version, want.kek_version);
  if (with_envelope) {
    EXPECT_EQ(got.ciphertext, want.ciphertext);
    EXPECT_EQ(got.wrapped_dek, want.wrapped_dek);
  } else {
    EXPECT_TRUE(got.ciphertext.empty());
    EXPECT_TRUE(got.wrapped_dek.empty());
  }
}

// A read-write key of `identity_id` whose hash holds a NUL byte.
ApiKeyRecord NewApiKey(std::int64_t identity_id) {
  ApiKeyRecord key;
  key.key_id = "0123456789abcdef";
  key.identity_id = identity_id;
  key.key_hash = std::vector<std::uint8_t>(32, 0x5a);
  key.key_hash[3] = 0x00;
  key.scopes = model::kScopeRead | model::kScopeWrite;
  key.expires_at = 1'800'000'000'000;
  key.created_at = 1'700'000'000'000;
  return key;
}

}  // namespace

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
  c.kek_version = 2;
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

// The GET path's one read: the key and its own identity's credential.
TEST_P(CredentialStoreTest, GetCredentialWithKeyReadsBothInOneStatement) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  ApiKeyRecord key = NewApiKey(alice.id);
  key.scopes = model::kScopeRead;
  SR_ASSERT_OK(store_->CreateApiKey(key));
  MutateOutcome mine = Put(alice.id, "shared-name", 4);
  Put(bob.id, "shared-name", 9);
  Put(bob.id, "bobs-only", 1);

  auto got = store_->GetCredentialWithKey(key.key_id, "shared-name");
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
  got = store_->GetCredentialWithKey(key.key_id, "bobs-only");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key.key_id, key.key_id);
  EXPECT_FALSE(got->credential.has_value());

  // A revocation is seen by the next read.
  SR_ASSERT_OK(store_->RevokeApiKey(key.key_id, 1'750'000'000'000));
  got = store_->GetCredentialWithKey(key.key_id, "missing");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->key.revoked_at, std::optional<UnixMillis>(1'750'000'000'000));
  EXPECT_FALSE(got->credential.has_value());

  SR_EXPECT_ERROR(store_->GetCredentialWithKey("0000000000000000", "shared-name"),
                  StatusCode::kNotFound, "not_found");
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

// --- credentials ---

TEST_P(CredentialStoreTest, MutateInsertsThenUpdates) {
  Identity alice = MakeIdentity("alice");
  StoredCredential v1 = NewCredential("github", 1);
  v1.identity_id = alice.id;

  int calls = 0;
  auto first = store_->Mutate(alice.id, "github", [&](const std::optional<StoredCredential>& old) {
    ++calls;
    EXPECT_FALSE(old.has_value());
    return Result<StoredCredential>(v1);
  });
  SR_ASSERT_OK(first);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(first->created);
  ExpectSameCredential(first->written, v1, true);

  auto got = store_->GetCredential(alice.id, "github");
  SR_ASSERT_OK(got);
  ExpectSameCredential(*got, v1, true);

  StoredCredential v2 = NewCredential("github", 2);
  v2.identity_id = alice.id;
  v2.type = CredentialType::kTotp;
  v2.metadata_json = "null";
  v2.expires_at = std::nullopt;
  v2.last_used_at = 1'700'000'000'500;
  auto second = store_->Mutate(alice.id, "github", [&](const std::optional<StoredCredential>& old) {
    EXPECT_TRUE(old.has_value());
    if (old) ExpectSameCredential(*old, v1, true);
    return Result<StoredCredential>(v2);
  });
  SR_ASSERT_OK(second);
  EXPECT_FALSE(second->created);
  ExpectSameCredential(second->written, v2, true);

  got = store_->GetCredential(alice.id, "github");
  SR_ASSERT_OK(got);
  ExpectSameCredential(*got, v2, true);

  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 1);
}

TEST_P(CredentialStoreTest, MutateWritesExactlyWhatFnReturns) {
  // The store does not bump versions or times: that is the caller's job.
  Identity alice = MakeIdentity("alice");
  Put(alice.id, "db", 7);
  auto got = store_->GetCredential(alice.id, "db");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->version, 7);
  Put(alice.id, "db", 3);
  got = store_->GetCredential(alice.id, "db");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->version, 3);
}

TEST_P(CredentialStoreTest, MutateWritesAtTheGivenKeyWhateverFnSays) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  auto outcome = store_->Mutate(alice.id, "mine", [&](const auto&) {
    StoredCredential c = NewCredential("theirs", 1);
    c.identity_id = bob.id;
    return Result(c);
  });
  SR_ASSERT_OK(outcome);
  EXPECT_EQ(outcome->written.identity_id, alice.id);
  EXPECT_EQ(outcome->written.name, "mine");
  SR_ASSERT_OK(store_->GetCredential(alice.id, "mine"));
  SR_EXPECT_ERROR(store_->GetCredential(bob.id, "theirs"), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "theirs"), StatusCode::kNotFound, "not_found");
}

TEST_P(CredentialStoreTest, MutateFnErrorWritesNothing) {
  Identity alice = MakeIdentity("alice");
  auto failed_insert = store_->Mutate(alice.id, "x", [](const auto&) -> Result<StoredCredential> {
    return FailedPreconditionError("no", "no_backup_codes");
  });
  SR_EXPECT_ERROR(failed_insert, StatusCode::kFailedPrecondition, "no_backup_codes");
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "x"), StatusCode::kNotFound, "not_found");

  Put(alice.id, "x", 1);
  auto failed_update = store_->Mutate(alice.id, "x", [](const auto&) -> Result<StoredCredential> {
    return InvalidArgumentError("bad", "invalid_data");
  });
  SR_EXPECT_ERROR(failed_update, StatusCode::kInvalidArgument, "invalid_data");
  auto got = store_->GetCredential(alice.id, "x");
  SR_ASSERT_OK(got);
  StoredCredential want = NewCredential("x", 1);
  want.identity_id = alice.id;
  ExpectSameCredential(*got, want, true);

  // The store is still usable for writes afterwards (the transaction ended).
  Put(alice.id, "y", 1);
  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 2);
}

TEST_P(CredentialStoreTest, MutateForUnknownIdentityIsNotFound) {
  Identity alice = MakeIdentity("alice");
  auto outcome = store_->Mutate(alice.id + 1000, "x",
                                [](const auto&) { return Result(NewCredential("x", 1)); });
  SR_EXPECT_ERROR(outcome, StatusCode::kNotFound, "not_found");
}

TEST_P(CredentialStoreTest, EmptyBlobsAndEveryTypeRoundTrip) {
  Identity alice = MakeIdentity("alice");
  const CredentialType kTypes[] = {
      CredentialType::kLogin,  CredentialType::kApiKey, CredentialType::kOauth,
      CredentialType::kTotp,   CredentialType::kSshKey, CredentialType::kDatabase,
      CredentialType::kSmtp,   CredentialType::kAws,    CredentialType::kCertificate,
      CredentialType::kCustom,
  };
  int i = 0;
  for (CredentialType type : kTypes) {
    std::string name = "c" + std::to_string(i++);
    StoredCredential c = NewCredential(name, 1);
    c.identity_id = alice.id;
    c.type = type;
    c.ciphertext.clear();
    c.wrapped_dek.clear();
    c.metadata_json = "";
    SR_ASSERT_OK(store_->Mutate(alice.id, name, [&](const auto&) { return Result(c); }));
    auto got = store_->GetCredential(alice.id, name);
    SR_ASSERT_OK(got);
    ExpectSameCredential(*got, c, true);
  }
}

TEST_P(CredentialStoreTest, ListIsSortedBytewiseWithCursorAndLimit) {
  Identity alice = MakeIdentity("alice");
  for (const char* name : {"b", "a", "C", "a.1", "Z-9", "a_2", "0"}) Put(alice.id, name, 1);

  auto all = store_->ListCredentials(alice.id, "", 100);
  SR_ASSERT_OK(all);
  EXPECT_EQ(Names(*all), (std::vector<std::string>{"0", "C", "Z-9", "a", "a.1", "a_2", "b"}));
  for (const StoredCredential& c : *all) {
    StoredCredential want = NewCredential(c.name, 1);
    want.identity_id = alice.id;
    ExpectSameCredential(c, want, /*with_envelope=*/false);
  }

  auto page1 = store_->ListCredentials(alice.id, "", 3);
  SR_ASSERT_OK(page1);
  EXPECT_EQ(Names(*page1), (std::vector<std::string>{"0", "C", "Z-9"}));
  auto page2 = store_->ListCredentials(alice.id, page1->back().name, 3);
  SR_ASSERT_OK(page2);
  EXPECT_EQ(Names(*page2), (std::vector<std::string>{"a", "a.1", "a_2"}));
  auto page3 = store_->ListCredentials(alice.id, page2->back().name, 3);
  SR_ASSERT_OK(page3);
  EXPECT_EQ(Names(*page3), (std::vector<std::string>{"b"}));
  auto page4 = store_->ListCredentials(alice.id, "b", 3);
  SR_ASSERT_OK(page4);
  EXPECT_TRUE(page4->empty());

  // A cursor need not be an existing name.
  auto from_a0 = store_->ListCredentials(alice.id, "a0", 100);
  SR_ASSERT_OK(from_a0);
  EXPECT_EQ(Names(*from_a0), (std::vector<std::string>{"a_2", "b"}));

  SR_EXPECT_ERROR(store_->ListCredentials(alice.id, "", 0), StatusCode::kInvalidArgument,
                  "invalid_request");
  SR_EXPECT_ERROR(store_->ListCredentials(alice.id, "", -1), StatusCode::kInvalidArgument,
                  "invalid_request");
}

TEST_P(CredentialStoreTest, NamesAreCaseSensitive) {
  Identity alice = MakeIdentity("alice");
  Put(alice.id, "Token", 1);
  auto created = Put(alice.id, "token", 2);
  EXPECT_TRUE(created.created);
  auto upper = store_->GetCredential(alice.id, "Token");
  SR_ASSERT_OK(upper);
  EXPECT_EQ(upper->version, 1);
  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 2);
}

TEST_P(CredentialStoreTest, CountCredentials) {
  Identity alice = MakeIdentity("alice");
  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 0);
  for (int i = 0; i < 5; ++i) Put(alice.id, "n" + std::to_string(i), 1);
  Put(alice.id, "n0", 2);  // replace: still five
  count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 5);
}

TEST_P(CredentialStoreTest, DeleteCredential) {
  Identity alice = MakeIdentity("alice");
  Put(alice.id, "a", 1);
  Put(alice.id, "b", 1);
  SR_ASSERT_OK(store_->DeleteCredential(alice.id, "a"));
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "a"), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->DeleteCredential(alice.id, "a"), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->DeleteCredential(alice.id, "never"), StatusCode::kNotFound, "not_found");
  SR_ASSERT_OK(store_->GetCredential(alice.id, "b"));
  // Re-creating after a delete is a create.
  EXPECT_TRUE(Put(alice.id, "a", 1).created);
}

TEST_P(CredentialStoreTest, IdentitiesAreIsolated) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  Put(alice.id, "shared", 1);
  EXPECT_TRUE(Put(bob.id, "shared", 5).created);  // same name, other identity: a new row
  Put(alice.id, "alice-only", 1);

  auto a = store_->GetCredential(alice.id, "shared");
  SR_ASSERT_OK(a);
  EXPECT_EQ(a->version, 1);
  EXPECT_EQ(a->identity_id, alice.id);
  auto b = store_->GetCredential(bob.id, "shared");
  SR_ASSERT_OK(b);
  EXPECT_EQ(b->version, 5);
  EXPECT_EQ(b->identity_id, bob.id);

  SR_EXPECT_ERROR(store_->GetCredential(bob.id, "alice-only"), StatusCode::kNotFound, "not_found");
  SR_EXPECT_ERROR(store_->DeleteCredential(bob.id, "alice-only"), StatusCode::kNotFound,
                  "not_found");
  auto bob_list = store_->ListCredentials(bob.id, "", 100);
  SR_ASSERT_OK(bob_list);
  EXPECT_EQ(Names(*bob_list), (std::vector<std::string>{"shared"}));
  auto bob_count = store_->CountCredentials(bob.id);
  SR_ASSERT_OK(bob_count);
  EXPECT_EQ(*bob_count, 1);

  SR_ASSERT_OK(store_->DeleteCredential(bob.id, "shared"));
  SR_ASSERT_OK(store_->GetCredential(alice.id, "shared"));
}

TEST_P(CredentialStoreTest, DeletingAnIdentityCascades) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  for (const Identity& who : {alice, bob}) {
    ApiKeyRecord key;
    key.key_id = std::string(16, who.name[0]);
    key.identity_id = who.id;
    key.key_hash = std::vector<std::uint8_t>(32, 7);
    key.scopes = model::kScopeRead;
    key.created_at = 1;
    SR_ASSERT_OK(store_->CreateApiKey(key));
    Put(who.id, "one", 1);
    Put(who.id, "two", 1);
  }

  SR_ASSERT_OK(store_->DeleteIdentity("alice"));
  SR_EXPECT_ERROR(store_->GetApiKey(std::string(16, 'a')), StatusCode::kNotFound, "not_found");
  auto keys = store_->ListApiKeys(alice.id);
  SR_ASSERT_OK(keys);
  EXPECT_TRUE(keys->empty());
  auto count = store_->CountCredentials(alice.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 0);
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "one"), StatusCode::kNotFound, "not_found");

  SR_ASSERT_OK(store_->GetApiKey(std::string(16, 'b')));
  count = store_->CountCredentials(bob.id);
  SR_ASSERT_OK(count);
  EXPECT_EQ(*count, 2);
}

TEST_P(CredentialStoreTest, TouchLastUsedKeepsTheLatest) {
  Identity alice = MakeIdentity("alice");
  Identity bob = MakeIdentity("bob");
  Put(alice.id, "a", 4);
  Put(alice.id, "b", 1);
  Put(bob.id, "a", 1);

  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-a", 1000}, {alice.id, "cred-b", 500}}));
  // Out of order and duplicated in one batch; a missing row is skipped.
  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-a", 900},
                                      {alice.id, "cred-b", 700},
                                      {alice.id, "cred-b", 600},
                                      {alice.id, "cred-gone", 5}}));
  SR_ASSERT_OK(store_->TouchLastUsed({}));

  auto a = store_->GetCredential(alice.id, "a");
  SR_ASSERT_OK(a);
  EXPECT_EQ(a->last_used_at, std::optional<UnixMillis>(1000));
  // Nothing else changes.
  StoredCredential want = NewCredential("a", 4);
  want.identity_id = alice.id;
  want.last_used_at = 1000;
  ExpectSameCredential(*a, want, true);

  auto b = store_->GetCredential(alice.id, "b");
  SR_ASSERT_OK(b);
  EXPECT_EQ(b->last_used_at, std::optional<UnixMillis>(700));
  auto other = store_->GetCredential(bob.id, "a");
  SR_ASSERT_OK(other);
  EXPECT_EQ(other->last_used_at, std::nullopt);
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "gone"), StatusCode::kNotFound, "not_found");
}

TEST_P(CredentialStoreTest, Ping) { SR_ASSERT_OK(store_->Ping()); }

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
