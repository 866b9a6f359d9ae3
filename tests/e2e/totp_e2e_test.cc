// End-to-end tests of issue 3 (TOTP codes and atomic backup-code consumption)
// against the real `strongroom serve --dev` process.
//
// Codes are checked against oathtool (Debian package oathtool), an independent
// RFC 6238 implementation, for the same seed, options and time step.
//
// This file: codes against oathtool, otpauth:// import and TOTP input errors.
// Backup codes, their atomic pop and use tracking: totp_e2e_backup_test.cc.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <latch>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/totp_e2e_fixture.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::totp_e2e {
namespace {

TEST_F(TotpE2eTest, CodesMatchOathtoolForEveryAlgorithmDigitsAndPeriod) {
  struct Case {
    std::string algorithm;
    int digits;
    int period;
  };
  const std::vector<Case> cases = {
      {"SHA1", 6, 30},   {"SHA1", 8, 30},   {"SHA256", 6, 30}, {"SHA256", 8, 30},
      {"SHA512", 6, 30}, {"SHA512", 8, 30}, {"SHA256", 8, 60}, {"SHA1", 6, 60},
  };
  int n = 0;
  for (const auto& c : cases) {
    const std::string tag =
        c.algorithm + "-" + std::to_string(c.digits) + "-" + std::to_string(c.period);
    SCOPED_TRACE(tag);
    const std::string name = "totp-" + tag;
    const std::string seed = Seed(tag);
    const std::vector<std::string> codes = BackupCodes("bk" + std::to_string(n), n);
    json body = {{"type", "TOTP"},
                 {"data", {{"secret", seed}, {"backupCodes", codes}}},
                 {"metadata",
                  {{"issuer", "ACME"},
                   {"account", "agent@example.com"},
                   {"algorithm", c.algorithm},
                   {"digits", c.digits},
                   {"period", c.period}}}};
    HttpResponse put = Put(name, body);
    ASSERT_EQ(put.status, 200) << put.body;
    ExpectNoSecretIn(put.body, seed, codes);

    TotpSample s = SampleTotp(*client_, key_, name, c.algorithm, c.digits, c.period, seed);
    ExpectTotpMatches(s, c.digits, c.period, codes.size());
    ExpectNoSecretIn(s.response.body, seed, codes);

    HttpResponse got = Get(name);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(Body(got)["data"], (json{{"secret", "[REDACTED]"},
                                       {"backupCodes", codes},
                                       {"usedBackupCodes", json::array()}}));
    EXPECT_EQ(got.body.find(seed), std::string::npos);
    ++n;
  }
}

TEST_F(TotpE2eTest, DefaultsAreSha1SixDigitsThirtySeconds) {
  const std::string seed = Seed("defaults");
  ASSERT_EQ(Put("totp-defaults", {{"type", "TOTP"}, {"data", {{"secret", seed}}}}).status, 200);
  ExpectTotpMatches(SampleTotp(*client_, key_, "totp-defaults", "SHA1", 6, 30, seed), 6, 30, 0);
}

TEST_F(TotpE2eTest, LoginWithTotpSeedWorksLikeATotpCredential) {
  const std::string seed = Seed("login-2fa");
  json body = {{"type", "LOGIN"},
               {"data", {{"password", "pw-login-2fa"}, {"totp", seed}, {"backupCodes", {"lb-1"}}}},
               {"metadata", {{"uri", "https://example.com"}, {"username", "agent"}}}};
  ASSERT_EQ(Put("login-2fa", body).status, 200);
  TotpSample s = SampleTotp(*client_, key_, "login-2fa", "SHA1", 6, 30, seed);
  ExpectTotpMatches(s, 6, 30, 1);
  ExpectNoSecretIn(s.response.body, seed, {"lb-1", "pw-login-2fa"});

  json got = Body(Get("login-2fa"));
  EXPECT_EQ(got["data"]["totp"], "[REDACTED]");
  EXPECT_EQ(got["data"]["password"], "pw-login-2fa");

  // A 2FA login may carry its provider's backup codes too.
  HttpResponse pop = Pop("login-2fa");
  ASSERT_EQ(pop.status, 200) << pop.body;
  EXPECT_EQ(Body(pop), (json{{"code", "lb-1"}, {"remaining", 0}, {"backupCodesRemaining", 0}}));
  ExpectError(Pop("login-2fa"), 409, "no_backup_codes");
}

TEST_F(TotpE2eTest, OtpauthUriIsImported) {
  const std::string seed = Seed("otpauth");
  const std::string uri = "otpauth://totp/ACME%20Co:alice@example.com?secret=" + seed +
                          "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60";
  json body = {{"type", "TOTP"}, {"data", {{"otpauthUri", uri}, {"backupCodes", {"ou-1"}}}}};
  HttpResponse put = Put("otpauth", body);
  ASSERT_EQ(put.status, 200) << put.body;
  ExpectNoSecretIn(put.body, seed, {"ou-1"});
  json expected_metadata = {{"issuer", "ACME Co"},
                            {"account", "alice@example.com"},
                            {"algorithm", "SHA256"},
                            {"digits", 8},
                            {"period", 60}};
  EXPECT_EQ(Body(put)["metadata"], expected_metadata);

  HttpResponse got = Get("otpauth");
  ASSERT_EQ(got.status, 200) << got.body;
  json full = Body(got);
  // Parsed into the seed, not stored as given.
  EXPECT_EQ(full["data"], (json{{"secret", "[REDACTED]"},
                                {"backupCodes", {"ou-1"}},
                                {"usedBackupCodes", json::array()}}));
  EXPECT_EQ(full["metadata"], expected_metadata);
  EXPECT_EQ(got.body.find(seed), std::string::npos);
  EXPECT_EQ(got.body.find("otpauth://"), std::string::npos);

  ExpectTotpMatches(SampleTotp(*client_, key_, "otpauth", "SHA256", 8, 60, seed), 8, 60, 1);

  // Metadata the caller gives wins over the URI's; a minimal URI takes the defaults.
  const std::string seed2 = Seed("otpauth-2");
  json body2 = {{"type", "TOTP"},
                {"data", {{"otpauthUri", "otpauth://totp/bob?secret=" + seed2}}},
                {"metadata", {{"issuer", "Mine"}}}};
  ASSERT_EQ(Put("otpauth-2", body2).status, 200);
  json full2 = Body(Get("otpauth-2"));
  EXPECT_EQ(full2["metadata"]["issuer"], "Mine");
  EXPECT_EQ(full2["data"], (json{{"secret", "[REDACTED]"},
                                 {"backupCodes", json::array()},
                                 {"usedBackupCodes", json::array()}}));
  ExpectTotpMatches(SampleTotp(*client_, key_, "otpauth-2", "SHA1", 6, 30, seed2), 6, 30, 0);

  const std::vector<std::string> bad_uris = {
      "https://example.com/?secret=" + seed,
      "otpauth://hotp/ACME:bob?secret=" + seed + "&counter=1",
      "otpauth://totp/ACME:bob",                         // no secret
      "otpauth://totp/ACME:bob?secret=NOT*BASE32!",      // bad seed
      "otpauth://totp/ACME:bob?secret=GEZDGNBVGY3TQOI",  // 72 bits
      "otpauth://totp/ACME:bob?secret=" + seed + "&algorithm=MD5",
      "otpauth://totp/ACME:bob?secret=" + seed + "&digits=7",
      "otpauth://totp/ACME:bob?secret=" + seed + "&period=0",
      "otpauth://totp/ACME:bob?secret=" + seed + "&secret=" + seed,
      "not a uri",
  };
  for (const auto& bad : bad_uris) {
    SCOPED_TRACE(bad);
    HttpResponse r = Put("otpauth-bad", {{"type", "TOTP"}, {"data", {{"otpauthUri", bad}}}});
    ExpectError(r, 400, "invalid_otpauth_uri");
    EXPECT_EQ(r.body.find(seed), std::string::npos) << r.body;
  }
  // Both a secret and a URI.
  ExpectError(
      Put("otpauth-bad",
          {{"type", "TOTP"},
           {"data", {{"secret", seed}, {"otpauthUri", "otpauth://totp/x?secret=" + seed}}}}),
      400, "invalid_otpauth_uri");
  ExpectError(Get("otpauth-bad"), 404, "not_found");  // nothing stored
}

TEST_F(TotpE2eTest, BadTotpInputHasSpecificCodes) {
  const std::string seed = Seed("bad-input");
  auto totp = [&](const json& data, const json& metadata) {
    json body = {{"type", "TOTP"}, {"data", data}};
    if (!metadata.is_null()) body["metadata"] = metadata;
    return Put("bad-totp", body);
  };
  ExpectError(totp({{"secret", "JBSWY3DP!EHPK3PX"}}, nullptr), 400, "invalid_totp_secret");
  ExpectError(totp({{"secret", "JBSWY3DPEHPK3PX1"}}, nullptr), 400, "invalid_totp_secret");
  // 9 bytes = 72 bits, under the 80-bit minimum of SPEC 3.
  ExpectError(totp({{"secret", "GEZDGNBVGY3TQOI"}}, nullptr), 400, "invalid_totp_secret");
  ExpectError(totp({{"secret", seed}}, {{"algorithm", "MD5"}}), 400, "invalid_totp_algorithm");
  ExpectError(totp({{"secret", seed}}, {{"digits", 7}}), 400, "invalid_totp_digits");
  ExpectError(totp({{"secret", seed}}, {{"period", 0}}), 400, "invalid_totp_period");
  ExpectError(totp({{"secret", seed}}, {{"period", -30}}), 400, "invalid_totp_period");
  // data.totp on another type is a seed too.
  ExpectError(Put("bad-totp", {{"type", "LOGIN"}, {"data", {{"password", "p"}, {"totp", "x!"}}}}),
              400, "invalid_totp_secret");
  ExpectError(Get("bad-totp"), 404, "not_found");  // nothing stored

  // Exactly 80 bits is enough.
  ASSERT_EQ(totp({{"secret", "GEZDGNBVGY3TQOJQ"}}, nullptr).status, 200);
  ExpectTotpMatches(SampleTotp(*client_, key_, "bad-totp", "SHA1", 6, 30, "GEZDGNBVGY3TQOJQ"), 6,
                    30, 0);
  // A rejected replacement leaves the stored credential alone.
  ExpectError(totp({{"secret", seed}}, {{"digits", 7}}), 400, "invalid_totp_digits");
  EXPECT_EQ(Body(Get("bad-totp"))["version"], 1);

  // No seed: not_totp; no codes: no_backup_codes.
  ASSERT_EQ(Put("plain-key", {{"type", "API_KEY"}, {"data", {{"key", "k"}}}}).status, 200);
  ExpectError(Totp("plain-key"), 400, "not_totp");
  ExpectError(Pop("plain-key"), 400, "not_totp");
  ExpectError(Pop("bad-totp"), 409, "no_backup_codes");
  ASSERT_EQ(totp({{"secret", seed}, {"backupCodes", json::array()}}, nullptr).status, 200);
  ExpectError(Pop("bad-totp"), 409, "no_backup_codes");
  ExpectError(Totp("no-such-credential"), 404, "not_found");
  ExpectError(Pop("no-such-credential"), 404, "not_found");
}

TEST_F(TotpE2eTest, PutReplacingATotpCredentialKeepsWhatTheCallerSends) {
  const std::string name = "replace-totp";
  const std::string seed1 = Seed("replace-1");
  ASSERT_EQ(Put(name, {{"type", "TOTP"},
                       {"data", {{"secret", seed1}, {"backupCodes", {"r-a", "r-b", "r-c"}}}},
                       {"metadata", {{"digits", 8}, {"algorithm", "SHA256"}}}})
                .status,
            200);
  ASSERT_EQ(Body(Pop(name))["code"], "r-a");

  // New codes as sent; the old used list is not carried over.
  const std::string seed2 = Seed("replace-2");
  HttpResponse replaced =
      Put(name, {{"type", "TOTP"}, {"data", {{"secret", seed2}, {"backupCodes", {"r-x", "r-y"}}}}});
  ASSERT_EQ(replaced.status, 200) << replaced.body;
  EXPECT_EQ(Body(replaced)["created"], false);
  EXPECT_EQ(Body(replaced)["version"], 3);
  json full = Body(Get(name));
  EXPECT_EQ(full["data"], (json{{"secret", "[REDACTED]"},
                                {"backupCodes", {"r-x", "r-y"}},
                                {"usedBackupCodes", json::array()}}));
  EXPECT_TRUE(full["metadata"].is_null());
  ExpectTotpMatches(SampleTotp(*client_, key_, name, "SHA1", 6, 30, seed2), 6, 30, 2);

  // Both lists as sent, used ones included.
  ASSERT_EQ(
      Put(name,
          {{"type", "TOTP"},
           {"data",
            {{"secret", seed2}, {"backupCodes", {"r-p"}}, {"usedBackupCodes", {"r-q", "r-a"}}}}})
          .status,
      200);
  EXPECT_EQ(Body(Get(name))["data"], (json{{"secret", "[REDACTED]"},
                                           {"backupCodes", {"r-p"}},
                                           {"usedBackupCodes", {"r-q", "r-a"}}}));
  EXPECT_EQ(Body(Pop(name)),
            (json{{"code", "r-p"}, {"remaining", 0}, {"backupCodesRemaining", 0}}));
  EXPECT_EQ(Body(Get(name))["data"]["usedBackupCodes"], (json{"r-q", "r-a", "r-p"}));

  // Replacing without codes drops them.
  ASSERT_EQ(Put(name, {{"type", "TOTP"}, {"data", {{"secret", seed2}}}}).status, 200);
  EXPECT_EQ(Body(Get(name))["data"], (json{{"secret", "[REDACTED]"},
                                           {"backupCodes", json::array()},
                                           {"usedBackupCodes", json::array()}}));
  ExpectError(Pop(name), 409, "no_backup_codes");
}

}  // namespace
}  // namespace strongroom::totp_e2e
