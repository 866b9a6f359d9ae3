// KeyManagerImpl over a software master key (a fake of the MasterKey
// interface), so caching, eviction and concurrency are tested without an HSM.
#include "kms/key_manager_impl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <thread>
#include <vector>

#include "kms/internal/aead.h"
#include "kms/internal/openssl_util.h"

namespace strongroom::kms::internal {
// RSA-3072 generated once per process (keygen is slow); never freed.
EVP_PKEY* SharedRsaKey() {
  static EVP_PKEY* key = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
  return key;
}
}  // namespace strongroom::kms::internal

namespace strongroom::kms {
namespace {

using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::SharedRsaKey;

class SoftwareMasterKey final : public internal::MasterKey {
 public:
  SoftwareMasterKey() : public_key_(*internal::RsaOaepPublicKey::FromPkey(SharedRsaKey())) {}

  Result<Bytes> Wrap(std::span<const std::uint8_t> key) const override {
    return public_key_.Encrypt(key);
  }
  Result<SecretBytes> Unwrap(std::span<const std::uint8_t> wrapped) override {
    ops_.fetch_add(1);
    EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_pkey(nullptr, SharedRsaKey(), nullptr));
    if (!ctx || ::EVP_PKEY_decrypt_init(ctx.get()) != 1 || !internal::SetOaepSha256(ctx.get())) {
      return InternalError("decrypt init");
    }
    SecretBytes out(public_key_.modulus_bytes());
    std::size_t len = out.size();
    if (::EVP_PKEY_decrypt(ctx.get(), out.data(), &len, wrapped.data(), wrapped.size()) != 1) {
      return DataLossError("identity KEK failed to unwrap under the master key");
    }
    out.resize(len);
    return out;
  }
  Status Check() override {
    ops_.fetch_add(1);
    return Status::Ok();
  }
  std::uint64_t operations() const override { return ops_.load(); }

 private:
  internal::RsaOaepPublicKey public_key_;
  std::atomic<std::uint64_t> ops_{0};
};

std::string Str(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

class KeyManagerImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SharedRsaKey(), nullptr);
    manager_ = std::make_unique<KeyManagerImpl>(std::make_unique<SoftwareMasterKey>());
    Result<Bytes> kek = manager_->NewWrappedKek();
    ASSERT_TRUE(kek.ok()) << kek.status().ToString();
    wrapped_kek_ = *kek;
  }
  KekRef Ref(std::int64_t id = 1) const { return KekRef{id, 1, &wrapped_kek_}; }

  std::unique_ptr<KeyManagerImpl> manager_;
  Bytes wrapped_kek_;
};

TEST_F(KeyManagerImplTest, WrappedKekIsRsa3072OaepCiphertext) {
  EXPECT_EQ(wrapped_kek_.size(), 384u);
  EXPECT_EQ(manager_->hsm_operations(), 0u);  // wrapping needs no private-key operation
}

TEST_F(KeyManagerImplTest, SealOpenRoundTripCachesKek) {
  const std::string aad = CredentialAad(1, "db", "DATABASE", 1);
  Result<Envelope> envelope = manager_->Seal(Ref(), "pw", aad);
  ASSERT_TRUE(envelope.ok()) << envelope.status().ToString();
  EXPECT_EQ(manager_->hsm_operations(), 1u);
  Result<SecretBytes> plaintext = manager_->Open(Ref(), *envelope, aad);
  ASSERT_TRUE(plaintext.ok()) << plaintext.status().ToString();
  EXPECT_EQ(Str(*plaintext), "pw");
  EXPECT_EQ(manager_->hsm_operations(), 1u);
  EXPECT_EQ(manager_->cached_keks(), 1u);
}

TEST_F(KeyManagerImplTest, EvictForcesUnwrapAndDropsAllVersions) {
  Result<Envelope> envelope = manager_->Seal(Ref(), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  KekRef v2{1, 2, &wrapped_kek_};
  ASSERT_TRUE(manager_->Open(v2, *envelope, "aad").ok());
  EXPECT_EQ(manager_->cached_keks(), 2u);
  manager_->Evict(1);
  EXPECT_EQ(manager_->cached_keks(), 0u);
  const std::uint64_t before = manager_->hsm_operations();
  ASSERT_TRUE(manager_->Open(Ref(), *envelope, "aad").ok());
  EXPECT_EQ(manager_->hsm_operations(), before + 1);
  manager_->Evict(99);  // unknown identity: no-op
  EXPECT_EQ(manager_->cached_keks(), 1u);
}

TEST_F(KeyManagerImplTest, OtherIdentitysKekCannotOpen) {
  Result<Bytes> other_kek = manager_->NewWrappedKek();
  ASSERT_TRUE(other_kek.ok());
  Result<Envelope> envelope = manager_->Seal(Ref(1), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  Result<SecretBytes> opened = manager_->Open(KekRef{2, 1, &*other_kek}, *envelope, "aad");
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(opened.status().error_code(), "integrity_error");
}

TEST_F(KeyManagerImplTest, CorruptWrappedKekIsDataLoss) {
  Bytes corrupt = wrapped_kek_;
  corrupt[100] ^= 1;
  Result<Envelope> envelope = manager_->Seal(KekRef{5, 1, &corrupt}, "pw", "aad");
  EXPECT_EQ(envelope.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(manager_->cached_keks(), 0u);
}

TEST_F(KeyManagerImplTest, ColdCacheWithoutWrappedKekIsInvalidArgument) {
  EXPECT_EQ(manager_->Seal(KekRef{3, 1, nullptr}, "pw", "aad").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(KeyManagerImplTest, ManyIdentitiesShareLockedPages) {
  std::vector<Bytes> keks;
  // 150 slots of 32 bytes span two 4 KiB pages.
  for (int i = 0; i < 150; ++i) keks.push_back(*manager_->NewWrappedKek());
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(manager_->Seal(KekRef{i, 1, &keks[i]}, "x", "").ok());
  }
  EXPECT_EQ(manager_->cached_keks(), 150u);
  for (int i = 0; i < 150; i += 2) manager_->Evict(i);
  EXPECT_EQ(manager_->cached_keks(), 75u);
  for (int i = 0; i < 150; ++i) {
    ASSERT_TRUE(manager_->Seal(KekRef{i, 1, &keks[i]}, "x", "").ok());
  }
  EXPECT_EQ(manager_->cached_keks(), 150u);
}

TEST_F(KeyManagerImplTest, ConcurrentSealOpenEvict) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string aad = CredentialAad(1, "n" + std::to_string(t), "LOGIN", i);
        Result<Envelope> e = manager_->Seal(Ref(), "payload", aad);
        if (!e.ok()) {
          ++failures;
          continue;
        }
        Result<SecretBytes> p = manager_->Open(Ref(), *e, aad);
        if (!p.ok() || Str(*p) != "payload") ++failures;
        if (t == 0 && i % 50 == 0) manager_->Evict(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace strongroom::kms

namespace strongroom::kms::internal {
namespace {

// The software OAEP path (raw RSA in the token, OAEP-SHA-256 decoded here)
// must accept exactly what RsaOaepPublicKey produces.
Result<SecretBytes> RawRsaDecrypt(std::span<const std::uint8_t> ciphertext) {
  EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_pkey(nullptr, SharedRsaKey(), nullptr));
  if (!ctx || ::EVP_PKEY_decrypt_init(ctx.get()) != 1 ||
      ::EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING) != 1) {
    return InternalError("raw decrypt init");
  }
  SecretBytes out(384);
  std::size_t len = out.size();
  if (::EVP_PKEY_decrypt(ctx.get(), out.data(), &len, ciphertext.data(), ciphertext.size()) != 1) {
    return InternalError("raw decrypt");
  }
  out.resize(len);
  return out;
}

TEST(OaepSha256DecodeTest, DecodesWhatRsaOaepPublicKeyEncrypts) {
  Result<RsaOaepPublicKey> key = RsaOaepPublicKey::FromPkey(SharedRsaKey());
  ASSERT_TRUE(key.ok());
  const Bytes kek(32, 0x5a);
  Result<Bytes> wrapped = key->Encrypt(kek);
  ASSERT_TRUE(wrapped.ok());
  Result<SecretBytes> block = RawRsaDecrypt(*wrapped);
  ASSERT_TRUE(block.ok());
  Result<SecretBytes> decoded = OaepSha256Decode(*block, 384);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(Bytes(decoded->begin(), decoded->end()), kek);
  // A leading zero byte stripped by the token is tolerated.
  if ((*block)[0] == 0) {
    SecretBytes stripped(block->begin() + 1, block->end());
    EXPECT_TRUE(OaepSha256Decode(stripped, 384).ok());
  }
}

TEST(OaepSha256DecodeTest, TamperedCiphertextIsDataLoss) {
  Result<RsaOaepPublicKey> key = RsaOaepPublicKey::FromPkey(SharedRsaKey());
  ASSERT_TRUE(key.ok());
  Result<Bytes> wrapped = key->Encrypt(Bytes(32, 1));
  ASSERT_TRUE(wrapped.ok());
  (*wrapped)[200] ^= 0x04;
  Result<SecretBytes> block = RawRsaDecrypt(*wrapped);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(OaepSha256Decode(*block, 384).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(OaepSha256Decode(SecretBytes(385, 0), 384).status().code(), StatusCode::kDataLoss);
}

TEST(RsaOaepPublicKeyTest, RejectsShortModulus) {
  EvpPkeyPtr small(::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
  ASSERT_TRUE(small);
  Result<RsaOaepPublicKey> key = RsaOaepPublicKey::FromPkey(small.get());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(key.status().error_code(), "hsm_key_invalid");
}

}  // namespace
}  // namespace strongroom::kms::internal
