#include "base/secret.h"

#include <gtest/gtest.h>

#include "base/random.h"

namespace strongroom {
namespace {

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
