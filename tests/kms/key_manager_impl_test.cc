// KeyManagerImpl over a software master key (software_master_key.h): KEK
// caching, eviction and concurrency without an HSM, and the software OAEP path.
// The DEK cache is tested in dek_cache_test.cc.
#include "kms/key_manager_impl.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "kms/internal/aead.h"
#include "kms/internal/openssl_util.h"
#include "tests/kms/software_master_key.h"

namespace strongroom::kms::internal {
// RSA-3072 generated once per process (keygen is slow); never freed.
EVP_PKEY* SharedRsaKey() {
  static EVP_PKEY* key = ::EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
  return key;
}
}  // namespace strongroom::kms::internal

namespace strongroom::kms {
namespace {

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

// A cold identity hit by many requests at once costs one HSM call, not one each.
TEST_F(KeyManagerImplTest, ConcurrentColdMissesShareOneUnwrap) {
  auto master = std::make_unique<SoftwareMasterKey>();
  SoftwareMasterKey* hook = master.get();
  KeyManagerImpl manager(std::move(master), 0);
  Bytes kek_a = *manager.NewWrappedKek();
  Bytes kek_b = *manager.NewWrappedKek();
  std::vector<Envelope> envelopes;
  {
    KeyManagerImpl sealer(std::make_unique<SoftwareMasterKey>(), 0);
    envelopes.push_back(*sealer.Seal(KekRef{1, 1, &kek_a}, "a", "aad"));
    envelopes.push_back(*sealer.Seal(KekRef{2, 1, &kek_b}, "b", "aad"));
  }
  // A slow HSM, so every thread misses while the first unwrap is in flight.
  hook->on_unwrap = [] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); };
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const int which = t % 2;
      Result<SecretBytes> p =
          manager.Open(KekRef{which + 1, 1, which == 0 ? &kek_a : &kek_b}, envelopes[which], "aad");
      if (!p.ok() || Str(*p) != (which == 0 ? "a" : "b")) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(manager.hsm_operations(), 2u);  // one per identity
  EXPECT_EQ(manager.cached_keks(), 2u);
}

// A failed unwrap is not shared as a success: the next caller tries again.
TEST_F(KeyManagerImplTest, FailedUnwrapIsRetriedByTheNextCaller) {
  Bytes kek = *manager_->NewWrappedKek();
  Bytes corrupt = kek;
  corrupt[10] ^= 1;
  const Envelope envelope = *manager_->Seal(KekRef{7, 1, &kek}, "x", "aad");
  manager_->Evict(7);
  EXPECT_FALSE(manager_->Open(KekRef{7, 1, &corrupt}, envelope, "aad").ok());
  Result<SecretBytes> ok = manager_->Open(KekRef{7, 1, &kek}, envelope, "aad");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(Str(*ok), "x");
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
