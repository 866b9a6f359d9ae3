#include "kms/internal/aead.h"

#include <gtest/gtest.h>

#include <string>

#include "kms/key_manager.h"

namespace strongroom::kms::internal {
namespace {

Bytes FromHex(std::string_view hex) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::string ToString(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

void ExpectIntegrityError(const Status& status) {
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status.ToString();
  EXPECT_EQ(status.error_code(), "integrity_error");
  EXPECT_EQ(status.message(), "credential failed integrity check");
}

// RFC 5649 section 6, both examples (192-bit KEK).
const char kRfc5649Kek[] = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8";

TEST(AesKeyWrapPadTest, Rfc5649Section6TwentyOctetKey) {
  const Bytes kek = FromHex(kRfc5649Kek);
  const Bytes key = FromHex("c37b7e6492584340bed12207808941155068f738");
  const Bytes expected =
      FromHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
  Result<Bytes> wrapped = AesKeyWrapPad(kek, key);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(*wrapped, expected);
  Result<SecretBytes> unwrapped = AesKeyUnwrapPad(kek, expected);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(Bytes(unwrapped->begin(), unwrapped->end()), key);
}

TEST(AesKeyWrapPadTest, Rfc5649Section6SevenOctetKey) {
  const Bytes kek = FromHex(kRfc5649Kek);
  const Bytes key = FromHex("466f7250617369");
  const Bytes expected = FromHex("afbeb0f07dfbf5419200f2ccb50bb24f");
  Result<Bytes> wrapped = AesKeyWrapPad(kek, key);
  ASSERT_TRUE(wrapped.ok()) << wrapped.status().ToString();
  EXPECT_EQ(*wrapped, expected);
  Result<SecretBytes> unwrapped = AesKeyUnwrapPad(kek, expected);
  ASSERT_TRUE(unwrapped.ok()) << unwrapped.status().ToString();
  EXPECT_EQ(Bytes(unwrapped->begin(), unwrapped->end()), key);
}

TEST(AesKeyWrapPadTest, TamperedWrapIsDataLoss) {
  const Bytes kek = FromHex(kRfc5649Kek);
  Bytes wrapped = FromHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
  for (std::size_t i = 0; i < wrapped.size(); ++i) {
    Bytes bad = wrapped;
    bad[i] ^= 0x01;
    ExpectIntegrityError(AesKeyUnwrapPad(kek, bad).status());
  }
  ExpectIntegrityError(AesKeyUnwrapPad(kek, Bytes(wrapped.begin(), wrapped.end() - 8)).status());
  ExpectIntegrityError(AesKeyUnwrapPad(kek, Bytes(wrapped.begin(), wrapped.end() - 1)).status());
  ExpectIntegrityError(AesKeyUnwrapPad(kek, Bytes()).status());
}

TEST(AesKeyWrapPadTest, RejectsBadKekSize) {
  EXPECT_EQ(AesKeyWrapPad(Bytes(31, 1), Bytes(32, 2)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(AesKeyWrapPad(Bytes(32, 1), Bytes()).status().code(), StatusCode::kInvalidArgument);
}

TEST(AesGcmTest, RoundTripAndLayout) {
  const Bytes key(32, 7);
  const Bytes nonce(12, 9);
  Result<Bytes> sealed = AesGcmSeal(key, nonce, "hello", "aad");
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  ASSERT_EQ(sealed->size(), 12u + 5u + 16u);
  EXPECT_EQ(Bytes(sealed->begin(), sealed->begin() + 12), nonce);
  Result<SecretBytes> opened = AesGcmOpen(key, *sealed, "aad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(ToString(*opened), "hello");
}

// NIST SP 800-38D / McGrew-Viega GCM spec, test case 13 (AES-256, zero key,
// zero IV, empty plaintext, no AAD): tag 530f8afbc74536b9a963b4f1c4cb738b.
TEST(AesGcmTest, KnownAnswerEmptyPlaintext) {
  Result<Bytes> sealed = AesGcmSeal(Bytes(32, 0), Bytes(12, 0), "", "");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(Bytes(sealed->begin() + 12, sealed->end()),
            FromHex("530f8afbc74536b9a963b4f1c4cb738b"));
}

TEST(AesGcmTest, RejectsShortInput) {
  ExpectIntegrityError(AesGcmOpen(Bytes(32, 1), Bytes(27, 0), "").status());
}

class EnvelopeTest : public ::testing::Test {
 protected:
  const Bytes kek_ = Bytes(32, 0x42);
  const std::string aad_ = CredentialAad(7, "github", "API_KEY", 3);
};

TEST_F(EnvelopeTest, RoundTrip) {
  Result<Envelope> envelope = SealWithKek(kek_, R"({"key":"sk-123"})", aad_);
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  EXPECT_EQ(envelope->ciphertext.size(), 12u + 16u + 16u);
  EXPECT_EQ(envelope->wrapped_dek.size(), 40u);  // 32-byte DEK + 8-byte AIV
  Result<SecretBytes> plaintext = OpenWithKek(kek_, *envelope, aad_);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(ToString(*plaintext), R"({"key":"sk-123"})");
}

TEST_F(EnvelopeTest, FreshDekAndNonceEachSeal) {
  Result<Envelope> a = SealWithKek(kek_, "same", aad_);
  Result<Envelope> b = SealWithKek(kek_, "same", aad_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->ciphertext, b->ciphertext);
  EXPECT_NE(a->wrapped_dek, b->wrapped_dek);
}

TEST_F(EnvelopeTest, EveryFlippedByteIsIntegrityError) {
  Result<Envelope> envelope = SealWithKek(kek_, "secret", aad_);
  ASSERT_TRUE(envelope.ok());
  // Nonce (0..11), ciphertext (12..17), tag (18..33).
  for (std::size_t i = 0; i < envelope->ciphertext.size(); ++i) {
    Envelope bad = *envelope;
    bad.ciphertext[i] ^= 0x80;
    ExpectIntegrityError(OpenWithKek(kek_, bad, aad_).status());
  }
  for (std::size_t i = 0; i < envelope->wrapped_dek.size(); ++i) {
    Envelope bad = *envelope;
    bad.wrapped_dek[i] ^= 0x80;
    ExpectIntegrityError(OpenWithKek(kek_, bad, aad_).status());
  }
  Envelope truncated = *envelope;
  truncated.ciphertext.pop_back();
  ExpectIntegrityError(OpenWithKek(kek_, truncated, aad_).status());
}

TEST_F(EnvelopeTest, WrongAadIsIntegrityError) {
  Result<Envelope> envelope = SealWithKek(kek_, "secret", aad_);
  ASSERT_TRUE(envelope.ok());
  ExpectIntegrityError(
      OpenWithKek(kek_, *envelope, CredentialAad(8, "github", "API_KEY", 3)).status());
  ExpectIntegrityError(
      OpenWithKek(kek_, *envelope, CredentialAad(7, "gitlab", "API_KEY", 3)).status());
  ExpectIntegrityError(
      OpenWithKek(kek_, *envelope, CredentialAad(7, "github", "LOGIN", 3)).status());
  ExpectIntegrityError(
      OpenWithKek(kek_, *envelope, CredentialAad(7, "github", "API_KEY", 4)).status());
  ExpectIntegrityError(OpenWithKek(kek_, *envelope, "").status());
}

TEST_F(EnvelopeTest, WrongKekIsIntegrityError) {
  Result<Envelope> envelope = SealWithKek(kek_, "secret", aad_);
  ASSERT_TRUE(envelope.ok());
  Bytes other = kek_;
  other[31] ^= 1;
  ExpectIntegrityError(OpenWithKek(other, *envelope, aad_).status());
}

TEST(CredentialAadTest, VersionedAndLengthPrefixed) {
  const std::string aad = CredentialAad(1, "a", "b", 2);
  EXPECT_EQ(aad.rfind("strongroom/aad/v1", 0), 0u);
  EXPECT_NE(CredentialAad(1, "ab", "c", 1), CredentialAad(1, "a", "bc", 1));
  EXPECT_NE(CredentialAad(1, "", "x", 1), CredentialAad(1, "x", "", 1));
  EXPECT_NE(CredentialAad(1, "n", "t", 1), CredentialAad(256, "n", "t", 1));
  EXPECT_EQ(CredentialAad(5, "n", "t", 9), CredentialAad(5, "n", "t", 9));
  // 17-byte prefix + 8 + (4 + 1) + (4 + 1) + 8.
  EXPECT_EQ(aad.size(), 17u + 8u + 5u + 5u + 8u);
}

}  // namespace
}  // namespace strongroom::kms::internal
