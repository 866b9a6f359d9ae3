// The CredentialStore conformance suite (see credential_store_suite.h),
// continued: the key state of SPEC 11 (master key states, KEK labels, the
// KEK compare-and-set, finishing a KEK rotation, and Mutate's refusal of a
// credential sealed under a KEK version that is not current).
#include <string>
#include <vector>

#include "tests/store/credential_store_suite.h"
#include "tests/store/credential_store_suite_util.h"

namespace strongroom::store::testing {
namespace {

using model::MasterKeyState;

std::vector<std::string> States(const std::vector<model::MasterKeyRecord>& keys) {
  std::vector<std::string> out;
  for (const auto& key : keys) {
    out.push_back(key.label + "=" + std::string(model::MasterKeyStateName(key.state)));
  }
  return out;
}

}  // namespace

TEST_P(CredentialStoreTest, SeedNamesTheConfiguredKeyOnUnlabelledKeksOnce) {
  Identity old = MakeIdentity("old");  // made before any key state: no label
  EXPECT_EQ(store_->GetIdentity(old.id)->master_key_label, "");
  auto none = store_->ListMasterKeys();
  SR_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  SR_ASSERT_OK(store_->SeedMasterKey("m1", 1000));
  SR_ASSERT_OK(store_->SeedMasterKey("other", 2000));  // seeded already: a no-op
  auto keys = store_->ListMasterKeys();
  SR_ASSERT_OK(keys);
  EXPECT_EQ(States(*keys), (std::vector<std::string>{"m1=active"}));
  EXPECT_EQ((*keys)[0].created_at, 1000);
  EXPECT_EQ(store_->GetIdentity(old.id)->master_key_label, "m1");
  Reopen();
  EXPECT_EQ(store_->GetIdentityByName("old")->master_key_label, "m1");
}

TEST_P(CredentialStoreTest, ActivateDemotesAndRetireRefusesWhileInUse) {
  SR_ASSERT_OK(store_->SeedMasterKey("m1", 1000));
  Identity alice = NewIdentity("alice");
  alice.master_key_label = "m1";
  auto created = store_->CreateIdentity(alice);
  SR_ASSERT_OK(created);

  SR_ASSERT_OK(store_->ActivateMasterKey("m2", 2000));
  SR_ASSERT_OK(store_->ActivateMasterKey("m2", 2500));  // idempotent
  EXPECT_EQ(States(*store_->ListMasterKeys()),
            (std::vector<std::string>{"m1=previous", "m2=active"}));
  SR_EXPECT_ERROR(store_->RetireMasterKey("m2", 3000), StatusCode::kFailedPrecondition,
                  "master_key_active");
  SR_EXPECT_ERROR(store_->RetireMasterKey("nope", 3000), StatusCode::kNotFound, "not_found");
  Status in_use = store_->RetireMasterKey("m1", 3000);
  SR_EXPECT_ERROR(in_use, StatusCode::kFailedPrecondition, "master_key_in_use");
  EXPECT_EQ(in_use.message().rfind("1 identity KEKs", 0), 0u) << in_use.message();

  Identity moved = *created;
  moved.master_key_label = "m2";
  moved.wrapped_kek = Bytes({9, 9, 9});
  SR_ASSERT_OK(store_->UpdateIdentityKeks(*created, moved));
  SR_ASSERT_OK(store_->RetireMasterKey("m1", 3000));
  SR_ASSERT_OK(store_->RetireMasterKey("m1", 4000));  // idempotent
  auto keys = store_->ListMasterKeys();
  EXPECT_EQ(States(*keys), (std::vector<std::string>{"m1=retired", "m2=active"}));
  EXPECT_EQ((*keys)[0].retired_at, 3000);
  SR_EXPECT_ERROR(store_->ActivateMasterKey("m1", 5000), StatusCode::kFailedPrecondition,
                  "master_key_retired");
}

TEST_P(CredentialStoreTest, UpdateIdentityKeksIsACompareAndSet) {
  Identity alice = MakeIdentity("alice");
  Identity rotated = alice;
  rotated.previous_wrapped_kek = alice.wrapped_kek;
  rotated.previous_kek_version = alice.kek_version;
  rotated.previous_master_key_label = alice.master_key_label;
  rotated.wrapped_kek = Bytes({1, 2, 3});
  rotated.kek_version = alice.kek_version + 1;
  rotated.master_key_label = "m2";
  SR_ASSERT_OK(store_->UpdateIdentityKeks(alice, rotated));
  // A second writer still holding the old row loses.
  SR_EXPECT_ERROR(store_->UpdateIdentityKeks(alice, rotated), StatusCode::kAborted,
                  "identity_changed");
  auto read = store_->GetIdentity(alice.id);
  SR_ASSERT_OK(read);
  EXPECT_EQ(read->wrapped_kek, rotated.wrapped_kek);
  EXPECT_EQ(read->kek_version, rotated.kek_version);
  EXPECT_EQ(read->master_key_label, "m2");
  EXPECT_EQ(read->previous_kek_version, alice.kek_version);
  EXPECT_EQ(read->previous_wrapped_kek, alice.wrapped_kek);
  Identity gone = alice;
  gone.id = alice.id + 1000;
  SR_EXPECT_ERROR(store_->UpdateIdentityKeks(gone, rotated), StatusCode::kNotFound, "not_found");
}

TEST_P(CredentialStoreTest, KekRotationFinishesOnlyWhenNoCredentialNamesTheOldKek) {
  Identity alice = MakeIdentity("alice");  // KEK version 3, as NewCredential's rows
  Put(alice.id, "a");
  Identity rotated = alice;
  rotated.previous_wrapped_kek = alice.wrapped_kek;
  rotated.previous_kek_version = 3;
  rotated.wrapped_kek = Bytes({4, 4});
  rotated.kek_version = 4;
  SR_ASSERT_OK(store_->UpdateIdentityKeks(alice, rotated));

  // A writer still sealing under version 3 is refused; nothing is written.
  StoredCredential stale = NewCredential("b", 1);
  SR_EXPECT_ERROR(store_->Mutate(alice.id, "b", [&](const auto&) { return Result(stale); }),
                  StatusCode::kFailedPrecondition, "kek_rotated");
  SR_EXPECT_ERROR(store_->GetCredential(alice.id, "b"), StatusCode::kNotFound, "not_found");

  SR_EXPECT_ERROR(store_->FinishKekRotation(alice.id, 3), StatusCode::kFailedPrecondition,
                  "kek_rotation_incomplete");
  auto moved = store_->Mutate(alice.id, "a", [&](const std::optional<StoredCredential>& row) {
    StoredCredential out = *row;
    out.kek_version = 4;
    return Result(out);
  });
  SR_ASSERT_OK(moved);
  SR_ASSERT_OK(store_->FinishKekRotation(alice.id, 3));
  SR_ASSERT_OK(store_->FinishKekRotation(alice.id, 3));  // done already
  auto read = store_->GetIdentity(alice.id);
  EXPECT_EQ(read->previous_kek_version, 0);
  EXPECT_TRUE(read->previous_wrapped_kek.empty());
  EXPECT_EQ(read->kek_version, 4);
  SR_EXPECT_ERROR(store_->FinishKekRotation(alice.id + 1000, 3), StatusCode::kNotFound,
                  "not_found");
}

}  // namespace strongroom::store::testing
