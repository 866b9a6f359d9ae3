// The server's checkpoint signer (app/checkpoint_signer.h) on a real SoftHSM2
// token: checkpoints it signs are accepted by the audit verifier, in process
// and through `strongroom audit verify`; a missing key is a start-up error
// naming module, token and label; the PIN appears nowhere.
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "app/checkpoint_signer.h"
#include "audit/software_signer.h"
#include "audit/verifier.h"
#include "kms/audit_signing_key.h"
#include "kms/pkcs11.h"
#include "tests/app/audit_files.h"
#include "tests/testing/server_process.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::app {
namespace {

using strongroom::testing::CommandOutput;
using strongroom::testing::RunCommand;
using strongroom::testing::SoftHsmEnvironment;
using strongroom::testing::SoftHsmToken;
using strongroom::testing::StrongroomBinary;
using strongroom::testing::TempDir;
using ::testing::HasSubstr;
using testing::MakeAuditFiles;
using ::testing::Not;
using testing::TamperEvent;
using testing::WriteTextFile;

// The uncompressed point of a PEM P-256 public key.
std::string PointOf(const std::string& pem) {
  BIO* bio = ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = ::PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  ::BIO_free(bio);
  unsigned char point[65];
  std::size_t len = 0;
  if (key == nullptr || ::EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point,
                                                          sizeof(point), &len) != 1) {
    len = 0;
  }
  ::EVP_PKEY_free(key);
  return std::string(reinterpret_cast<const char*>(point), len);
}

// A signing key whose private half (a software key) may not match its public
// point, and whose HSM may be down.
class FakeSigningKey final : public kms::AuditSigningKey {
 public:
  FakeSigningKey(std::unique_ptr<audit::SoftwareCheckpointSigner> signer, std::string point)
      : signer_(std::move(signer)), point_(std::move(point)) {}
  Result<std::string> SignSha256(std::string_view message) override {
    if (down) return UnavailableError("HSM unavailable", "hsm_unavailable");
    SR_ASSIGN_OR_RETURN(std::string der, signer_->Sign(message));
    return audit::EcdsaDerToRaw(der);
  }
  const std::string& public_point() const override { return point_; }
  const std::string& label() const override { return label_; }
  std::uint64_t operations() const override { return 0; }
  bool down = false;

 private:
  std::unique_ptr<audit::SoftwareCheckpointSigner> signer_;
  std::string point_;
  std::string label_ = "fake";
};

TEST(HsmCheckpointSignerTest, PublicKeyThatDoesNotMatchThePrivateKeyIsRefused) {
  auto signer = audit::SoftwareCheckpointSigner::Generate();
  auto other = audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(signer.ok() && other.ok());
  const std::string foreign_point = PointOf(*(*other)->PublicKeyPem());
  ASSERT_EQ(foreign_point.size(), 65u);
  Result<std::unique_ptr<HsmCheckpointSigner>> made = HsmCheckpointSigner::Create(
      std::make_unique<FakeSigningKey>(std::move(*signer), foreign_point));
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(made.status().error_code(), "hsm_key_invalid");
  EXPECT_EQ(made.status().message(),
            "HSM audit signing key \"fake\": public key does not match the private key");
}

TEST(HsmCheckpointSignerTest, MatchingKeyConvertsToDerAndPassesHsmErrorsOn) {
  auto signer = audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(signer.ok());
  const std::string pem = *(*signer)->PublicKeyPem();
  auto key = std::make_unique<FakeSigningKey>(std::move(*signer), PointOf(pem));
  FakeSigningKey* fake = key.get();
  Result<std::unique_ptr<HsmCheckpointSigner>> made = HsmCheckpointSigner::Create(std::move(key));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  EXPECT_EQ((*made)->public_key_pem(), pem);
  Result<std::string> der = (*made)->Sign("message");
  ASSERT_TRUE(der.ok());
  EXPECT_TRUE(audit::CheckpointKey::FromPem(pem)->VerifyMessage("message", *der));
  fake->down = true;
  Result<std::string> down = (*made)->Sign("message");
  EXPECT_EQ(down.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(down.status().error_code(), "hsm_unavailable");
}

class CheckpointSignerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    token_ = new SoftHsmToken(SoftHsmEnvironment::Get().NewToken("cpsign"));
    dir_ = new TempDir();
    kms::HsmParams params;
    params.module_path = token_->module_path;
    params.token_label = token_->token_label;
    params.pin = SecretString(token_->pin);
    params.master_key_label = token_->key_label;
    ASSERT_TRUE(kms::ProvisionToken(params, SecretString(token_->so_pin)).ok());
    ASSERT_TRUE(kms::ProvisionAuditSigningKey(params, kDefaultSigningKeyLabel).ok());
    const std::string pin_file = dir_->path() + "/hsm-pin";
    WriteTextFile(pin_file, token_->pin + "\n");
    ASSERT_EQ(::chmod(pin_file.c_str(), 0600), 0);
    hsm_.module = token_->module_path;
    hsm_.token_label = token_->token_label;
    hsm_.pin_file = pin_file;
    hsm_.master_key_label = token_->key_label;
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete token_;
  }

  static CommandOutput Verify(const std::string& events, const std::string& checkpoints,
                              const std::string& pem) {
    const std::string base = dir_->path() + "/run";
    WriteTextFile(base + ".events", events);
    WriteTextFile(base + ".checkpoints", checkpoints);
    WriteTextFile(base + ".pem", pem);
    return RunCommand({StrongroomBinary(), "audit", "verify", "--events", base + ".events",
                       "--checkpoints", base + ".checkpoints", "--public-key", base + ".pem"});
  }

  static inline SoftHsmToken* token_ = nullptr;
  static inline TempDir* dir_ = nullptr;
  static inline config::HsmConfig hsm_;
};

TEST_F(CheckpointSignerTest, HsmCheckpointsAreAcceptedByTheVerifier) {
  Result<std::unique_ptr<HsmCheckpointSigner>> signer =
      OpenHsmCheckpointSigner(hsm_, kDefaultSigningKeyLabel);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  testing::AuditFiles files = MakeAuditFiles(**signer, 50, 10);
  ASSERT_EQ(files.checkpoint_count, 5);
  Result<audit::VerifyReport> report =
      audit::Verify(files.events, files.checkpoints, (*signer)->public_key_pem());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok()) << report->failure->detail;
  EXPECT_EQ(report->events, 50);
  EXPECT_EQ(report->checkpoints, 5);

  // Through the factory the checkpoint writer uses, as the audit interface.
  Result<std::unique_ptr<audit::CheckpointSigner>> made =
      MakeCheckpointSigner(hsm_, kDefaultSigningKeyLabel);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  testing::AuditFiles more = MakeAuditFiles(**made, 12, 4);
  report = audit::Verify(more.events, more.checkpoints, (*signer)->public_key_pem());
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->checkpoints, 3);
}

TEST_F(CheckpointSignerTest, AuditVerifyCommandEndToEndWithTheHsmSigner) {
  Result<std::unique_ptr<HsmCheckpointSigner>> signer =
      OpenHsmCheckpointSigner(hsm_, kDefaultSigningKeyLabel);
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  testing::AuditFiles files = MakeAuditFiles(**signer, 30, 10);
  const std::string& pem = (*signer)->public_key_pem();

  CommandOutput good = Verify(files.events, files.checkpoints, pem);
  EXPECT_EQ(good.exit_code, 0) << good.out << good.err;
  EXPECT_EQ(good.LastLine(), "verified 30 events, 3 checkpoints");
  EXPECT_EQ(good.err, "");

  CommandOutput tampered = Verify(TamperEvent(files.events, 17), files.checkpoints, pem);
  EXPECT_EQ(tampered.exit_code, 1) << tampered.out << tampered.err;
  EXPECT_THAT(tampered.err, HasSubstr("strongroom: error: audit verification failed: server "
                                      "\"host:8443\" seq 17: changed"));
  EXPECT_THAT(tampered.out, Not(HasSubstr("verified")));
  for (const CommandOutput* out : {&good, &tampered}) {
    EXPECT_THAT(out->out + out->err, Not(HasSubstr(token_->pin)));
  }
}

TEST_F(CheckpointSignerTest, MissingKeyIsAStartUpErrorNamingModuleTokenAndLabel) {
  Result<std::unique_ptr<audit::CheckpointSigner>> signer =
      MakeCheckpointSigner(hsm_, "missing-audit-key");
  ASSERT_FALSE(signer.ok());
  EXPECT_EQ(signer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(signer.status().error_code(), "hsm_key_not_found");
  EXPECT_EQ(signer.status().message(),
            "HSM audit signing key \"missing-audit-key\" not found "
            "(module " +
                token_->module_path + ", token \"" + token_->token_label + "\")");
  EXPECT_THAT(signer.status().ToString(), Not(HasSubstr(token_->pin)));
}

}  // namespace
}  // namespace strongroom::app
