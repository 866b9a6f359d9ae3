// Several master keys (SPEC 11 rotation) on one SoftHSM2 token: KEKs open
// under the label they name, RewrapKek moves them to the active key, and after
// the old pair is destroyed everything rewrapped still opens. Also KEK
// rotation (RewrapDek).
#include <string>

#include "kms/internal/pkcs11_module.h"
#include "kms/key_manager.h"
#include "tests/kms/hsm_fault_fixture.h"

namespace strongroom::kms {
namespace {

std::string Str(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

// Destroys both halves of the pair `label` (what `master-key retire --destroy` does).
void DestroyPair(const HsmParams& params, const std::string& label) {
  auto module = internal::Pkcs11Module::Load(params.module_path);
  ASSERT_TRUE(module.ok());
  auto slot = (*module)->FindTokenSlot(params.token_label);
  ASSERT_TRUE(slot.ok() && slot->has_value());
  auto session = internal::Pkcs11Session::Open(*module, **slot, /*read_write=*/true, nullptr);
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->Login(CKU_USER, params.pin), static_cast<CK_RV>(CKR_OK));
  for (CK_OBJECT_CLASS klass : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    auto object = session->FindObject(klass, label);
    ASSERT_TRUE(object.ok() && object->has_value());
    ASSERT_EQ(session->fn()->C_DestroyObject(session->handle(), **object),
              static_cast<CK_RV>(CKR_OK));
  }
}

class MasterKeyRotationTest : public FaultHsmTest {};

TEST_F(MasterKeyRotationTest, KekMovesToTheNewKeyAndOutlivesTheOldOne) {
  const HsmParams params = NewTokenParams("rotate");
  const std::string old_label = params.master_key_label;
  const std::string new_label = "master-2";
  HsmParams second = params;
  second.master_key_label = new_label;
  ASSERT_TRUE(ProvisionToken(second, SecretString(so_pin_)).ok());

  auto km = Open(params);
  ASSERT_NE(km, nullptr);
  EXPECT_EQ(km->active_master_key_label(), old_label);
  Result<WrappedKek> kek = km->NewKek();
  ASSERT_TRUE(kek.ok()) << kek.status().ToString();
  EXPECT_EQ(kek->master_key_label, old_label);
  const KekRef under_old{7, 1, &kek->wrapped, kek->master_key_label};
  const std::string aad = CredentialAad(7, "db", "PASSWORD", 1);
  Result<Envelope> envelope = km->Seal(under_old, "hunter2", aad);
  ASSERT_TRUE(envelope.ok());

  // Switch: new KEKs go under the new key; old KEKs still open (also cold).
  ASSERT_TRUE(km->SetActiveMasterKey(new_label).ok());
  EXPECT_EQ(km->active_master_key_label(), new_label);
  EXPECT_EQ(km->NewKek()->master_key_label, new_label);
  km->Evict(7);
  Result<SecretBytes> opened = km->Open(under_old, *envelope, aad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "hunter2");

  Result<WrappedKek> rewrapped = km->RewrapKek(under_old);
  ASSERT_TRUE(rewrapped.ok()) << rewrapped.status().ToString();
  EXPECT_EQ(rewrapped->master_key_label, new_label);
  EXPECT_NE(rewrapped->wrapped, kek->wrapped);
  const KekRef under_new{7, 1, &rewrapped->wrapped, rewrapped->master_key_label};

  DestroyPair(params, old_label);
  // Another server (or a restart) with only the new key: the rewrapped KEK
  // opens through the HSM; the old wrapping is gone for good.
  HsmParams restarted = params;
  restarted.master_key_label = new_label;
  auto other = Open(restarted);
  ASSERT_NE(other, nullptr);
  opened = other->Open(under_new, *envelope, aad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "hunter2");
  other->Evict(7);
  Status gone = other->Open(under_old, *envelope, aad).status();
  EXPECT_EQ(gone.code(), StatusCode::kFailedPrecondition) << gone.ToString();
  EXPECT_EQ(gone.error_code(), "hsm_key_not_found");
  // The first manager still holds the (unchanged) KEK.
  EXPECT_TRUE(km->Open(under_new, *envelope, aad).ok());
  // ... and survives a lost session although a pair it knew is gone.
  CloseAllSessions(params);
  km->Evict(7);
  opened = km->Open(under_new, *envelope, aad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  km->Evict(7);
  EXPECT_EQ(km->Open(under_old, *envelope, aad).status().error_code(), "hsm_key_not_found");
}

TEST_F(MasterKeyRotationTest, UnknownActiveLabelIsRefusedAndNothingChanges) {
  const HsmParams params = NewTokenParams("nolabel");
  auto km = Open(params);
  ASSERT_NE(km, nullptr);
  Status status = km->SetActiveMasterKey("no-such-key");
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.error_code(), "hsm_key_not_found");
  EXPECT_EQ(km->active_master_key_label(), params.master_key_label);
  EXPECT_EQ(km->NewKek()->master_key_label, params.master_key_label);
}

TEST_F(MasterKeyRotationTest, KekRotationRewrapsDeksWithoutReencrypting) {
  const HsmParams params = NewTokenParams("kekrot");
  auto km = Open(params);
  ASSERT_NE(km, nullptr);
  Result<WrappedKek> v1 = km->NewKek();
  Result<WrappedKek> v2 = km->NewKek();
  ASSERT_TRUE(v1.ok() && v2.ok());
  const KekRef from{9, 1, &v1->wrapped, v1->master_key_label};
  const KekRef to{9, 2, &v2->wrapped, v2->master_key_label};
  const std::string aad = CredentialAad(9, "k", "API_KEY", 3);
  Result<Envelope> envelope = km->Seal(from, "payload", aad);
  ASSERT_TRUE(envelope.ok());

  Result<Bytes> dek = km->RewrapDek(from, to, envelope->wrapped_dek);
  ASSERT_TRUE(dek.ok()) << dek.status().ToString();
  Envelope rotated{envelope->ciphertext, *dek};
  Result<SecretBytes> opened = km->Open(to, rotated, aad);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "payload");
  // The new wrapped DEK does not open under the old KEK (version 1).
  EXPECT_EQ(km->Open(from, rotated, aad).status().code(), StatusCode::kDataLoss);
  // A DEK that is not under `from` is an integrity error, not garbage.
  EXPECT_EQ(km->RewrapDek(to, from, envelope->wrapped_dek).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace strongroom::kms
