// End-to-end tests of issue 3 (TOTP codes and atomic backup-code consumption)
// against the real `strongroom serve --dev` process.
//
// Codes are checked against oathtool (Debian package oathtool), an independent
// RFC 6238 implementation, for the same seed, options and time step.
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

#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom {
namespace {

using nlohmann::json;
using testing::CommandOutput;
using testing::HttpClient;
using testing::HttpResponse;
using testing::RunCommand;
using testing::ServerProcess;
using testing::TempDir;

json Body(const HttpResponse& r) { return json::parse(r.body, nullptr, false); }

// Asserts the SPEC 5 error shape exactly.
void ExpectError(const HttpResponse& r, long status, const std::string& error) {
  EXPECT_EQ(r.status, status) << r.body;
  json body = Body(r);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body.size(), 2u) << r.body;
  EXPECT_EQ(body["error"], error) << r.body;
  EXPECT_TRUE(body["message"].is_string()) << r.body;
}

// Full path of `program` found on PATH, or "".
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `oathtool --totp=ALG --digits=N --time-step-size=Ps --now=@T -b SEED`: the
// reference code for the time step that contains unix time `at`.
std::string OathtoolCode(const std::string& algorithm, int digits, int period,
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

TotpSample SampleTotp(HttpClient& client, const std::string& key, const std::string& name,
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
void ExpectTotpMatches(const TotpSample& s, int digits, int period,
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
std::string Base32(const std::string& bytes) {
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
std::string Seed(const std::string& tag) {
  std::string bytes = tag + "#strongroom-seed-0123456789";
  bytes.resize(20, '#');
  return Base32(bytes);
}

std::vector<std::string> BackupCodes(const std::string& prefix, int count) {
  std::vector<std::string> codes;
  for (int i = 0; i < count; ++i) codes.push_back(prefix + "-" + std::to_string(1000 + i));
  return codes;
}

void ExpectNoSecretIn(const std::string& body, const std::string& seed,
                      const std::vector<std::string>& backup_codes) {
  EXPECT_EQ(body.find(seed), std::string::npos) << body;
  for (const auto& code : backup_codes) EXPECT_EQ(body.find(code), std::string::npos) << code;
}

std::vector<std::string> Strings(const json& array) {
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

  static TempDir* root_;
  static ServerProcess* server_;
  static bool started_;
  static std::string start_error_;
  std::unique_ptr<HttpClient> client_;
  std::string key_;
};
TempDir* TotpE2eTest::root_ = nullptr;
ServerProcess* TotpE2eTest::server_ = nullptr;
bool TotpE2eTest::started_ = false;
std::string TotpE2eTest::start_error_;

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

TEST_F(TotpE2eTest, SixtyFourConcurrentPopsHandOutFiftyCodesOnce) {
  const std::string name = "pop-race";
  const std::string seed = Seed("pop-race");
  const std::vector<std::string> codes = BackupCodes("race", 50);
  json body = {{"type", "TOTP"},
               {"data", {{"secret", seed}, {"backupCodes", codes}}},
               {"metadata", {{"issuer", "ACME"}, {"algorithm", "SHA512"}, {"digits", 8}}}};
  ASSERT_EQ(Put(name, body).status, 200);
  HttpResponse before_response = Get(name);
  ASSERT_EQ(before_response.status, 200);
  const json before = Body(before_response);

  constexpr int kClients = 64;
  std::vector<HttpResponse> responses(kClients);
  std::latch ready(kClients);
  std::vector<std::thread> threads;
  const std::string base = server_->base_url();
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      HttpClient client(base);  // its own connection
      ready.arrive_and_wait();
      responses[i] = client.Post("/v0/vault/" + name + "/totp/backup", key_);
    });
  }
  for (auto& t : threads) t.join();

  std::map<int, std::string> by_remaining;  // remaining -> code
  std::set<std::string> handed_out;
  int conflicts = 0;
  for (const auto& r : responses) {
    if (r.status == 409) {
      ExpectError(r, 409, "no_backup_codes");
      ++conflicts;
      continue;
    }
    ASSERT_EQ(r.status, 200) << r.error << r.body;
    json b = Body(r);
    ASSERT_EQ(b.size(), 3u) << r.body;
    ASSERT_TRUE(b["code"].is_string()) << r.body;
    ASSERT_TRUE(b["remaining"].is_number_integer()) << r.body;
    EXPECT_EQ(b["backupCodesRemaining"], b["remaining"]) << r.body;
    EXPECT_TRUE(handed_out.insert(b["code"].get<std::string>()).second)
        << "handed out twice: " << r.body;
    EXPECT_TRUE(by_remaining.emplace(b["remaining"].get<int>(), b["code"]).second)
        << "remaining repeated: " << r.body;
  }
  EXPECT_EQ(handed_out.size(), 50u);
  EXPECT_EQ(conflicts, 14);
  EXPECT_EQ(handed_out, std::set<std::string>(codes.begin(), codes.end()));

  // Hand-out order: remaining 49 came first, 0 last.
  std::vector<std::string> order;
  for (auto it = by_remaining.rbegin(); it != by_remaining.rend(); ++it) {
    order.push_back(it->second);
  }
  ASSERT_EQ(by_remaining.size(), 50u);
  EXPECT_EQ(by_remaining.begin()->first, 0);
  EXPECT_EQ(by_remaining.rbegin()->first, 49);
  EXPECT_EQ(order, codes);  // the first unused code is always the one taken

  HttpResponse after_response = Get(name);
  ASSERT_EQ(after_response.status, 200) << after_response.body;
  const json after = Body(after_response);
  EXPECT_EQ(after["data"]["backupCodes"], json::array());
  EXPECT_EQ(Strings(after["data"]["usedBackupCodes"]), order);
  EXPECT_EQ(after["data"]["secret"], "[REDACTED]");
  EXPECT_EQ(after["data"].size(), 3u) << after["data"].dump();
  for (const char* field :
       {"credentialId", "name", "type", "metadata", "expiresAt", "createdAt", "lastRotatedAt"}) {
    EXPECT_EQ(after[field], before[field]) << field;
  }
  EXPECT_EQ(after["version"], before["version"].get<int>() + 50);
  EXPECT_GE(after["updatedAt"].get<std::string>(), before["updatedAt"].get<std::string>());

  // The seed survived 50 re-encryptions.
  TotpSample s = SampleTotp(*client_, key_, name, "SHA512", 8, 30, seed);
  ExpectTotpMatches(s, 8, 30, 0);
  ExpectError(Pop(name), 409, "no_backup_codes");
}

TEST(TotpE2eCrashTest, Kill9MidPopBurstNeverLosesOrDuplicatesACode) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const std::string key = server.dev_key();
  const std::string name = "pop-crash";
  const std::vector<std::string> codes = BackupCodes("crash", 200);
  {
    HttpClient client(server.base_url());
    HttpResponse put = client.PutJson(
        "/v0/vault/" + name,
        json{{"type", "TOTP"}, {"data", {{"secret", Seed("crash")}, {"backupCodes", codes}}}}
            .dump(),
        key);
    ASSERT_EQ(put.status, 200) << put.body;
  }

  std::mutex mu;
  std::vector<json> acknowledged;  // 200 bodies received before the kill
  std::atomic<bool> stop{false};
  std::atomic<int> total{0};
  std::atomic<int> unexpected{0};
  std::vector<std::thread> poppers;
  const std::string base = server.base_url();
  for (int t = 0; t < 8; ++t) {
    poppers.emplace_back([&] {
      HttpClient client(base);
      while (!stop) {
        HttpResponse r = client.Post("/v0/vault/" + name + "/totp/backup", key);
        if (r.status == 200) {
          std::lock_guard<std::mutex> lock(mu);
          acknowledged.push_back(Body(r));
          ++total;
        } else if (r.status == 0) {
          return;  // the server is gone
        } else {
          ++unexpected;  // 409 cannot happen before 200 pops
          return;
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total < 60 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  server.Kill9();
  stop = true;
  for (auto& p : poppers) p.join();
  EXPECT_EQ(unexpected.load(), 0);
  ASSERT_GT(total.load(), 0);
  ASSERT_LT(total.load(), 200) << "the burst ended before the kill";

  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient client(server.base_url());
  HttpResponse got = client.Get("/v0/vault/" + name, key);
  ASSERT_EQ(got.status, 200) << got.body;
  json full = Body(got);
  const std::vector<std::string> used = Strings(full["data"]["usedBackupCodes"]);
  const std::vector<std::string> unused = Strings(full["data"]["backupCodes"]);

  // Never lost, never duplicated, never both used and unused.
  std::vector<std::string> all = used;
  all.insert(all.end(), unused.begin(), unused.end());
  std::vector<std::string> sorted_all = all;
  std::sort(sorted_all.begin(), sorted_all.end());
  std::vector<std::string> sorted_codes = codes;
  std::sort(sorted_codes.begin(), sorted_codes.end());
  EXPECT_EQ(sorted_all, sorted_codes);
  // And in order: the used ones are a prefix of the original list.
  EXPECT_EQ(all, codes);

  // Every acknowledged code is used, at the place its `remaining` says; a pop
  // that committed just before the kill may be used without an acknowledgement.
  const std::set<std::string> used_set(used.begin(), used.end());
  EXPECT_GE(used.size(), acknowledged.size());
  for (const auto& ack : acknowledged) {
    const std::string code = ack["code"];
    const int remaining = ack["remaining"];
    EXPECT_TRUE(used_set.count(code) == 1) << code;
    EXPECT_EQ(code, codes[static_cast<std::size_t>(199 - remaining)]);
  }
  // Data and version move together: one write per pop.
  EXPECT_EQ(full["version"], 1 + used.size());

  // Popping resumes where it stopped.
  if (!unused.empty()) {
    json next = Body(client.Post("/v0/vault/" + name + "/totp/backup", key));
    EXPECT_EQ(next["code"], unused.front());
    EXPECT_EQ(next["remaining"], unused.size() - 1);
  }
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

TEST_F(TotpE2eTest, TotpAndPopSetLastUsedAt) {
  const std::string seed = Seed("last-used");
  ASSERT_EQ(
      Put("last-used", {{"type", "TOTP"}, {"data", {{"secret", seed}, {"backupCodes", {"lu-1"}}}}})
          .status,
      200);
  EXPECT_TRUE(Listed("last-used")["lastUsedAt"].is_null());
  ASSERT_EQ(Totp("last-used").status, 200);
  json after_totp = Listed("last-used")["lastUsedAt"];
  ASSERT_TRUE(after_totp.is_string()) << after_totp.dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(Pop("last-used").status, 200);
  json after_pop = Listed("last-used")["lastUsedAt"];
  ASSERT_TRUE(after_pop.is_string()) << after_pop.dump();
  EXPECT_GT(after_pop.get<std::string>(), after_totp.get<std::string>());
}

TEST_F(TotpE2eTest, ScopesIdentitiesAndExpiryGuardTotpAndPop) {
  const std::string seed = Seed("guarded");
  ASSERT_EQ(Put("guarded",
                {{"type", "TOTP"}, {"data", {{"secret", seed}, {"backupCodes", {"g-1", "g-2"}}}}})
                .status,
            200);
  // /totp needs vault:read, the pop vault:write (SPEC 4).
  const std::string reader = server_->CreateKey("dev", {"vault:read"});
  const std::string writer = server_->CreateKey("dev", {"vault:write"});
  ASSERT_FALSE(reader.empty());
  ASSERT_FALSE(writer.empty());
  EXPECT_EQ(client_->Get("/v0/vault/guarded/totp", reader).status, 200);
  ExpectError(client_->Post("/v0/vault/guarded/totp/backup", reader), 403, "insufficient_scope");
  ExpectError(client_->Get("/v0/vault/guarded/totp", writer), 403, "insufficient_scope");
  // Another identity cannot even detect the credential.
  ASSERT_EQ(server_->Admin({"identity", "create", "totp-other"}).exit_code, 0);
  const std::string other = server_->CreateKey("totp-other", {"vault:read", "vault:write"});
  ASSERT_FALSE(other.empty());
  ExpectError(client_->Get("/v0/vault/guarded/totp", other), 404, "not_found");
  ExpectError(client_->Post("/v0/vault/guarded/totp/backup", other), 404, "not_found");
  // None of that consumed a code.
  json full = Body(Get("guarded"));
  EXPECT_EQ(full["data"]["backupCodes"], (json{"g-1", "g-2"}));
  EXPECT_EQ(full["version"], 1);
  EXPECT_EQ(Body(client_->Post("/v0/vault/guarded/totp/backup", writer))["code"], "g-1");

  // Expired: 410 for both, and no code is consumed.
  ASSERT_EQ(Put("expired-totp", {{"type", "TOTP"},
                                 {"data", {{"secret", seed}, {"backupCodes", {"e-1"}}}},
                                 {"expiresAt", "2020-01-01T00:00:00Z"}})
                .status,
            200);
  ExpectError(Totp("expired-totp"), 410, "expired");
  ExpectError(Pop("expired-totp"), 410, "expired");
  json listed = Listed("expired-totp");
  EXPECT_EQ(listed["version"], 1);
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
}  // namespace strongroom
