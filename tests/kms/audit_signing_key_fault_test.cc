// The audit signing key under HSM faults (SPEC 11), through the fault module:
// it shares the master key's recovery (re-initialise, reconnect, retry once,
// then fail fast with back-off) and keeps working beside the master key.
#include <optional>
#include <string>

#include "audit/checkpoint.h"
#include "kms/audit_signing_key.h"
#include "kms/key_manager.h"
#include "tests/kms/hsm_fault_fixture.h"

namespace strongroom::kms {
namespace {

constexpr char kLabel[] = "strongroom-audit";

class SigningKeyFaultTest : public FaultHsmTest {
 protected:
  void SetUp() override {
    FaultHsmTest::SetUp();
    if (params_.token_label.empty()) {
      params_ = NewTokenParams("sign-fault");
      Result<bool> created = ProvisionAuditSigningKey(params_, kLabel);
      ASSERT_TRUE(created.ok()) << created.status().ToString();
    }
    Result<std::unique_ptr<AuditSigningKey>> key = OpenAuditSigningKey(params_, kLabel);
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_ = std::move(*key);
    Result<audit::CheckpointKey> public_key =
        audit::CheckpointKey::FromPem(*audit::P256PublicKeyPem(key_->public_point()));
    ASSERT_TRUE(public_key.ok());
    public_key_.emplace(std::move(*public_key));
  }

  // Signs `message` and checks the signature.
  Status SignAndVerify(const std::string& message) {
    Result<std::string> raw = key_->SignSha256(message);
    if (!raw.ok()) return raw.status();
    Result<std::string> der = audit::EcdsaRawToDer(*raw);
    if (!der.ok()) return der.status();
    if (!public_key_->VerifyMessage(message, *der)) return InternalError("bad signature");
    return Status::Ok();
  }

  static inline HsmParams params_;
  std::unique_ptr<AuditSigningKey> key_;
  std::optional<audit::CheckpointKey> public_key_;
};

TEST_F(SigningKeyFaultTest, LostSessionIsRecoveredWithinTheCall) {
  ASSERT_TRUE(SignAndVerify("before").ok());
  CloseAllSessions(params_);
  Status status = SignAndVerify("after");
  EXPECT_TRUE(status.ok()) << status.ToString();
}

TEST_F(SigningKeyFaultTest, DeadHsmIsUnavailableThenRecoversWithoutRestart) {
  control_->Set("rv=CKR_DEVICE_REMOVED");
  Status down = SignAndVerify("while down");
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  EXPECT_EQ(down.error_code(), "hsm_unavailable") << down.ToString();
  // Fail fast while down: a burst makes at most a few re-initialisations.
  const unsigned long long inits = control_->Count("C_Initialize");
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(key_->SignSha256("burst").ok());
  EXPECT_LE(control_->Count("C_Initialize") - inits, 3u);
  control_->Clear();
  EXPECT_TRUE(Eventually([&] { return SignAndVerify("back").ok(); }));
}

TEST_F(SigningKeyFaultTest, SignsBesideTheMasterKeyAcrossItsRecovery) {
  std::unique_ptr<KeyManager> km = Open(params_);
  ASSERT_NE(km, nullptr);
  Result<Bytes> wrapped = km->NewWrappedKek();
  ASSERT_TRUE(wrapped.ok());
  const KekRef ref{7, 1, &*wrapped};
  Result<Envelope> sealed = km->Seal(ref, "secret", "aad");
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  km->Evict(7);
  // The HSM restarts: the master key re-initialises PKCS#11 for the process,
  // and the signing key reconnects on its next call.
  CloseAllSessions(params_);
  EXPECT_TRUE(km->Open(ref, *sealed, "aad").ok());
  Status status = SignAndVerify("after the master key recovered");
  EXPECT_TRUE(status.ok()) << status.ToString();
  km->Evict(7);
  EXPECT_TRUE(km->Open(ref, *sealed, "aad").ok());
}

}  // namespace
}  // namespace strongroom::kms
