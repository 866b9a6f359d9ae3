// The audit signing key (kms/audit_signing_key.h) on a real SoftHSM2 token:
// every signature checked by OpenSSL directly (EVP_DigestVerify with the PEM of
// the key's public point), the start-up errors, and provisioning.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "audit/checkpoint.h"
#include "kms/audit_signing_key.h"
#include "kms/pkcs11.h"
#include "tests/kms/token_params.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::kms {
namespace {

using testing::SoftHsmEnvironment;
using testing::SoftHsmToken;

constexpr char kLabel[] = "strongroom-audit";

struct PkeyFree {
  void operator()(EVP_PKEY* key) const { ::EVP_PKEY_free(key); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr ReadPem(const std::string& pem) {
  BIO* bio = ::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(::PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr));
  ::BIO_free(bio);
  return key;
}

// ECDSA-SHA256 verification by OpenSSL alone, of a DER signature.
bool OpenSslVerifies(EVP_PKEY* key, const std::string& message, const std::string& der) {
  EVP_MD_CTX* ctx = ::EVP_MD_CTX_new();
  bool ok = ::EVP_DigestVerifyInit(ctx, nullptr, ::EVP_sha256(), nullptr, key) == 1 &&
            ::EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                               reinterpret_cast<const unsigned char*>(message.data()),
                               message.size()) == 1;
  ::EVP_MD_CTX_free(ctx);
  return ok;
}

class AuditSigningKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    token_ = new SoftHsmToken(SoftHsmEnvironment::Get().NewToken("audit"));
    Result<bool> created = ProvisionToken(ParamsFor(*token_), SecretString(token_->so_pin));
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    Result<bool> signing = ProvisionAuditSigningKey(ParamsFor(*token_), kLabel);
    ASSERT_TRUE(signing.ok()) << signing.status().ToString();
    ASSERT_TRUE(*signing);
  }
  static void TearDownTestSuite() {
    delete token_;
    token_ = nullptr;
  }

  static std::string Where() {
    return "(module " + token_->module_path + ", token \"" + token_->token_label + "\")";
  }

  static SoftHsmToken* token_;
};
SoftHsmToken* AuditSigningKeyTest::token_ = nullptr;

TEST_F(AuditSigningKeyTest, SignaturesVerifyWithOpenSslAgainstTheExportedPem) {
  Result<std::unique_ptr<AuditSigningKey>> key = OpenAuditSigningKey(ParamsFor(*token_), kLabel);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ((*key)->label(), kLabel);
  ASSERT_EQ((*key)->public_point().size(), 65u);
  EXPECT_EQ((*key)->public_point()[0], '\x04');
  Result<std::string> pem = audit::P256PublicKeyPem((*key)->public_point());
  ASSERT_TRUE(pem.ok()) << pem.status().ToString();
  PkeyPtr public_key = ReadPem(*pem);
  ASSERT_NE(public_key, nullptr);
  EXPECT_TRUE(::EVP_PKEY_is_a(public_key.get(), "EC"));

  const std::uint64_t before = (*key)->operations();
  for (int i = 0; i < 200; ++i) {
    const std::string message = "strongroom-audit/host:8443\n" + std::to_string(i + 1) + "\n" +
                                std::string(64, static_cast<char>('a' + i % 6)) + "\n";
    Result<std::string> raw = (*key)->SignSha256(message);
    ASSERT_TRUE(raw.ok()) << raw.status().ToString();
    ASSERT_EQ(raw->size(), 64u);
    Result<std::string> der = audit::EcdsaRawToDer(*raw);
    ASSERT_TRUE(der.ok()) << der.status().ToString();
    EXPECT_TRUE(OpenSslVerifies(public_key.get(), message, *der)) << "message " << i;
    EXPECT_FALSE(OpenSslVerifies(public_key.get(), message + "x", *der)) << "message " << i;
  }
  EXPECT_EQ((*key)->operations() - before, 200u);  // one C_SignInit + C_Sign each
}

TEST_F(AuditSigningKeyTest, ConcurrentSignersAllProduceValidSignatures) {
  Result<std::unique_ptr<AuditSigningKey>> key = OpenAuditSigningKey(ParamsFor(*token_), kLabel);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  PkeyPtr public_key = ReadPem(*audit::P256PublicKeyPem((*key)->public_point()));
  ASSERT_NE(public_key, nullptr);
  std::vector<std::thread> threads;
  std::vector<int> good(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string message = "thread " + std::to_string(t) + " message " + std::to_string(i);
        Result<std::string> raw = (*key)->SignSha256(message);
        if (!raw.ok()) continue;
        Result<std::string> der = audit::EcdsaRawToDer(*raw);
        if (der.ok() && OpenSslVerifies(public_key.get(), message, *der)) ++good[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(good[t], 25) << "thread " << t;
}

TEST_F(AuditSigningKeyTest, MissingKeyIsAStartUpErrorNamingModuleTokenAndLabel) {
  Result<std::unique_ptr<AuditSigningKey>> key =
      OpenAuditSigningKey(ParamsFor(*token_), "no-such-key");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().error_code(), "hsm_key_not_found");
  EXPECT_EQ(key.status().message(), "HSM audit signing key \"no-such-key\" not found " + Where());
  EXPECT_EQ(key.status().message().find(token_->pin), std::string::npos);
}

TEST_F(AuditSigningKeyTest, MissingTokenAndWrongPinAreStartUpErrors) {
  HsmParams params = ParamsFor(*token_);
  params.token_label = "no-such-token";
  Result<std::unique_ptr<AuditSigningKey>> no_token = OpenAuditSigningKey(params, kLabel);
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.status().error_code(), "hsm_token_not_found");
  EXPECT_EQ(no_token.status().message(),
            "HSM token \"no-such-token\" not found (module " + token_->module_path + ")");

  // A token of its own: a wrong PIN counts against the token's PIN.
  SoftHsmToken other = SoftHsmEnvironment::Get().NewToken("audit-pin");
  ASSERT_TRUE(ProvisionToken(ParamsFor(other), SecretString(other.so_pin)).ok());
  HsmParams wrong = ParamsFor(other);
  wrong.pin = SecretString("wrong-pin-1234");
  Result<std::unique_ptr<AuditSigningKey>> bad_pin = OpenAuditSigningKey(wrong, kLabel);
  ASSERT_FALSE(bad_pin.ok());
  EXPECT_EQ(bad_pin.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(bad_pin.status().error_code(), "hsm_login_failed");
  EXPECT_EQ(bad_pin.status().message(), "HSM login failed: CKR_PIN_INCORRECT (module " +
                                            other.module_path + ", token \"" + other.token_label +
                                            "\")");
  EXPECT_EQ(bad_pin.status().message().find("wrong-pin-1234"), std::string::npos);
}

TEST_F(AuditSigningKeyTest, TheMasterKeyIsNotASigningKey) {
  Result<std::unique_ptr<AuditSigningKey>> key =
      OpenAuditSigningKey(ParamsFor(*token_), token_->key_label);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().error_code(), "hsm_key_invalid");
  EXPECT_EQ(key.status().message(),
            "HSM audit signing key \"" + token_->key_label + "\" is not an EC key " + Where());
}

TEST_F(AuditSigningKeyTest, ProvisioningIsIdempotentAndKeepsTheKey) {
  Result<std::unique_ptr<AuditSigningKey>> first = OpenAuditSigningKey(ParamsFor(*token_), kLabel);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Result<bool> again = ProvisionAuditSigningKey(ParamsFor(*token_), kLabel);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(*again);
  Result<std::unique_ptr<AuditSigningKey>> second = OpenAuditSigningKey(ParamsFor(*token_), kLabel);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ((*second)->public_point(), (*first)->public_point());

  // A second label is a second, different key.
  Result<bool> other = ProvisionAuditSigningKey(ParamsFor(*token_), "strongroom-audit-2");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_TRUE(*other);
  Result<std::unique_ptr<AuditSigningKey>> third =
      OpenAuditSigningKey(ParamsFor(*token_), "strongroom-audit-2");
  ASSERT_TRUE(third.ok()) << third.status().ToString();
  EXPECT_NE((*third)->public_point(), (*first)->public_point());
}

TEST_F(AuditSigningKeyTest, ProvisioningNeedsAnExistingToken) {
  HsmParams params = ParamsFor(*token_);
  params.token_label = "absent-token";
  Result<bool> created = ProvisionAuditSigningKey(params, kLabel);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.status().error_code(), "hsm_token_not_found");
}

}  // namespace
}  // namespace strongroom::kms
