// OpenKeyManager / ProvisionToken against a real SoftHSM2 token.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kms/internal/pkcs11_module.h"
#include "kms/pkcs11.h"
#include "tests/kms/token_params.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::kms {
namespace {

using testing::SoftHsmEnvironment;
using testing::SoftHsmToken;

std::string Str(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

class Pkcs11Test : public ::testing::Test {
 protected:
  // One provisioned token per process; tests that need their own make one.
  static void SetUpTestSuite() {
    token_ = new SoftHsmToken(SoftHsmEnvironment::Get().NewToken("shared"));
    Result<bool> created = ProvisionToken(ParamsFor(*token_), SecretString(token_->so_pin));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
  }
  static void TearDownTestSuite() {
    delete token_;
    token_ = nullptr;
  }

  std::unique_ptr<KeyManager> OpenShared() {
    Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(ParamsFor(*token_));
    EXPECT_TRUE(km.ok()) << km.status().ToString();
    return km.ok() ? std::move(*km) : nullptr;
  }

  static SoftHsmToken* token_;
};
SoftHsmToken* Pkcs11Test::token_ = nullptr;

TEST_F(Pkcs11Test, KekWrapUnwrapAndSealOpenRoundTrip) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  Result<Bytes> wrapped = km->NewWrappedKek();
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(wrapped->size(), 384u);  // RSA-3072
  const KekRef ref{42, 1, &*wrapped};
  const std::string aad = CredentialAad(42, "aws", "AWS", 1);
  Result<Envelope> envelope = km->Seal(ref, R"({"secretAccessKey":"abc"})", aad);
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  Result<SecretBytes> plaintext = km->Open(ref, *envelope, aad);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(Str(*plaintext), R"({"secretAccessKey":"abc"})");

  // A second manager (another server) unwraps the same KEK through the HSM.
  auto other = OpenShared();
  ASSERT_NE(other, nullptr);
  Result<SecretBytes> again = other->Open(ref, *envelope, aad);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(Str(*again), R"({"secretAccessKey":"abc"})");
}

TEST_F(Pkcs11Test, WarmSealAndOpenPerformNoHsmOperation) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  Bytes wrapped = *km->NewWrappedKek();
  const KekRef ref{1, 1, &wrapped};
  const std::uint64_t cold = km->hsm_operations();
  Result<Envelope> envelope = km->Seal(ref, "v", "aad");
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(km->hsm_operations(), cold + 1);  // one C_Decrypt
  const std::uint64_t warm = km->hsm_operations();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(km->Open(ref, *envelope, "aad").ok());
    ASSERT_TRUE(km->Seal(ref, "v", "aad").ok());
  }
  EXPECT_EQ(km->hsm_operations() - warm, 0u);
}

TEST_F(Pkcs11Test, EvictForcesUnwrap) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  Bytes wrapped = *km->NewWrappedKek();
  const KekRef ref{2, 1, &wrapped};
  Result<Envelope> envelope = km->Seal(ref, "v", "aad");
  ASSERT_TRUE(envelope.ok());
  km->Evict(2);
  const std::uint64_t before = km->hsm_operations();
  ASSERT_TRUE(km->Open(ref, *envelope, "aad").ok());
  EXPECT_EQ(km->hsm_operations(), before + 1);
}

TEST_F(Pkcs11Test, CorruptWrappedKekIsDataLoss) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  Bytes wrapped = *km->NewWrappedKek();
  wrapped[17] ^= 0x01;
  Result<Envelope> envelope = km->Seal(KekRef{3, 1, &wrapped}, "v", "aad");
  EXPECT_EQ(envelope.status().code(), StatusCode::kDataLoss) << envelope.status().ToString();
  Bytes short_kek(wrapped.begin(), wrapped.end() - 1);
  EXPECT_EQ(km->Seal(KekRef{4, 1, &short_kek}, "v", "aad").status().code(), StatusCode::kDataLoss);
  // The manager is still usable afterwards.
  EXPECT_TRUE(km->CheckHsm().ok());
}

TEST_F(Pkcs11Test, WrongPinIsOneLineLoginError) {
  HsmParams params = ParamsFor(*token_);
  params.pin = SecretString("wrong-pin-9876");
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(km.status().error_code(), "hsm_login_failed");
  EXPECT_EQ(km.status().message().rfind("HSM login failed: CKR_PIN_INCORRECT", 0), 0u)
      << km.status().message();
  EXPECT_EQ(km.status().message().find('\n'), std::string::npos);
  EXPECT_EQ(km.status().message().find("wrong-pin-9876"), std::string::npos);
  EXPECT_EQ(km.status().message().find(token_->pin), std::string::npos);
}

TEST_F(Pkcs11Test, MissingKeyNamesModuleTokenAndLabel) {
  HsmParams params = ParamsFor(*token_);
  params.master_key_label = "no-such-key";
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(km.status().error_code(), "hsm_key_not_found");
  const std::string& m = km.status().message();
  EXPECT_NE(m.find(testing::kSoftHsmModulePath), std::string::npos) << m;
  EXPECT_NE(m.find("\"" + token_->token_label + "\""), std::string::npos) << m;
  EXPECT_NE(m.find("\"no-such-key\""), std::string::npos) << m;
}

TEST_F(Pkcs11Test, MissingTokenNamesModuleAndToken) {
  HsmParams params = ParamsFor(*token_);
  params.token_label = "absent-token";
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(km.status().error_code(), "hsm_token_not_found");
  EXPECT_NE(km.status().message().find(testing::kSoftHsmModulePath), std::string::npos);
  EXPECT_NE(km.status().message().find("\"absent-token\""), std::string::npos);
}

TEST_F(Pkcs11Test, BadModulePathIsNamed) {
  HsmParams params = ParamsFor(*token_);
  params.module_path = "/nonexistent/libpkcs11-missing.so";
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(km.status().message().find("/nonexistent/libpkcs11-missing.so"), std::string::npos);
}

TEST_F(Pkcs11Test, ProvisionTokenIsIdempotent) {
  SoftHsmToken token = SoftHsmEnvironment::Get().NewToken("idem");
  const HsmParams params = ParamsFor(token);
  Result<bool> first = ProvisionToken(params, SecretString(token.so_pin));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  Result<bool> second = ProvisionToken(params, SecretString(token.so_pin));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_FALSE(*second);
  EXPECT_TRUE(OpenKeyManager(params).ok());
  // A second key label on the same token is added, the token reused.
  HsmParams other = params;
  other.master_key_label = "second-master";
  Result<bool> third = ProvisionToken(other, SecretString(token.so_pin));
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_TRUE(*third);
}

TEST_F(Pkcs11Test, ProvisionWithWrongPinOnExistingTokenFails) {
  HsmParams params = ParamsFor(*token_);
  params.pin = SecretString("not-the-pin");
  Result<bool> result = ProvisionToken(params, SecretString(token_->so_pin));
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(result.status().message().find("CKR_PIN_INCORRECT"), std::string::npos);
}

// Attributes read back through PKCS#11 (C_GetAttributeValue).
TEST_F(Pkcs11Test, PrivateKeyIsSensitiveNonExtractablePrivate) {
  auto module = internal::Pkcs11Module::Load(token_->module_path);
  ASSERT_TRUE(module.ok());
  auto slot = (*module)->FindTokenSlot(token_->token_label);
  ASSERT_TRUE(slot.ok() && slot->has_value());
  auto session = internal::Pkcs11Session::Open(*module, **slot, false, nullptr);
  ASSERT_TRUE(session.ok());
  ASSERT_EQ(session->Login(CKU_USER, SecretString(token_->pin)), static_cast<CK_RV>(CKR_OK));
  auto key = session->FindObject(CKO_PRIVATE_KEY, token_->key_label);
  ASSERT_TRUE(key.ok() && key->has_value());
  EXPECT_TRUE(*session->GetBool(**key, CKA_SENSITIVE));
  EXPECT_FALSE(*session->GetBool(**key, CKA_EXTRACTABLE));
  EXPECT_TRUE(*session->GetBool(**key, CKA_PRIVATE));
  EXPECT_TRUE(*session->GetBool(**key, CKA_TOKEN));
  EXPECT_TRUE(*session->GetBool(**key, CKA_DECRYPT));
  EXPECT_TRUE(*session->GetBool(**key, CKA_UNWRAP));
  EXPECT_FALSE(*session->GetBool(**key, CKA_SIGN));
  // The private exponent must not be readable.
  CK_RV rv = CKR_OK;
  EXPECT_FALSE(session->GetAttribute(**key, CKA_PRIVATE_EXPONENT, &rv).ok());
  EXPECT_EQ(rv, static_cast<CK_RV>(CKR_ATTRIBUTE_SENSITIVE));
  auto pub = session->FindObject(CKO_PUBLIC_KEY, token_->key_label);
  ASSERT_TRUE(pub.ok() && pub->has_value());
  EXPECT_EQ(session->GetAttribute(**pub, CKA_MODULUS)->size(), 384u);
}

// The same, as an independent tool sees it.
TEST_F(Pkcs11Test, PkcsToolListsKeyAsSensitiveNeverExtractable) {
  testing::CommandResult r = SoftHsmEnvironment::Run(
      "pkcs11-tool --module " + token_->module_path + " --token-label " + token_->token_label +
      " --login --pin " + token_->pin + " --list-objects --type privkey");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("label:      " + token_->key_label), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Access:     sensitive, always sensitive, never extractable"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("Usage:      decrypt, unwrap"), std::string::npos) << r.output;
}

TEST_F(Pkcs11Test, ReconnectsAfterSessionsAreClosed) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  Bytes wrapped = *km->NewWrappedKek();
  const KekRef ref{9, 1, &wrapped};
  Result<Envelope> envelope = km->Seal(ref, "v", "aad");
  ASSERT_TRUE(envelope.ok());
  km->Evict(9);

  // Pull the session out from under the manager (as an HSM restart would).
  auto module = internal::Pkcs11Module::Load(token_->module_path);
  ASSERT_TRUE(module.ok());
  auto slot = (*module)->FindTokenSlot(token_->token_label);
  ASSERT_TRUE(slot.ok() && slot->has_value());
  ASSERT_EQ((*module)->fn()->C_CloseAllSessions(**slot), static_cast<CK_RV>(CKR_OK));

  const std::uint64_t before = km->hsm_operations();
  Result<SecretBytes> plaintext = km->Open(ref, *envelope, "aad");
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(Str(*plaintext), "v");
  // failed decrypt + session open + login + find + decrypt
  EXPECT_EQ(km->hsm_operations() - before, 5u);

  // The reconnect re-initialised PKCS#11 (SPEC 11), which may renumber slots.
  slot = (*module)->FindTokenSlot(token_->token_label);
  ASSERT_TRUE(slot.ok() && slot->has_value());
  ASSERT_EQ((*module)->fn()->C_CloseAllSessions(**slot), static_cast<CK_RV>(CKR_OK));
  EXPECT_TRUE(km->CheckHsm().ok());
  EXPECT_TRUE(km->CheckHsm().ok());
}

TEST_F(Pkcs11Test, CheckHsmIsOneOperation) {
  auto km = OpenShared();
  ASSERT_NE(km, nullptr);
  const std::uint64_t before = km->hsm_operations();
  EXPECT_TRUE(km->CheckHsm().ok());
  EXPECT_EQ(km->hsm_operations(), before + 1);
}

TEST(CkrNameTest, NamesKnownAndUnknownCodes) {
  EXPECT_EQ(internal::CkrName(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
  EXPECT_EQ(internal::CkrName(CKR_SESSION_HANDLE_INVALID), "CKR_SESSION_HANDLE_INVALID");
  EXPECT_EQ(internal::CkrName(CKR_VENDOR_DEFINED | 5), "CKR_0x80000005");
}

}  // namespace
}  // namespace strongroom::kms
