#include "audit/checkpoint.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "audit/software_signer.h"
#include "tests/audit/test_util.h"

namespace strongroom::audit {
namespace {

using testing::Base64Decode;
using testing::OpenSslVerify;
using testing::PkeyPtr;
using testing::ReadPublicPem;

std::unique_ptr<SoftwareCheckpointSigner> NewSigner() {
  auto signer = SoftwareCheckpointSigner::Generate();
  EXPECT_TRUE(signer.ok());
  return std::move(signer).value();
}

const std::string kHash(64, 'c');

TEST(AuditCheckpointTest, MessageFormat) {
  EXPECT_EQ(CheckpointMessage("node-a:8443", 17, kHash),
            "strongroom-audit/node-a:8443\n17\n" + kHash + "\n");
}

TEST(AuditCheckpointTest, JsonLineGoldenAndRoundTrip) {
  const Checkpoint c{"node-a:8443", 17, kHash, "2026-12-03T08:00:10.000Z", "MEUCIQ=="};
  const std::string line = CheckpointJsonLine(c);
  EXPECT_EQ(line, R"({"server":"node-a:8443","seq":17,"hash":")" + kHash +
                      R"(","time":"2026-12-03T08:00:10.000Z","signature":"MEUCIQ=="})");
  Result<Checkpoint> parsed = ParseCheckpointLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, c);
}

TEST(AuditCheckpointTest, ParseRejectsBadLines) {
  const std::string good =
      CheckpointJsonLine({"node-a:8443", 17, kHash, "2026-12-03T08:00:10.000Z", "MEUCIQ=="});
  const std::vector<std::pair<std::string, std::string>> edits = {
      {R"("seq":17)", R"("seq":0)"},
      {R"("seq":17)", R"("seq":17,"extra":true)"},
      {R"("seq":17,)", ""},
      {R"("seq":17)", R"("seq":17,"seq":18)"},
      {R"("MEUCIQ==")", R"("MEUCIQ")"},
      {R"("MEUCIQ==")", R"("ME UCIQ=")"},
      {kHash, std::string(64, 'C')},
      {kHash, "abc"},
      {R"("2026-12-03T08:00:10.000Z")", "17"},
  };
  for (const auto& [from, to] : edits) {
    std::string line = good;
    line.replace(line.find(from), from.size(), to);
    Result<Checkpoint> parsed = ParseCheckpointLine(line);
    ASSERT_FALSE(parsed.ok()) << line;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << line;
  }
}

TEST(AuditCheckpointTest, SignatureVerifiesWithOpenSslAgainstTheExportedPem) {
  auto signer = NewSigner();
  Result<std::string> pem = signer->PublicKeyPem();
  ASSERT_TRUE(pem.ok());
  EXPECT_TRUE(pem->starts_with("-----BEGIN PUBLIC KEY-----\n"));

  Result<Checkpoint> c =
      MakeCheckpoint(*signer, "node-a:8443", {17, kHash}, "2026-12-03T08:00:10.000Z");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->server, "node-a:8443");
  EXPECT_EQ(c->seq, 17);
  EXPECT_EQ(c->hash, kHash);
  const std::string der = Base64Decode(c->signature);
  const std::string message = "strongroom-audit/node-a:8443\n17\n" + kHash + "\n";
  EXPECT_TRUE(OpenSslVerify(*pem, message, der));
  EXPECT_FALSE(OpenSslVerify(*pem, "strongroom-audit/node-a:8443\n18\n" + kHash + "\n", der));

  Result<CheckpointKey> key = CheckpointKey::FromPem(*pem);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_TRUE(key->Verify(*c));
  Checkpoint moved = *c;
  moved.seq = 18;
  EXPECT_FALSE(key->Verify(moved));
  Checkpoint other_server = *c;
  other_server.server = "node-b:8443";
  EXPECT_FALSE(key->Verify(other_server));
  Result<CheckpointKey> other_key = CheckpointKey::FromPem(*NewSigner()->PublicKeyPem());
  ASSERT_TRUE(other_key.ok());
  EXPECT_FALSE(other_key->Verify(*c));
}

TEST(AuditCheckpointTest, MakeCheckpointNeedsAnEvent) {
  auto signer = NewSigner();
  EXPECT_EQ(MakeCheckpoint(*signer, "s", {}, "2026-12-03T08:00:10.000Z").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AuditCheckpointTest, RawToDerKnownAnswer) {
  // r = 1, s = 0x80 00..00: s needs a leading zero byte in DER (RFC 3279 / X.690 INTEGER).
  std::string raw(64, '\0');
  raw[31] = '\x01';
  raw[32] = '\x80';
  std::string expected("\x30\x26\x02\x01\x01\x02\x21\x00\x80", 9);
  expected.resize(2 + 3 + 3 + 32, '\0');
  Result<std::string> der = EcdsaRawToDer(raw);
  ASSERT_TRUE(der.ok()) << der.status().ToString();
  EXPECT_EQ(*der, expected);
  Result<std::string> back = EcdsaDerToRaw(*der);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, raw);
}

TEST(AuditCheckpointTest, RawDerRoundTripOfRealSignatures) {
  auto signer = NewSigner();
  const std::string pem = *signer->PublicKeyPem();
  for (int i = 0; i < 20; ++i) {
    const std::string message =
        "strongroom-audit/s\n" + std::to_string(i + 1) + "\n" + kHash + "\n";
    Result<std::string> der = signer->Sign(message);
    ASSERT_TRUE(der.ok());
    Result<std::string> raw = EcdsaDerToRaw(*der);
    ASSERT_TRUE(raw.ok());
    ASSERT_EQ(raw->size(), 64u);
    Result<std::string> der_again = EcdsaRawToDer(*raw);  // as the HSM signer will do
    ASSERT_TRUE(der_again.ok());
    EXPECT_EQ(*der_again, *der);
    EXPECT_TRUE(OpenSslVerify(pem, message, *der_again));
  }
}

TEST(AuditCheckpointTest, RawToDerRejectsBadInput) {
  EXPECT_EQ(EcdsaRawToDer(std::string(63, '\x01')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EcdsaRawToDer(std::string(64, '\0')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EcdsaDerToRaw("\x30\x03\x02\x01").status().code(), StatusCode::kInvalidArgument);
}

TEST(AuditCheckpointTest, PublicKeyPemFromTheEcPoint) {
  auto signer = NewSigner();
  const std::string pem = *signer->PublicKeyPem();
  PkeyPtr key = ReadPublicPem(pem);
  ASSERT_TRUE(key);
  unsigned char point[128];
  std::size_t len = 0;
  ASSERT_EQ(::EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point,
                                              sizeof(point), &len),
            1);
  ASSERT_EQ(len, 65u);
  ASSERT_EQ(point[0], 0x04);
  const std::string point_bytes(reinterpret_cast<const char*>(point), len);
  Result<std::string> rebuilt = P256PublicKeyPem(point_bytes);
  ASSERT_TRUE(rebuilt.ok()) << rebuilt.status().ToString();
  EXPECT_EQ(*rebuilt, pem);

  std::string off_curve = point_bytes;
  off_curve[64] ^= 1;
  EXPECT_EQ(P256PublicKeyPem(off_curve).status().code(), StatusCode::kInvalidArgument);
}

TEST(AuditCheckpointTest, KeyMustBeP256Pem) {
  EXPECT_EQ(CheckpointKey::FromPem("not a key").status().code(), StatusCode::kInvalidArgument);
  EVP_PKEY* p384 = EVP_EC_gen("P-384");
  ASSERT_NE(p384, nullptr);
  BIO* bio = ::BIO_new(::BIO_s_mem());
  ASSERT_EQ(::PEM_write_bio_PUBKEY(bio, p384), 1);
  char* data = nullptr;
  const long n = ::BIO_get_mem_data(bio, &data);
  const std::string pem(data, static_cast<std::size_t>(n));
  ::BIO_free(bio);
  ::EVP_PKEY_free(p384);
  EXPECT_EQ(CheckpointKey::FromPem(pem).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::audit
