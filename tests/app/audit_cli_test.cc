// The audit commands of the real binary (SPEC 8, 12): `serve --dev` creates the
// audit signing key with the master key and reuses it; `admin audit
// public-key` prints it as a P-256 PEM; `audit verify` works offline with the
// exit codes and lines of SPEC 8 and 12. No PIN in any output.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "audit/software_signer.h"
#include "tests/app/audit_files.h"
#include "tests/testing/server_process.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::app {
namespace {

using strongroom::testing::CommandOutput;
using strongroom::testing::RunCommand;
using strongroom::testing::ServerProcess;
using strongroom::testing::StrongroomBinary;
using strongroom::testing::TempDir;
using ::testing::HasSubstr;
using testing::MakeAuditFiles;
using ::testing::Not;
using ::testing::StartsWith;
using testing::TamperEvent;
using testing::WriteTextFile;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The curve name of a PEM public key ("" if it is not one).
std::string CurveOf(const std::string& pem) {
  BIO* bio = ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = ::PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  ::BIO_free(bio);
  if (key == nullptr) return "";
  char name[64] = {};
  std::size_t len = 0;
  const bool ok =
      ::EVP_PKEY_is_a(key, "EC") && ::EVP_PKEY_get_group_name(key, name, sizeof(name), &len) == 1;
  ::EVP_PKEY_free(key);
  return ok ? std::string(name, len) : "";
}

// Deletes the dev token's audit signing key, as a dev dir made before the key
// existed lacks it (pkcs11-tool: a test may put the PIN on a command line).
void DeleteDevSigningKey(const std::string& data_dir) {
  std::string pin = ReadFile(data_dir + "/hsm-pin");
  while (!pin.empty() && pin.back() == '\n') pin.pop_back();
  for (const char* type : {"privkey", "pubkey"}) {
    CommandOutput out =
        RunCommand({"/usr/bin/pkcs11-tool", "--module", strongroom::testing::kSoftHsmModulePath,
                    "--token-label", "strongroom-dev", "--login", "--pin", pin, "--delete-object",
                    "--type", type, "--label", "strongroom-audit"},
                   {"SOFTHSM2_CONF=" + data_dir + "/softhsm2.conf"});
    ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  }
}

TEST(AuditCliTest, DevModeCreatesTheSigningKeyOnceAndReusesItOnRestart) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  server.Stop();
  CommandOutput first = server.Admin({"audit", "public-key"});
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_THAT(first.out, StartsWith("-----BEGIN PUBLIC KEY-----\n"));
  EXPECT_EQ(CurveOf(first.out), "prime256v1");

  ASSERT_TRUE(server.Start(&error)) << error;
  // While the server runs, too (SoftHSM2 reads the token files).
  CommandOutput running = server.Admin({"audit", "public-key"});
  server.Stop();
  EXPECT_EQ(running.exit_code, 0) << running.out << running.err;
  EXPECT_EQ(running.out, first.out);
  CommandOutput again = server.Admin({"audit", "public-key"});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(again.out, first.out);

  const std::string pin = ReadFile(server.data_dir() + "/hsm-pin").substr(0, 32);
  ASSERT_EQ(pin.size(), 32u);
  for (const std::string& text :
       {first.out, first.err, again.out, again.err, server.StdoutText(), server.StderrText()}) {
    EXPECT_THAT(text, Not(HasSubstr(pin)));
  }
}

TEST(AuditCliTest, DevDirWithoutTheSigningKeyGetsItOnNextStart) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  server.Stop();
  CommandOutput before = server.Admin({"audit", "public-key"});
  ASSERT_EQ(before.exit_code, 0) << before.out << before.err;
  DeleteDevSigningKey(server.data_dir());

  CommandOutput missing = server.Admin({"audit", "public-key"});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_EQ(missing.err,
            "strongroom: error: HSM audit signing key \"strongroom-audit\" not found (module " +
                std::string(strongroom::testing::kSoftHsmModulePath) +
                ", token \"strongroom-dev\")\n");
  EXPECT_EQ(missing.out, "");

  ASSERT_TRUE(server.Start(&error)) << error;
  server.Stop();
  CommandOutput after = server.Admin({"audit", "public-key"});
  ASSERT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_EQ(CurveOf(after.out), "prime256v1");
  EXPECT_NE(after.out, before.out);  // a new key
}

class AuditVerifyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<audit::SoftwareCheckpointSigner>> signer =
        audit::SoftwareCheckpointSigner::Generate();
    ASSERT_TRUE(signer.ok());
    signer_ = std::move(*signer);
    files_ = MakeAuditFiles(*signer_, 25, 5);
    ASSERT_EQ(files_.checkpoint_count, 5);
    pem_path_ = dir_.path() + "/key.pem";
    WriteTextFile(pem_path_, *signer_->PublicKeyPem());
  }

  CommandOutput Verify(const std::string& events, const std::string& checkpoints) {
    WriteTextFile(dir_.path() + "/events.jsonl", events);
    WriteTextFile(dir_.path() + "/checkpoints.jsonl", checkpoints);
    return RunCommand({StrongroomBinary(), "audit", "verify", "--events",
                       dir_.path() + "/events.jsonl", "--checkpoints",
                       dir_.path() + "/checkpoints.jsonl", "--public-key", pem_path_});
  }

  TempDir dir_;
  std::unique_ptr<audit::SoftwareCheckpointSigner> signer_;
  testing::AuditFiles files_;
  std::string pem_path_;
};

TEST_F(AuditVerifyCliTest, IntactExportVerifies) {
  CommandOutput out = Verify(files_.events, files_.checkpoints);
  EXPECT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_EQ(out.LastLine(), "verified 25 events, 5 checkpoints");
  EXPECT_EQ(out.err, "");
}

TEST_F(AuditVerifyCliTest, OneChangedByteFailsNamingServerAndSeq) {
  CommandOutput out = Verify(TamperEvent(files_.events, 9), files_.checkpoints);
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_THAT(out.err, StartsWith("strongroom: error: audit verification failed: server "
                                  "\"host:8443\" seq 9: changed"));
  EXPECT_EQ(std::count(out.err.begin(), out.err.end(), '\n'), 1);
  EXPECT_THAT(out.out, Not(HasSubstr("verified")));
}

TEST_F(AuditVerifyCliTest, DeletedNewestEventsAreTruncationAfterACheckpoint) {
  // Drop the last event (seq 25, checkpointed).
  std::string events = files_.events;
  events.erase(events.rfind("{\"seq\":25,"));
  CommandOutput out = Verify(events, files_.checkpoints);
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_THAT(out.err, HasSubstr("server \"host:8443\" seq 25: truncated after a checkpoint"));
}

TEST_F(AuditVerifyCliTest, ForeignKeyIsABadSignature) {
  Result<std::unique_ptr<audit::SoftwareCheckpointSigner>> other =
      audit::SoftwareCheckpointSigner::Generate();
  ASSERT_TRUE(other.ok());
  WriteTextFile(pem_path_, *(*other)->PublicKeyPem());
  CommandOutput out = Verify(files_.events, files_.checkpoints);
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_THAT(out.err, HasSubstr("server \"host:8443\" seq 5: bad signature"));
}

TEST_F(AuditVerifyCliTest, MissingOptionIsAUsageErrorAndMissingFileAFailure) {
  CommandOutput usage = RunCommand({StrongroomBinary(), "audit", "verify", "--events",
                                    dir_.path() + "/events.jsonl", "--checkpoints", "x"});
  EXPECT_EQ(usage.exit_code, 2) << usage.out << usage.err;
  EXPECT_THAT(usage.err, HasSubstr("--public-key"));

  CommandOutput missing =
      RunCommand({StrongroomBinary(), "audit", "verify", "--events", dir_.path() + "/absent",
                  "--checkpoints", dir_.path() + "/absent", "--public-key", pem_path_});
  EXPECT_EQ(missing.exit_code, 1) << missing.out << missing.err;
  EXPECT_THAT(missing.err, StartsWith("strongroom: error: "));
  EXPECT_THAT(missing.err, HasSubstr(dir_.path() + "/absent"));
}

}  // namespace
}  // namespace strongroom::app
