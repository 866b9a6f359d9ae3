#include "audit/chain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "tests/audit/test_util.h"

namespace strongroom::audit {
namespace {

using testing::OpenSslSha256Hex;
using testing::ReadEvent;

std::unique_ptr<Chain> OpenChain(std::string server, ChainHead head = {}) {
  Result<std::unique_ptr<Chain>> chain = Chain::Open(std::move(server), std::move(head));
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  return chain.ok() ? std::move(chain).value() : nullptr;
}

// The canonical text of SPEC 12 written out here, not by audit/event.cc.
std::string ExpectedCanonical(std::int64_t seq, const std::string& credential,
                              const std::string& prev) {
  return R"({"seq":)" + std::to_string(seq) +
         R"(,"time":"2026-12-03T08:00:00.123Z","server":"node-a:8443","requestId":"req-1",)"
         R"("action":"vault.get","identity":"alice","keyId":"k1","credential":")" +
         credential +
         R"(","credentialId":"c1","version":3,"status":200,"remote":"127.0.0.1","prev":")" + prev +
         R"("})";
}

TEST(AuditChainTest, LinksEventsAsRecomputedIndependently) {
  auto chain = OpenChain("node-a:8443");
  ASSERT_NE(chain, nullptr);
  std::string prev(64, '0');
  for (int i = 1; i <= 5; ++i) {
    const std::string credential = "cred-" + std::to_string(i);
    Event e = chain->Append(ReadEvent(credential));  // server is the chain's, not "host:8443"
    EXPECT_EQ(e.seq, i);
    EXPECT_EQ(e.server, "node-a:8443");
    EXPECT_EQ(e.prev, prev);
    EXPECT_EQ(e.hash, OpenSslSha256Hex(ExpectedCanonical(i, credential, prev)));
    prev = e.hash;
  }
  EXPECT_EQ(chain->Head(), (ChainHead{5, prev}));
}

TEST(AuditChainTest, ResumesFromTheLastStoredEvent) {
  auto first = OpenChain("node-a:8443");
  first->Append(ReadEvent("one"));
  const Event second = first->Append(ReadEvent("two"));

  auto resumed = OpenChain("node-a:8443", first->Head());
  const Event third = resumed->Append(ReadEvent("three"));
  EXPECT_EQ(third.seq, 3);
  EXPECT_EQ(third.prev, second.hash);
  EXPECT_EQ(third.hash, OpenSslSha256Hex(ExpectedCanonical(3, "three", second.hash)));
}

TEST(AuditChainTest, OpenRejectsBadHeads) {
  const std::string hex(64, 'b');
  EXPECT_EQ(Chain::Open("", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain::Open("s", {-1, hex}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain::Open("s", {3, "ABC"}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain::Open("s", {3, std::string(64, 'B')}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Chain::Open("s", {0, hex}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Chain::Open("s", {3, hex}).ok());
}

TEST(AuditChainTest, UncommittedBatchRewinds) {
  auto chain = OpenChain("node-a:8443");
  const Event one = chain->Append(ReadEvent("one"));
  {
    Chain::Batch batch = chain->Begin();
    EXPECT_EQ(batch.Append(ReadEvent("lost-2")).seq, 2);
    EXPECT_EQ(batch.Append(ReadEvent("lost-3")).seq, 3);
    // No Commit: the store write failed.
  }
  EXPECT_EQ(chain->Head(), (ChainHead{1, one.hash}));
  Chain::Batch batch = chain->Begin();
  const Event two = batch.Append(ReadEvent("two"));
  const Event three = batch.Append(ReadEvent("three"));
  batch.Commit();
  EXPECT_EQ(two.seq, 2);
  EXPECT_EQ(two.prev, one.hash);
  EXPECT_EQ(three.prev, two.hash);
  EXPECT_EQ(chain->Head(), (ChainHead{3, three.hash}));
}

TEST(AuditChainTest, ConcurrentAppendsFormOneGaplessChain) {
  auto chain = OpenChain("node-a:8443");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::vector<Event>> appended(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 2 == 0) {
          appended[t].push_back(chain->Append(ReadEvent()));
        } else {
          Chain::Batch batch = chain->Begin();
          appended[t].push_back(batch.Append(ReadEvent()));
          batch.Commit();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<Event> all;
  for (auto& events : appended) all.insert(all.end(), events.begin(), events.end());
  std::sort(all.begin(), all.end(), [](const Event& a, const Event& b) { return a.seq < b.seq; });
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::string prev(64, '0');
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].seq, static_cast<std::int64_t>(i + 1));
    ASSERT_EQ(all[i].prev, prev);
    ASSERT_EQ(all[i].hash, EventHash(all[i]));
    prev = all[i].hash;
  }
}

TEST(AuditChainTest, StoresSanitizedStrings) {
  auto chain = OpenChain("node-a:8443");
  const Event e = chain->Append(ReadEvent("bad\xff"));
  EXPECT_EQ(*e.credential, "bad\xef\xbf\xbd");
  EXPECT_EQ(e.hash,
            OpenSslSha256Hex(ExpectedCanonical(1, "bad\xef\xbf\xbd", std::string(64, '0'))));
}

}  // namespace
}  // namespace strongroom::audit
