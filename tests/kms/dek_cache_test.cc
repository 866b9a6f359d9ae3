// The DEK cache of KeyManagerImpl, over a software master key
// (software_master_key.h).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "kms/internal/aead.h"
#include "kms/key_manager_impl.h"
#include "tests/kms/software_master_key.h"

namespace strongroom::kms {
namespace {

class DekCacheTest : public KeyManagerImplTest {
 protected:
  // Envelopes sealed by a manager without a DEK cache, so `manager_` starts cold.
  Envelope SealCold(const std::string& plaintext, const std::string& aad, std::int64_t id = 1) {
    KeyManagerImpl sealer(std::make_unique<SoftwareMasterKey>(), 0);
    Result<Envelope> envelope = sealer.Seal(Ref(id), plaintext, aad);
    EXPECT_TRUE(envelope.ok()) << envelope.status().ToString();
    return envelope.ok() ? *envelope : Envelope{};
  }
  static void ExpectIntegrityError(const Result<SecretBytes>& opened) {
    EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(opened.status().error_code(), "integrity_error");
    EXPECT_EQ(opened.status().message(), internal::kIntegrityMessage);
  }
};

TEST_F(DekCacheTest, DefaultCapacity) {
  EXPECT_EQ(manager_->dek_cache_capacity(), KeyManagerImpl::kDefaultDekCacheCapacity);
  EXPECT_EQ(KeyManagerImpl::kDefaultDekCacheCapacity, 16384u);
  EXPECT_EQ(manager_->cached_deks(), 0u);
}

TEST_F(DekCacheTest, SecondOpenIsHit) {
  const Envelope envelope = SealCold("secret", "aad");
  Result<SecretBytes> first = manager_->Open(Ref(), envelope, "aad");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  EXPECT_EQ(manager_->cached_deks(), 1u);
  Result<SecretBytes> second = manager_->Open(Ref(), envelope, "aad");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(Str(*second), "secret");
  EXPECT_EQ(Str(*first), Str(*second));
  EXPECT_EQ(manager_->dek_cache_hits(), 1u);
  EXPECT_EQ(manager_->cached_deks(), 1u);
}

TEST_F(DekCacheTest, SealThenOpenIsHit) {
  Result<Envelope> envelope = manager_->Seal(Ref(), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(manager_->cached_deks(), 1u);
  Result<SecretBytes> opened = manager_->Open(Ref(), *envelope, "aad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "pw");
  EXPECT_EQ(manager_->dek_cache_hits(), 1u);
  EXPECT_EQ(manager_->hsm_operations(), 1u);
}

TEST_F(DekCacheTest, TamperedCiphertextWithCachedDekIsIntegrityError) {
  Result<Envelope> envelope = manager_->Seal(Ref(), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  Envelope tampered = *envelope;
  tampered.ciphertext[internal::kGcmNonceBytes] ^= 1;
  ExpectIntegrityError(manager_->Open(Ref(), tampered, "aad"));
  Envelope bad_tag = *envelope;
  bad_tag.ciphertext.back() ^= 0x80;
  ExpectIntegrityError(manager_->Open(Ref(), bad_tag, "aad"));
  ExpectIntegrityError(manager_->Open(Ref(), *envelope, "other aad"));
  // All three went through the cached DEK and were still rejected by GCM.
  EXPECT_EQ(manager_->dek_cache_hits(), 3u);
  EXPECT_EQ(manager_->cached_deks(), 1u);
  Result<SecretBytes> opened = manager_->Open(Ref(), *envelope, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(Str(*opened), "pw");
}

TEST_F(DekCacheTest, TamperedWrappedDekIsMissAndNotCached) {
  Result<Envelope> envelope = manager_->Seal(Ref(), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  ASSERT_EQ(manager_->cached_deks(), 1u);
  Envelope tampered = *envelope;
  tampered.wrapped_dek[3] ^= 1;
  ExpectIntegrityError(manager_->Open(Ref(), tampered, "aad"));
  ExpectIntegrityError(manager_->Open(Ref(), tampered, "aad"));
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  EXPECT_EQ(manager_->cached_deks(), 1u);
}

TEST_F(DekCacheTest, DekThatFailsToAuthenticateIsNotCached) {
  // A validly wrapped DEK paired with a ciphertext it did not seal: the unwrap
  // succeeds, GCM fails, and that DEK must not be cached.
  const Envelope a = SealCold("a", "aad");
  const Envelope b = SealCold("b", "aad");
  Envelope swapped{a.ciphertext, b.wrapped_dek};
  ExpectIntegrityError(manager_->Open(Ref(), swapped, "aad"));
  EXPECT_EQ(manager_->cached_deks(), 0u);
  ExpectIntegrityError(manager_->Open(Ref(), swapped, "aad"));
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  // The genuine pair still opens (and is cached then).
  Result<SecretBytes> opened = manager_->Open(Ref(), b, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(Str(*opened), "b");
  EXPECT_EQ(manager_->cached_deks(), 1u);
}

TEST_F(DekCacheTest, SameWrappedBytesUnderOtherIdentityOrVersionMiss) {
  Result<Envelope> envelope = manager_->Seal(Ref(1), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  // Same wrapped KEK bytes, so these would open; they must not use identity 1's entry.
  Result<SecretBytes> other_id = manager_->Open(KekRef{2, 1, &wrapped_kek_}, *envelope, "aad");
  ASSERT_TRUE(other_id.ok());
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  Result<SecretBytes> other_version = manager_->Open(KekRef{1, 2, &wrapped_kek_}, *envelope, "aad");
  ASSERT_TRUE(other_version.ok());
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  EXPECT_EQ(manager_->cached_deks(), 3u);

  // And a different identity's KEK never opens it, cached DEK or not.
  Result<Bytes> other_kek = manager_->NewWrappedKek();
  ASSERT_TRUE(other_kek.ok());
  ExpectIntegrityError(manager_->Open(KekRef{3, 1, &*other_kek}, *envelope, "aad"));
  EXPECT_EQ(manager_->dek_cache_hits(), 0u);
  EXPECT_EQ(manager_->cached_deks(), 3u);
}

TEST_F(DekCacheTest, CapacityBound) {
  KeyManagerImpl small(std::make_unique<SoftwareMasterKey>(), 4);
  std::vector<Envelope> envelopes;
  for (int i = 0; i < 10; ++i) {
    const std::string aad = CredentialAad(1, "n", "LOGIN", i);
    Result<Envelope> e = small.Seal(Ref(), "p" + std::to_string(i), aad);
    ASSERT_TRUE(e.ok());
    envelopes.push_back(*e);
    EXPECT_LE(small.cached_deks(), 4u);
  }
  EXPECT_EQ(small.cached_deks(), 4u);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10; ++i) {
      const std::string aad = CredentialAad(1, "n", "LOGIN", i);
      Result<SecretBytes> p = small.Open(Ref(), envelopes[i], aad);
      ASSERT_TRUE(p.ok()) << p.status().ToString();
      EXPECT_EQ(Str(*p), "p" + std::to_string(i));
      EXPECT_LE(small.cached_deks(), 4u);
    }
  }
  EXPECT_EQ(small.cached_keks(), 1u);
}

TEST_F(DekCacheTest, ClockGivesReferencedEntriesASecondChance) {
  KeyManagerImpl small(std::make_unique<SoftwareMasterKey>(), 2);
  Result<Envelope> a = small.Seal(Ref(), "a", "");
  Result<Envelope> b = small.Seal(Ref(), "b", "");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(small.Open(Ref(), *a, "").ok());  // hit: marks a
  EXPECT_EQ(small.dek_cache_hits(), 1u);
  Result<Envelope> c = small.Seal(Ref(), "c", "");  // full: b (unmarked) is replaced
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(small.cached_deks(), 2u);
  ASSERT_TRUE(small.Open(Ref(), *a, "").ok());
  EXPECT_EQ(small.dek_cache_hits(), 2u);
  ASSERT_TRUE(small.Open(Ref(), *c, "").ok());
  EXPECT_EQ(small.dek_cache_hits(), 3u);
  Result<SecretBytes> opened_b = small.Open(Ref(), *b, "");
  ASSERT_TRUE(opened_b.ok());
  EXPECT_EQ(Str(*opened_b), "b");
  EXPECT_EQ(small.dek_cache_hits(), 3u);  // b was the victim: a miss
  EXPECT_EQ(small.cached_deks(), 2u);
}

TEST_F(DekCacheTest, CapacityZeroDisablesCache) {
  KeyManagerImpl uncached(std::make_unique<SoftwareMasterKey>(), 0);
  EXPECT_EQ(uncached.dek_cache_capacity(), 0u);
  Result<Envelope> envelope = uncached.Seal(Ref(), "pw", "aad");
  ASSERT_TRUE(envelope.ok());
  for (int i = 0; i < 3; ++i) {
    Result<SecretBytes> opened = uncached.Open(Ref(), *envelope, "aad");
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(Str(*opened), "pw");
  }
  Envelope tampered = *envelope;
  tampered.ciphertext.back() ^= 1;
  ExpectIntegrityError(uncached.Open(Ref(), tampered, "aad"));
  EXPECT_EQ(uncached.cached_deks(), 0u);
  EXPECT_EQ(uncached.dek_cache_hits(), 0u);
  EXPECT_EQ(uncached.cached_keks(), 1u);
  uncached.Evict(1);
  EXPECT_EQ(uncached.cached_keks(), 0u);
  ASSERT_TRUE(uncached.Open(Ref(), *envelope, "aad").ok());
}

TEST_F(DekCacheTest, EvictDropsOnlyThatIdentitysDeks) {
  Result<Bytes> kek2 = manager_->NewWrappedKek();
  ASSERT_TRUE(kek2.ok());
  const KekRef id2{2, 1, &*kek2};
  std::vector<Envelope> mine;
  std::vector<Envelope> theirs;
  for (int i = 0; i < 3; ++i) mine.push_back(*manager_->Seal(Ref(1), "mine", "aad"));
  for (int i = 0; i < 2; ++i) theirs.push_back(*manager_->Seal(id2, "theirs", "aad"));
  // A second KEK version of identity 1 is dropped too.
  mine.push_back(*manager_->Seal(KekRef{1, 2, &wrapped_kek_}, "mine", "aad"));
  EXPECT_EQ(manager_->cached_deks(), 6u);
  manager_->Evict(1);
  EXPECT_EQ(manager_->cached_deks(), 2u);
  EXPECT_EQ(manager_->cached_keks(), 1u);
  for (const Envelope& e : theirs) {
    Result<SecretBytes> p = manager_->Open(id2, e, "aad");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(Str(*p), "theirs");
  }
  EXPECT_EQ(manager_->dek_cache_hits(), 2u);
  Result<SecretBytes> p = manager_->Open(Ref(1), mine[0], "aad");  // a miss now
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Str(*p), "mine");
  EXPECT_EQ(manager_->dek_cache_hits(), 2u);
  EXPECT_EQ(manager_->cached_deks(), 3u);
  manager_->Evict(99);  // unknown identity: no-op
  EXPECT_EQ(manager_->cached_deks(), 3u);
}

TEST_F(DekCacheTest, KeysUnwrappedAcrossEvictAreNotCached) {
  auto master = std::make_unique<SoftwareMasterKey>();
  SoftwareMasterKey* hook = master.get();
  KeyManagerImpl manager(std::move(master));
  const Envelope envelope = SealCold("pw", "aad");
  // The identity is deleted while this Open is unwrapping its KEK: the DEK
  // it then unwraps must not outlive the Evict in the cache.
  hook->on_unwrap = [&manager] { manager.Evict(1); };
  Result<SecretBytes> opened = manager.Open(Ref(), envelope, "aad");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(manager.cached_deks(), 0u);
  EXPECT_EQ(manager.cached_keks(), 0u);  // nor the KEK unwrapped across it
  hook->on_unwrap = nullptr;
  ASSERT_TRUE(manager.Open(Ref(), envelope, "aad").ok());
  EXPECT_EQ(manager.cached_deks(), 1u);
  EXPECT_EQ(manager.cached_keks(), 1u);
}

TEST_F(DekCacheTest, ConcurrentSealOpenEvictSmallCapacity) {
  KeyManagerImpl small(std::make_unique<SoftwareMasterKey>(), 8);
  std::vector<Bytes> keks;
  for (int id = 0; id < 3; ++id) keks.push_back(*small.NewWrappedKek());
  // Envelopes shared by all threads, so reads hit, miss and race on the same keys.
  std::vector<Envelope> shared;
  for (int i = 0; i < 12; ++i) {
    const int id = i % 3;
    shared.push_back(*small.Seal(KekRef{id, 1, &keks[id]}, "shared" + std::to_string(i),
                                 CredentialAad(id, "s", "LOGIN", i)));
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        const int id = (t + i) % 3;
        const KekRef ref{id, 1, &keks[id]};
        const std::string aad = CredentialAad(id, "t" + std::to_string(t), "LOGIN", i);
        const std::string payload = "payload" + std::to_string(t) + "/" + std::to_string(i);
        Result<Envelope> e = small.Seal(ref, payload, aad);
        if (!e.ok()) {
          ++failures;
          continue;
        }
        for (int k = 0; k < 2; ++k) {
          Result<SecretBytes> p = small.Open(ref, *e, aad);
          if (!p.ok() || Str(*p) != payload) ++failures;
        }
        const int j = (t * 7 + i) % 12;
        const int jid = j % 3;
        Result<SecretBytes> s =
            small.Open(KekRef{jid, 1, &keks[jid]}, shared[j], CredentialAad(jid, "s", "LOGIN", j));
        if (!s.ok() || Str(*s) != "shared" + std::to_string(j)) ++failures;
        // Mismatched AAD through whatever is cached: must always fail.
        if (small.Open(KekRef{jid, 1, &keks[jid]}, shared[j], aad).ok()) ++failures;
        if (t == 0 && i % 10 == 0) small.Evict(i % 3);
        if (small.cached_deks() > 8) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LE(small.cached_deks(), 8u);
  EXPECT_GT(small.dek_cache_hits(), 0u);
}

}  // namespace
}  // namespace strongroom::kms
