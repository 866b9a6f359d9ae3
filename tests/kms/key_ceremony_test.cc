// ops/key-ceremony.sh creates a master key that OpenKeyManager accepts.
// Its own test binary: the script must write the token store before this
// process loads SoftHSM2, which reads the store only at C_Initialize.
#include <gtest/gtest.h>

#include <string>

#include "kms/pkcs11.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::kms {
namespace {

using testing::SoftHsmEnvironment;

TEST(KeyCeremonyTest, HelpExitsZero) {
  testing::CommandResult r =
      SoftHsmEnvironment::Run(std::string("bash ") + STRONGROOM_CEREMONY_SCRIPT + " --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("STRONGROOM_HSM_PIN"), std::string::npos);
  EXPECT_EQ(SoftHsmEnvironment::Run(std::string("bash ") + STRONGROOM_CEREMONY_SCRIPT + " --nope")
                .exit_code,
            2);
}

TEST(KeyCeremonyTest, CreatesKeyThatOpenKeyManagerAccepts) {
  testing::SoftHsmToken token = SoftHsmEnvironment::Get().NewToken("ceremony");
  const std::string command = "STRONGROOM_HSM_PIN='" + token.pin + "' STRONGROOM_HSM_SO_PIN='" +
                              token.so_pin + "' bash " + STRONGROOM_CEREMONY_SCRIPT + " --module " +
                              token.module_path + " --token-label " + token.token_label +
                              " --key-label " + token.key_label;
  testing::CommandResult r = SoftHsmEnvironment::Run(command);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Master key ready"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(token.pin), std::string::npos) << "PIN printed";
  EXPECT_EQ(r.output.find(token.so_pin), std::string::npos) << "SO PIN printed";

  // Run again: idempotent, reuses token and key.
  testing::CommandResult again = SoftHsmEnvironment::Run(command);
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("already exists"), std::string::npos) << again.output;

  HsmParams params;
  params.module_path = token.module_path;
  params.token_label = token.token_label;
  params.pin = SecretString(token.pin);
  params.master_key_label = token.key_label;
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
  ASSERT_TRUE(km.ok()) << km.status().ToString();
  Result<Bytes> wrapped = (*km)->NewWrappedKek();
  ASSERT_TRUE(wrapped.ok());
  const KekRef ref{1, 1, &*wrapped};
  Result<Envelope> envelope = (*km)->Seal(ref, "secret", "aad");
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  (*km)->Evict(1);
  Result<SecretBytes> plaintext = (*km)->Open(ref, *envelope, "aad");
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(std::string(plaintext->begin(), plaintext->end()), "secret");
}

}  // namespace
}  // namespace strongroom::kms
