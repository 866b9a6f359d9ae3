// SPEC 14 operations against the real binary: /metrics after traffic, the
// [limits] 429s and the [log] format = "json" lines.
//
// Metrics run on a dev-mode server (testing::ServerProcess). Limits and logs
// need a config: a dev-mode run first creates the SoftHSM2 token, PIN file and
// database, then `serve --config` runs on those same files.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom {
namespace {

using ::testing::HasSubstr;
using testing::HttpClient;
using ::testing::Not;
using testing::ServerProcess;
using testing::TempDir;

// The value of the sample `series` (name{labels} exactly as exposed), or -1.
double Sample(const std::string& metrics, const std::string& series) {
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::set<std::string> SeriesOf(const std::string& metrics, const std::string& name) {
  std::set<std::string> out;
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) == 0) out.insert(line.substr(0, line.rfind(' ')));
  }
  return out;
}

const char kCredentialRoute[] =
    "strongroom_requests_total{method=\"GET\",route=\"/v0/vault/:name\"";

TEST(OpsMetricsTest, EveryMetricCountersMoveExactlyAndLabelsAreBounded) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  HttpClient http(server.base_url());
  const std::string key = server.dev_key();
  const std::string name = "zq-distinctive-credential-name";
  ASSERT_EQ(http.PutJson("/v0/vault/" + name, R"({"type":"DATABASE","data":{"password":"v"}})", key)
                .status,
            200);
  const std::string ok_get = std::string(kCredentialRoute) + ",status=\"200\"}";
  const double before = std::max(0.0, Sample(http.Get("/metrics").body, ok_get));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(http.Get("/v0/vault/" + name, key).status, 200);
  ASSERT_EQ(http.Get("/v0/vault/" + name + "/totp", key).status, 400);
  ASSERT_EQ(http.Get("/v0/vault/zq-missing-name", key).status, 404);
  ASSERT_EQ(http.Get("/readyz").status, 200);

  std::string metrics = http.Get("/metrics").body;
  EXPECT_EQ(Sample(metrics, ok_get), before + 3);
  EXPECT_EQ(Sample(metrics, std::string(kCredentialRoute) + ",status=\"404\"}"), 1);
  for (const char* name_of_metric :
       {"strongroom_requests_total{", "strongroom_request_duration_seconds_bucket{",
        "strongroom_request_duration_seconds_count{route=\"/v0/vault/:name\"}",
        "strongroom_hsm_operations_total ", "strongroom_hsm_operation_duration_seconds_count ",
        "strongroom_key_cache_hits_total{level=\"kek\"}",
        "strongroom_key_cache_hits_total{level=\"dek\"}",
        "strongroom_key_cache_misses_total{level=\"kek\"}",
        "strongroom_key_cache_misses_total{level=\"dek\"}", "strongroom_store_errors_total 0",
        "strongroom_audit_events_total 0", "strongroom_build_info{commit=\""}) {
    EXPECT_THAT(metrics, HasSubstr(name_of_metric));
  }
  // Three warm GETs hit the DEK cache.
  EXPECT_GE(Sample(metrics, "strongroom_key_cache_hits_total{level=\"dek\"}"), 3);
  EXPECT_GT(Sample(metrics, "strongroom_hsm_operations_total"), 0);

  // Unknown paths (with names and key-id-like segments) collapse to one series.
  const std::size_t series = SeriesOf(metrics, "strongroom_requests_total").size();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(http.Get("/zq-unknown-" + std::to_string(i * 7919) + "/x").status, 404);
  }
  metrics = http.Get("/metrics").body;
  EXPECT_LE(SeriesOf(metrics, "strongroom_requests_total").size(), series + 1);
  EXPECT_EQ(Sample(metrics,
                   "strongroom_requests_total{method=\"GET\",route=\"other\","
                   "status=\"404\"}"),
            100);
  EXPECT_THAT(metrics, Not(HasSubstr("zq-")));
  EXPECT_THAT(metrics, Not(HasSubstr(key.substr(3, 16))));  // the key id
}

// A `strongroom serve --config FILE` child over the files of a dev-mode run.
class ConfigModeServer {
 public:
  explicit ConfigModeServer(const std::string& root) : root_(root) {}
  ~ConfigModeServer() { Stop(); }

  // Starts dev mode once (token, PIN, database, dev key), then config mode
  // with `extra_toml` appended to a config naming the same files.
  bool Start(const std::string& extra_toml, std::string* error) {
    ServerProcess dev(root_);
    if (!dev.Start(error)) return false;
    dev_key_ = dev.dev_key();
    const std::string data = dev.data_dir();
    dev.Stop();
    config_ = root_ + "/strongroom.toml";
    std::ofstream(config_) << "[server]\nlisten = \"127.0.0.1:0\"\n[store]\nbackend = \"sqlite\"\n"
                           << "path = \"" << data << "/vault.db\"\n[hsm]\n"
                           << "module = \"/usr/lib/softhsm/libsofthsm2.so\"\n"
                           << "token_label = \"strongroom-dev\"\npin_file = \"" << data
                           << "/hsm-pin\"\nmaster_key_label = \"strongroom-master\"\n"
                           << extra_toml;
    const std::string conf = data + "/softhsm2.conf";
    stderr_path_ = root_ + "/config-serve.stderr";
    int out[2];
    if (::pipe(out) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      if (std::FILE* err = std::fopen(stderr_path_.c_str(), "w")) ::dup2(::fileno(err), 2);
      ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
      const std::string bin = testing::StrongroomBinary();
      ::execl(bin.c_str(), bin.c_str(), "serve", "--config", config_.c_str(), nullptr);
      ::_exit(127);
    }
    ::close(out[1]);
    std::string text;
    char chunk[256];
    static const std::regex kListening(R"(listening on http://127\.0\.0\.1:(\d+))");
    std::smatch m;
    for (ssize_t n; (n = ::read(out[0], chunk, sizeof chunk)) > 0;) {
      text.append(chunk, static_cast<std::size_t>(n));
      if (std::regex_search(text, m, kListening)) {
        port_ = std::stoi(m[1]);
        break;
      }
    }
    out_fd_ = out[0];
    if (port_ == 0) *error = "no listening line: " + text + StderrText();
    return port_ != 0;
  }

  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    ::close(out_fd_);
    pid_ = -1;
  }

  std::string StderrText() const {
    std::ifstream in(stderr_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& dev_key() const { return dev_key_; }

 private:
  std::string root_, config_, stderr_path_, dev_key_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
};

TEST(OpsLimitsTest, AuthFailuresPerIpGet429WithRetryAfterBeforeAuthentication) {
  TempDir root;
  ConfigModeServer server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start("[limits]\nauth_failures_per_minute_per_ip = 3\n", &error)) << error;
  HttpClient http(server.base_url());
  const std::string bad = "sr_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(http.Get("/v0/vault/x", bad).status, 401);
  // Over the threshold: 429 even with the right key (no authentication is tried).
  const testing::HttpResponse limited = http.Get("/v0/vault/x", server.dev_key());
  EXPECT_EQ(limited.status, 429);
  EXPECT_THAT(limited.body, HasSubstr("\"error\":\"rate_limited\""));
  ASSERT_TRUE(limited.Header("retry-after"));
  const int retry = std::stoi(*limited.Header("retry-after"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  // Probes and /metrics need no key and are not limited.
  EXPECT_EQ(http.Get("/healthz").status, 200);
}

TEST(OpsLimitsTest, RequestsPerSecondPerIdentityRecoverAfterTheWindow) {
  TempDir root;
  ConfigModeServer server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start("[limits]\nrequests_per_second_per_identity = 2\n", &error)) << error;
  HttpClient http(server.base_url());
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 8; ++i) {
    const testing::HttpResponse response = http.Get("/v0/vault", server.dev_key());
    if (response.status == 429) {
      ++limited;
      retry_after = response.Header("retry-after").value_or("");
    } else {
      EXPECT_EQ(response.status, 200);
    }
  }
  // Eight requests in at most two one-second windows: at most four pass.
  EXPECT_GE(limited, 4);
  EXPECT_EQ(retry_after, "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(http.Get("/v0/vault", server.dev_key()).status, 200);
}

TEST(OpsJsonLogTest, EveryStderrLineIsJsonWithTheFieldsAndNoSecret) {
  TempDir root;
  ConfigModeServer server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start("[log]\nformat = \"json\"\n", &error)) << error;
  HttpClient http(server.base_url());
  const std::string secret = "zq-secret-value-8817";
  ASSERT_EQ(http.PutJson("/v0/vault/zq-log-name",
                         R"({"type":"DATABASE","data":{"password":")" + secret + R"("}})",
                         server.dev_key())
                .status,
            200);
  ASSERT_EQ(http.Get("/v0/vault/zq-log-name", server.dev_key()).status, 200);
  ASSERT_EQ(http.Get("/v0/vault/zq-log-name", "sr_bad\"\\key").status, 401);
  ASSERT_EQ(http.Get("/nowhere\"quoted").status, 404);
  server.Stop();  // flushes the buffered log
  const std::string text = server.StderrText();
  std::istringstream in(text);
  std::string line;
  int requests = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(entry.is_discarded()) << line;
    for (const char* field : {"time", "level", "msg"}) EXPECT_TRUE(entry.contains(field)) << line;
    if (entry["msg"] != "request") continue;
    ++requests;
    for (const char* field :
         {"requestId", "method", "route", "status", "duration_ms", "identity", "keyId"}) {
      EXPECT_TRUE(entry.contains(field)) << line;
    }
    EXPECT_EQ(entry["requestId"].get<std::string>().size(), 16u) << line;
  }
  EXPECT_GE(requests, 4);
  EXPECT_THAT(text, HasSubstr("\"route\":\"/v0/vault/:name\""));
  EXPECT_THAT(text, HasSubstr("\"route\":\"other\""));
  EXPECT_THAT(text, Not(HasSubstr(secret)));
  EXPECT_THAT(text, Not(HasSubstr(server.dev_key())));
  EXPECT_THAT(text, Not(HasSubstr("zq-log-name")));  // route templates, never the path
}

}  // namespace
}  // namespace strongroom
