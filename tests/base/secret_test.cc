#include "base/secret.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/random.h"

namespace strongroom {
namespace {

// README's threat model claims no core dumps and no ptrace by other users; checked in
// a child process (EXPECT_EXIT forks), so this test binary stays attachable for LSan.
TEST(SecretTest, HardenProcessDisablesCoreDumpsAndDumpable) {
  EXPECT_EXIT(
      {
        HardenProcess();
        rlimit core{};
        bool no_core =
            ::getrlimit(RLIMIT_CORE, &core) == 0 && core.rlim_cur == 0 && core.rlim_max == 0;
        bool not_dumpable = ::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0;
        ::_exit(no_core && not_dumpable ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(SecretTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(SecretTest, SecretStringClearsOnMoveAndClear) {
  SecretString a("hunter2");
  SecretString b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): documented to be cleared
  EXPECT_EQ(b.view(), "hunter2");
  b.Clear();
  EXPECT_TRUE(b.empty());
}

TEST(RandomTest, HexAndBase64Url) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  // RFC 4648 section 10 vectors, unpadded, in the URL alphabet.
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  auto hex = RandomHex(16);
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(hex->size(), 32u);
  auto key = RandomSecretBytes(32);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 32u);
}

}  // namespace
}  // namespace strongroom
