#include "base/secret_json.h"

#include <string>

#include <gtest/gtest.h>

namespace strongroom {
namespace {

bool AllZero(const std::string& s) {
  for (char c : s) {
    if (c != '\0') return false;
  }
  return true;
}

TEST(SecretJsonTest, WipeJsonStringsZeroesEveryStringValueAndKeepsTheShape) {
  nlohmann::json doc = {{"password", "hunter2"}, {"nested", {{"codes", {"a-1", "b-2"}}}}, {"n", 7}};
  WipeJsonStrings(doc);
  EXPECT_TRUE(AllZero(doc["password"].get<std::string>()));
  EXPECT_EQ(doc["password"].get<std::string>().size(), 7u);
  EXPECT_TRUE(AllZero(doc["nested"]["codes"][0].get<std::string>()));
  EXPECT_TRUE(AllZero(doc["nested"]["codes"][1].get<std::string>()));
  EXPECT_EQ(doc["n"], 7);
}

TEST(SecretJsonTest, OrderedJsonIsWipedToo) {
  nlohmann::ordered_json doc = {{"key", "sk_live_x"}};
  WipeJsonStrings(doc);
  EXPECT_TRUE(AllZero(doc["key"].get<std::string>()));
}

TEST(SecretJsonTest, GuardWipesWhenTheScopeEnds) {
  nlohmann::json doc = {{"secret", "JBSWY3DPEHPK3PXP"}};
  { JsonWipeGuard guard(doc); }
  EXPECT_TRUE(AllZero(doc["secret"].get<std::string>()));
}

TEST(SecretJsonTest, DumpToSecretMatchesDump) {
  nlohmann::ordered_json doc = {{"b", "x\"y"}, {"a", {1, 2}}, {"u", "\xc3\xa9"}};
  SecretStdString text = DumpToSecret(doc);
  EXPECT_EQ(std::string(text.data(), text.size()), doc.dump());
  nlohmann::json plain = {{"k", "v"}};
  SecretStdString text2 = DumpToSecret(plain);
  EXPECT_EQ(std::string(text2.data(), text2.size()), plain.dump());
}

TEST(SecretJsonTest, MovedFromSecretJsonKeepsTheDocumentInTheTarget) {
  SecretJson a(nlohmann::json{{"password", "pw"}});
  SecretJson b(std::move(a));
  EXPECT_EQ((*b)["password"], "pw");
  SecretJson c;
  c = std::move(b);
  EXPECT_EQ(c->at("password"), "pw");
}

}  // namespace
}  // namespace strongroom
