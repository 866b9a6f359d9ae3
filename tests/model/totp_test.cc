#include "model/totp.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace strongroom::model {
namespace {

using nlohmann::json;

// Independent RFC 4648 section 6 encoder, so the vectors below do not depend on
// the code under test.
std::string Base32(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

// RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash's key size.
const std::string kSeed20 = "12345678901234567890";
const std::string kSeed32 = "12345678901234567890123456789012";
const std::string kSeed64 = "1234567890123456789012345678901234567890123456789012345678901234";

std::string SeedFor(TotpAlgorithm algorithm) {
  switch (algorithm) {
    case TotpAlgorithm::kSha1:
      return Base32(kSeed20);
    case TotpAlgorithm::kSha256:
      return Base32(kSeed32);
    case TotpAlgorithm::kSha512:
      return Base32(kSeed64);
  }
  return "";
}

TEST(TotpTest, Base32EncoderSanity) {
  EXPECT_EQ(Base32("12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(Base32("foobar"), "MZXW6YTBOI");  // RFC 4648 section 10, unpadded
}

struct Rfc6238Row {
  std::int64_t time;
  TotpAlgorithm algorithm;
  const char* code;
};

// RFC 6238 Appendix B: T0 = 0, X = 30, 8 digits.
constexpr Rfc6238Row kRfc6238[] = {
    {59, TotpAlgorithm::kSha1, "94287082"},
    {59, TotpAlgorithm::kSha256, "46119246"},
    {59, TotpAlgorithm::kSha512, "90693936"},
    {1111111109, TotpAlgorithm::kSha1, "07081804"},
    {1111111109, TotpAlgorithm::kSha256, "68084774"},
    {1111111109, TotpAlgorithm::kSha512, "25091201"},
    {1111111111, TotpAlgorithm::kSha1, "14050471"},
    {1111111111, TotpAlgorithm::kSha256, "67062674"},
    {1111111111, TotpAlgorithm::kSha512, "99943326"},
    {1234567890, TotpAlgorithm::kSha1, "89005924"},
    {1234567890, TotpAlgorithm::kSha256, "91819424"},
    {1234567890, TotpAlgorithm::kSha512, "93441116"},
    {2000000000, TotpAlgorithm::kSha1, "69279037"},
    {2000000000, TotpAlgorithm::kSha256, "90698825"},
    {2000000000, TotpAlgorithm::kSha512, "38618901"},
    {20000000000, TotpAlgorithm::kSha1, "65353130"},
    {20000000000, TotpAlgorithm::kSha256, "77737706"},
    {20000000000, TotpAlgorithm::kSha512, "47863826"},
};

class Rfc6238Test : public testing::TestWithParam<Rfc6238Row> {};

TEST_P(Rfc6238Test, AppendixB) {
  const Rfc6238Row& row = GetParam();
  TotpParams params{row.algorithm, 8, 30};
  auto code = GenerateTotp(SeedFor(row.algorithm), params, row.time * 1000);
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(code->code, row.code);
  EXPECT_EQ(code->remaining, 30 - static_cast<int>(row.time % 30));
}

INSTANTIATE_TEST_SUITE_P(AllRows, Rfc6238Test, testing::ValuesIn(kRfc6238));

TEST(TotpTest, Rfc4226AppendixD) {
  // HOTP, HMAC-SHA1, secret "12345678901234567890", 6 digits, counters 0..9.
  const char* kExpected[] = {"755224", "287082", "359152", "969429", "338314",
                             "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t counter = 0; counter < 10; ++counter) {
    auto code = GenerateHotp(Base32(kSeed20), counter, 6);
    ASSERT_TRUE(code.ok()) << code.status().ToString();
    EXPECT_EQ(*code, kExpected[counter]) << "counter " << counter;
  }
}

TEST(TotpTest, SixDigitCodesAreTheLowDigitsAndZeroPadded) {
  // RFC 6238 row 1111111109/SHA1 is 07081804; 6 digits is the value mod 10^6.
  auto code = GenerateTotp(Base32(kSeed20), {TotpAlgorithm::kSha1, 6, 30}, 1111111109000);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->code, "081804");
}

TEST(TotpTest, SeedFormsAreEquivalent) {
  const std::string seed = Base32(kSeed20);
  std::string spaced_lower;
  for (std::size_t i = 0; i < seed.size(); ++i) {
    if (i > 0 && i % 4 == 0) spaced_lower += ' ';
    spaced_lower += static_cast<char>(std::tolower(static_cast<unsigned char>(seed[i])));
  }
  auto a = GenerateTotp(seed, {}, 59000);
  auto b = GenerateTotp(spaced_lower, {}, 59000);
  auto c = GenerateTotp(seed + "========", {}, 59000);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->code, b->code);
  EXPECT_EQ(a->code, c->code);
}

TEST(TotpTest, RemainingIsWithinOneToPeriod) {
  for (int period : {1, 30, 60, 3600}) {
    for (UnixMillis now = 0; now < 3 * static_cast<UnixMillis>(period) * 1000 + 5000; now += 733) {
      auto code = GenerateTotp(Base32(kSeed20), {TotpAlgorithm::kSha1, 6, period}, now);
      ASSERT_TRUE(code.ok());
      ASSERT_GE(code->remaining, 1);
      ASSERT_LE(code->remaining, period);
      ASSERT_EQ(code->remaining, period - static_cast<int>((now / 1000) % period));
    }
  }
  // Step boundaries: the first second of a step has the whole period left.
  EXPECT_EQ(GenerateTotp(Base32(kSeed20), {}, 60000)->remaining, 30);
  EXPECT_EQ(GenerateTotp(Base32(kSeed20), {}, 60999)->remaining, 30);
  EXPECT_EQ(GenerateTotp(Base32(kSeed20), {}, 89999)->remaining, 1);
}

TEST(TotpTest, GenerateRejectsBadParams) {
  const std::string seed = Base32(kSeed20);
  auto digits = GenerateTotp(seed, {TotpAlgorithm::kSha1, 7, 30}, 0);
  EXPECT_EQ(digits.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(digits.status().error_code(), "invalid_totp_digits");
  auto period = GenerateTotp(seed, {TotpAlgorithm::kSha1, 6, 0}, 0);
  EXPECT_EQ(period.status().error_code(), "invalid_totp_period");
  auto negative = GenerateTotp(seed, {TotpAlgorithm::kSha1, 6, -30}, 0);
  EXPECT_EQ(negative.status().error_code(), "invalid_totp_period");
  auto bad_seed = GenerateTotp("NOT-BASE32!", {}, 0);
  EXPECT_EQ(bad_seed.status().error_code(), "invalid_totp_secret");
  auto short_seed = GenerateTotp("GEZDGNBVGY3TQOJ", {}, 0);  // 15 chars < 80 bits
  EXPECT_EQ(short_seed.status().error_code(), "invalid_totp_secret");
  EXPECT_EQ(short_seed.status().message().find("GEZDGNBVGY3TQOJ"), std::string::npos);
  auto before_epoch = GenerateTotp(seed, {}, -1000);
  EXPECT_EQ(before_epoch.status().code(), StatusCode::kInvalidArgument);
}

TEST(TotpTest, AlgorithmNames) {
  EXPECT_EQ(TotpAlgorithmName(TotpAlgorithm::kSha256), "SHA256");
  EXPECT_EQ(ParseTotpAlgorithm("sha512"), TotpAlgorithm::kSha512);
  EXPECT_EQ(ParseTotpAlgorithm("SHA1"), TotpAlgorithm::kSha1);
  EXPECT_EQ(ParseTotpAlgorithm("SHA-256"), std::nullopt);
  EXPECT_EQ(ParseTotpAlgorithm("MD5"), std::nullopt);
}

TEST(TotpTest, ParamsFromMetadata) {
  TotpParams defaults = TotpParams::FromMetadata(json());
  EXPECT_EQ(defaults.algorithm, TotpAlgorithm::kSha1);
  EXPECT_EQ(defaults.digits, 6);
  EXPECT_EQ(defaults.period, 30);

  TotpParams set = TotpParams::FromMetadata(
      {{"algorithm", "SHA512"}, {"digits", 8}, {"period", 60}, {"issuer", "x"}});
  EXPECT_EQ(set.algorithm, TotpAlgorithm::kSha512);
  EXPECT_EQ(set.digits, 8);
  EXPECT_EQ(set.period, 60);

  TotpParams junk = TotpParams::FromMetadata({{"algorithm", 5}, {"digits", 7}, {"period", "soon"}});
  EXPECT_EQ(junk.algorithm, TotpAlgorithm::kSha1);
  EXPECT_EQ(junk.digits, 6);
  EXPECT_EQ(junk.period, 30);
}

// --- oathtool (Debian package oathtool) as an independent implementation ---

std::optional<std::string> RunOathtool(TotpAlgorithm algorithm, int digits, int period,
                                       std::int64_t now_s, const std::string& seed) {
  // Test seeds only: fine on a command line.
  std::string cmd = "oathtool --totp=" + std::string(TotpAlgorithmName(algorithm)) +
                    " --digits=" + std::to_string(digits) +
                    " --time-step-size=" + std::to_string(period) + "s --now=@" +
                    std::to_string(now_s) + " --base32 " + seed + " 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), &::pclose);
  if (!pipe) return std::nullopt;
  std::array<char, 64> buf{};
  std::string out;
  while (std::fgets(buf.data(), buf.size(), pipe.get()) != nullptr) out += buf.data();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  if (out.empty()) return std::nullopt;
  return out;
}

bool HaveOathtool() { return std::system("oathtool --version >/dev/null 2>&1") == 0; }

TEST(TotpTest, MatchesOathtool) {
  ASSERT_TRUE(HaveOathtool()) << "oathtool (Debian package oathtool) is required; ops/install-deps.sh installs it";
  const std::string seeds[] = {
      "JBSWY3DPEHPK3PXP",                          // 80 bits, the classic example
      Base32("strongroom-test-seed-32-bytes!!!"),  // 256 bits
      Base32(kSeed64),
  };
  const std::int64_t times[] = {0, 59, 1111111109, 1700000000, 1999999999};
  int compared = 0;
  for (TotpAlgorithm algorithm :
       {TotpAlgorithm::kSha1, TotpAlgorithm::kSha256, TotpAlgorithm::kSha512}) {
    for (int digits : {6, 8}) {
      for (int period : {30, 60}) {
        for (const std::string& seed : seeds) {
          for (std::int64_t t : times) {
            auto expected = RunOathtool(algorithm, digits, period, t, seed);
            ASSERT_TRUE(expected.has_value()) << "oathtool failed";
            auto code = GenerateTotp(seed, {algorithm, digits, period}, t * 1000 + 999);
            ASSERT_TRUE(code.ok()) << code.status().ToString();
            EXPECT_EQ(code->code, *expected) << TotpAlgorithmName(algorithm) << " digits " << digits
                                             << " period " << period << " t " << t;
            ++compared;
          }
        }
      }
    }
  }
  EXPECT_EQ(compared, 3 * 2 * 2 * 3 * 5);
}

// --- seeds and backup codes ---

TEST(TotpTest, FindTotpSeed) {
  auto totp = FindTotpSeed(CredentialType::kTotp, {{"secret", "JBSWY3DPEHPK3PXP"}});
  ASSERT_TRUE(totp.ok());
  EXPECT_EQ(totp->view(), "JBSWY3DPEHPK3PXP");

  auto login =
      FindTotpSeed(CredentialType::kLogin, {{"password", "p"}, {"totp", "GEZDGNBVGY3TQOJQ"}});
  ASSERT_TRUE(login.ok());
  EXPECT_EQ(login->view(), "GEZDGNBVGY3TQOJQ");

  auto none = FindTotpSeed(CredentialType::kLogin, {{"password", "p"}});
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(none.status().error_code(), "not_totp");

  // An API_KEY client secret is not a TOTP seed.
  auto api = FindTotpSeed(CredentialType::kApiKey, {{"clientId", "c"}, {"secret", "s"}});
  EXPECT_EQ(api.status().error_code(), "not_totp");

  EXPECT_EQ(FindTotpSeed(CredentialType::kTotp, json()).status().error_code(), "not_totp");
}

TEST(TotpTest, PopBackupCodeTakesFirstAndAppendsToUsed) {
  json data = {{"secret", "JBSWY3DPEHPK3PXP"}, {"backupCodes", {"one", "two", "three"}}};
  EXPECT_EQ(UnusedBackupCodeCount(data), 3u);

  auto first = PopBackupCode(CredentialType::kTotp, data);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->code, "one");
  EXPECT_EQ(first->remaining, 2u);
  EXPECT_EQ(data["backupCodes"], json({"two", "three"}));
  EXPECT_EQ(data["usedBackupCodes"], json({"one"}));

  auto second = PopBackupCode(CredentialType::kTotp, data);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->code, "two");
  EXPECT_EQ(second->remaining, 1u);
  auto third = PopBackupCode(CredentialType::kTotp, data);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->code, "three");
  EXPECT_EQ(third->remaining, 0u);
  EXPECT_EQ(data["usedBackupCodes"], json({"one", "two", "three"}));
  EXPECT_EQ(UnusedBackupCodeCount(data), 0u);

  json before = data;
  auto empty = PopBackupCode(CredentialType::kTotp, data);
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(empty.status().error_code(), "no_backup_codes");
  EXPECT_EQ(data, before);
  EXPECT_EQ(data["secret"], "JBSWY3DPEHPK3PXP");
}

TEST(TotpTest, PopBackupCodeAppendsAfterExistingUsedCodes) {
  json data = {
      {"secret", "JBSWY3DPEHPK3PXP"}, {"backupCodes", {"c"}}, {"usedBackupCodes", {"a", "b"}}};
  auto pop = PopBackupCode(CredentialType::kTotp, data);
  ASSERT_TRUE(pop.ok());
  EXPECT_EQ(pop->code, "c");
  EXPECT_EQ(data["usedBackupCodes"], json({"a", "b", "c"}));
  EXPECT_EQ(data["backupCodes"], json::array());
}

TEST(TotpTest, PopBackupCodeWithoutCodes) {
  json data = {{"secret", "JBSWY3DPEHPK3PXP"}};
  auto pop = PopBackupCode(CredentialType::kTotp, data);
  EXPECT_EQ(pop.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(pop.status().error_code(), "no_backup_codes");
  EXPECT_EQ(data, json({{"secret", "JBSWY3DPEHPK3PXP"}}));
  EXPECT_EQ(UnusedBackupCodeCount(data), 0u);
}

TEST(TotpTest, PopBackupCodeNeedsATotpSeed) {
  json data = {{"password", "p"}, {"backupCodes", {"a"}}};
  json before = data;
  auto pop = PopBackupCode(CredentialType::kLogin, data);
  EXPECT_EQ(pop.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(pop.status().error_code(), "not_totp");
  EXPECT_EQ(data, before);

  // A login with 2FA (data.totp) works as a TOTP credential does (SPEC 3).
  json login = {{"password", "p"}, {"totp", "JBSWY3DPEHPK3PXP"}, {"backupCodes", {"a"}}};
  auto ok = PopBackupCode(CredentialType::kLogin, login);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->code, "a");
}

}  // namespace
}  // namespace strongroom::model
