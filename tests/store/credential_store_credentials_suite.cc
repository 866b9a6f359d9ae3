// The CredentialStore conformance suite (see credential_store_suite.h),
// continued: credential rows (Mutate, list, count, delete, isolation between
// identities, cascades and lastUsedAt).
#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/store/credential_store_suite.h"
#include "tests/store/credential_store_suite_util.h"

namespace strongroom::store::testing {

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

TEST_P(CredentialStoreTest, MutateFnExceptionFailsThatWriteAloneAndLaterWritesProceed) {
  Identity alice = MakeIdentity("alice");
  auto thrown = store_->Mutate(alice.id, "x", [](const auto&) -> Result<StoredCredential> {
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(thrown.status().code(), StatusCode::kInternal);
  EXPECT_EQ(thrown.status().message().find("boom"), std::string::npos);
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "x"), StatusCode::kNotFound, "not_found");
  // Before the fix SQLite's group-commit leader stayed elected and this hung.
  Put(alice.id, "y", 1);
  SR_ASSERT_OK(store_->GetCredential(alice.id, "y"));
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

  // Touches name the credential_id ("cred-" + name, see NewCredential).
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

// A use recorded for a credential that was then deleted and re-created under
// the same name belongs to the old credential: the new row (a new
// credential_id) keeps its own last_used_at.
TEST_P(CredentialStoreTest, TouchLastUsedSkipsARecreatedName) {
  Identity alice = MakeIdentity("alice");
  Put(alice.id, "a", 1);  // credential_id "cred-a"
  SR_ASSERT_OK(store_->DeleteCredential(alice.id, "a"));
  StoredCredential recreated = NewCredential("a", 1);
  recreated.credential_id = "cred-a-2";
  SR_ASSERT_OK(store_->Mutate(alice.id, "a", [&](const auto&) { return Result(recreated); }));

  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-a", 1000}}));
  auto got = store_->GetCredential(alice.id, "a");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->credential_id, "cred-a-2");
  EXPECT_EQ(got->last_used_at, std::nullopt);

  // The same credential_id under another identity is another credential.
  Identity bob = MakeIdentity("bob");
  Put(bob.id, "a", 1);
  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-a", 2000}}));
  auto bobs = store_->GetCredential(bob.id, "a");
  SR_ASSERT_OK(bobs);
  EXPECT_EQ(bobs->last_used_at, std::nullopt);

  SR_ASSERT_OK(store_->TouchLastUsed({{alice.id, "cred-a-2", 3000}}));
  got = store_->GetCredential(alice.id, "a");
  SR_ASSERT_OK(got);
  EXPECT_EQ(got->last_used_at, std::optional<UnixMillis>(3000));
}

TEST_P(CredentialStoreTest, Ping) { SR_ASSERT_OK(store_->Ping()); }

}  // namespace strongroom::store::testing
