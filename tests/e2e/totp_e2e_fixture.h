// Shared by the TOTP end-to-end tests (totp_e2e_test.cc, totp_e2e_backup_test.cc):
// oathtool as the reference RFC 6238 implementation, test seeds and backup
// codes, and one dev server shared by the tests that do not stop or crash it.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::totp_e2e {

using nlohmann::json;
using testing::CommandOutput;
using testing::HttpClient;
using testing::HttpResponse;
using testing::RunCommand;
using testing::ServerProcess;
using testing::TempDir;

inline json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

// Asserts the SPEC 5 error shape exactly.
inline void ExpectError(const HttpResponse& r, long status, const std::string& error) {
  EXPECT_EQ(r.status, status) << r.body;
  json body = Body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body.size(), 2u) << r.body;
  EXPECT_EQ(body["error"], error) << r.body;
  EXPECT_TRUE(body["message"].is_string()) << r.body;
}

// Full path of `program` found on PATH, or "".
inline std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

inline std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `oathtool --totp=ALG --digits=N --time-step-size=Ps --now=@T -b SEED`: the
// reference code for the time step that contains unix time `at`.
inline std::string OathtoolCode(const std::string& algorithm, int digits, int period,
                                const std::string& seed, std::int64_t at) {
  static const std::string oathtool = FindOnPath("oathtool");
  if (oathtool.empty()) {
    ADD_FAILURE() << "oathtool (Debian package oathtool) is required; ops/install-deps.sh "
                     "installs it";
    return "";
  }
  CommandOutput out =
      RunCommand({oathtool, "--totp=" + algorithm, "--digits=" + std::to_string(digits),
                  "--time-step-size=" + std::to_string(period) + "s",
                  "--now=@" + std::to_string(at), "-b", seed});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  return out.LastLine();
}

// One GET /totp whose request and response fell in one time step (retried once
// if the step rolled over meanwhile), with the oathtool code for that step.
struct TotpSample {
  HttpResponse response;
  json body;
  std::string expected;  // oathtool's code for the step
  std::int64_t before = 0;
  std::int64_t after = 0;
};

inline TotpSample SampleTotp(HttpClient& client, const std::string& key, const std::string& name,
                             const std::string& algorithm, int digits, int period,
                             const std::string& seed) {
  TotpSample s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    s.before = NowSeconds();
    s.response = client.Get("/v0/vault/" + name + "/totp", key);
    s.after = NowSeconds();
    if (s.before / period == s.after / period) break;
  }
  EXPECT_EQ(s.before / period, s.after / period) << "time step rolled over twice";
  s.body = Body(s.response);
  s.expected = OathtoolCode(algorithm, digits, period, seed, s.before);
  return s;
}

// Checks a /totp response against oathtool and the SPEC 5 body shape.
inline void ExpectTotpMatches(const TotpSample& s, int digits, int period,
                              std::size_t backup_codes_remaining) {
  ASSERT_EQ(s.response.status, 200) << s.response.body;
  ASSERT_TRUE(s.body.is_object()) << s.response.body;
  EXPECT_EQ(s.body.size(), 5u) << s.response.body;
  ASSERT_TRUE(s.body["code"].is_string()) << s.response.body;
  EXPECT_EQ(s.body["code"].get<std::string>().size(), static_cast<std::size_t>(digits));
  EXPECT_EQ(s.body["code"], s.expected) << s.response.body;
  ASSERT_TRUE(s.body["remaining"].is_number_integer()) << s.response.body;
  const int remaining = s.body["remaining"].get<int>();
  EXPECT_GE(remaining, 1);
  EXPECT_LE(remaining, period);
  // Seconds left in the step, as seen from this side of the connection.
  EXPECT_LE(remaining, period - static_cast<int>(s.before % period));
  EXPECT_GE(remaining, period - static_cast<int>(s.after % period));
  EXPECT_EQ(s.body["backupCodesRemaining"], backup_codes_remaining);
  EXPECT_EQ(s.body["digits"], digits);
  EXPECT_EQ(s.body["period"], period);
}

// Base32 (RFC 4648, no padding) of `bytes`; test seeds only.
inline std::string Base32(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

// A distinct 160-bit test seed per `tag`.
inline std::string Seed(const std::string& tag) {
  std::string bytes = tag + "#strongroom-seed-0123456789";
  bytes.resize(20, '#');
  return Base32(bytes);
}

inline std::vector<std::string> BackupCodes(const std::string& prefix, int count) {
  std::vector<std::string> codes;
  for (int i = 0; i < count; ++i) codes.push_back(prefix + "-" + std::to_string(1000 + i));
  return codes;
}

inline void ExpectNoSecretIn(const std::string& body, const std::string& seed,
                             const std::vector<std::string>& backup_codes) {
  EXPECT_EQ(body.find(seed), std::string::npos) << body;
  for (const auto& code : backup_codes) EXPECT_EQ(body.find(code), std::string::npos) << code;
}

inline std::vector<std::string> Strings(const json& array) {
  std::vector<std::string> out;
  if (!array.is_array()) return out;
  for (const auto& v : array) out.push_back(v.get<std::string>());
  return out;
}

// One dev server shared by the tests that do not stop or crash it.
class TotpE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = new TempDir();
    server_ = new ServerProcess(root_->path());
    if (!server_->Start(&start_error_)) return;
    started_ = true;
  }
  static void TearDownTestSuite() {
    delete server_;
    delete root_;
    server_ = nullptr;
    root_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(started_) << start_error_;
    client_ = std::make_unique<HttpClient>(server_->base_url());
    key_ = server_->dev_key();
    ASSERT_FALSE(key_.empty());
  }

  HttpResponse Put(const std::string& name, const json& body) {
    return client_->PutJson("/v0/vault/" + name, body.dump(), key_);
  }
  HttpResponse Get(const std::string& name) { return client_->Get("/v0/vault/" + name, key_); }
  HttpResponse Totp(const std::string& name) {
    return client_->Get("/v0/vault/" + name + "/totp", key_);
  }
  HttpResponse Pop(const std::string& name) {
    return client_->Post("/v0/vault/" + name + "/totp/backup", key_);
  }
  // The list entry (summary) of `name`; list is not a use.
  json Listed(const std::string& name) {
    json listed = Body(client_->Get("/v0/vault?limit=1000", key_));
    for (const auto& c : listed["credentials"]) {
      if (c["name"] == name) return c;
    }
    return json();
  }

  static inline TempDir* root_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
  static inline bool started_ = false;
  static inline std::string start_error_;
  std::unique_ptr<HttpClient> client_;
  std::string key_;
};

}  // namespace strongroom::totp_e2e
