// End-to-end tests of `strongroom serve --config` and the admin commands in
// config mode (SPEC 8, 9): the key ceremony script provisions a throwaway
// SoftHSM2 token directory, and this file's own small process helper runs the
// server. The dev mode and command-line tests are in app_test.cc.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/app/app_test_util.h"
#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::app {
namespace {

using testing::CommandOutput;
using ::testing::HasSubstr;
using testing::HttpClient;
using testing::HttpResponse;
using ::testing::Not;
using testing::RunCommand;
using ::testing::StartsWith;
using testing::StrongroomBinary;
using testing::TempDir;

// --- config mode -------------------------------------------------------------------

// A SoftHSM2 token directory of its own, with the PINs in this process's
// environment (children inherit them), provisioned by ops/key-ceremony.sh.
class ConfigModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string hsm_dir = root_.path() + "/hsm";
    std::filesystem::create_directories(hsm_dir + "/tokens");
    WriteFile(hsm_dir + "/softhsm2.conf", "directories.tokendir = " + hsm_dir +
                                              "/tokens\nobjectstore.backend = file\n"
                                              "log.level = ERROR\n");
    ::setenv("SOFTHSM2_CONF", (hsm_dir + "/softhsm2.conf").c_str(), 1);
    ::setenv("STRONGROOM_HSM_PIN", kPin, 1);
    ::setenv("STRONGROOM_HSM_SO_PIN", "so-pin-for-tests-1", 1);
  }

  // Runs the key ceremony for token `token` and key `key`.
  void Ceremony(const std::string& token, const std::string& key) {
    const char* source = std::getenv("STRONGROOM_SOURCE_DIR");
    if (source == nullptr) source = STRONGROOM_SOURCE_DIR_DEFAULT;
    CommandOutput out = RunCommand({"/bin/bash", std::string(source) + "/ops/key-ceremony.sh",
                                    "--token-label", token, "--key-label", key});
    ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
    EXPECT_THAT(out.out + out.err, Not(HasSubstr(kPin)));
  }

  // Writes a config and returns its path.
  std::string Config(const std::string& token, const std::string& key,
                     const std::string& pin_line = "pin_env = \"STRONGROOM_HSM_PIN\"",
                     const std::string& extra_server = "") {
    const std::string path = root_.path() + "/strongroom.toml";
    WriteFile(path, "[server]\nlisten = \"127.0.0.1:0\"\nthreads = 2\n" + extra_server +
                        "[store]\nbackend = \"sqlite\"\npath = \"vault.db\"\n"
                        "[hsm]\nmodule = \"" +
                        std::string(kModule) + "\"\ntoken_label = \"" + token + "\"\n" + pin_line +
                        "\nmaster_key_label = \"" + key + "\"\n");
    return path;
  }

  static constexpr char kPin[] = "user-pin-for-tests-7319";
  TempDir root_;
};

// A `strongroom serve --config` child: stdout read until the listening line.
class ConfigServer {
 public:
  ~ConfigServer() { Stop(); }

  bool Start(const std::vector<std::string>& args, std::string* error) {
    int out_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) return false;
    stderr_path_ = std::filesystem::temp_directory_path() /
                   ("sr-app-serve-" + std::to_string(::getpid()) + ".stderr");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out_pipe[1], 1);
      const int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(err, 2);
      std::vector<std::string> argv = {StrongroomBinary(), "serve"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> raw;
      for (std::string& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      ::execv(raw[0], raw.data());
      ::_exit(127);
    }
    ::close(out_pipe[1]);
    fd_ = out_pipe[0];
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string buffer;
    static const std::regex kListening(R"(strongroom: listening on http://127\.0\.0\.1:(\d+))");
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char chunk[512];
      const ssize_t n = ::read(fd_, chunk, sizeof(chunk));
      if (n <= 0) break;
      buffer.append(chunk, static_cast<std::size_t>(n));
      std::smatch m;
      if (std::regex_search(buffer, m, kListening)) {
        port_ = std::stoi(m[1]);
        return true;
      }
    }
    *error = "server did not report listening; stdout: " + buffer + " stderr: " + StderrText();
    return false;
  }

  int Stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    std::filesystem::remove(stderr_path_);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string StderrText() const {
    std::ifstream in(stderr_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string stderr_path_;
};

TEST_F(ConfigModeTest, KeyCeremonyAdminServePutGet) {
  Ceremony("app-e2e", "master-e2e");
  const std::string config = Config("app-e2e", "master-e2e");

  CommandOutput identity = Strongroom({"admin", "--config", config, "identity", "create", "agent"});
  ASSERT_EQ(identity.exit_code, 0) << identity.err;
  CommandOutput key = Strongroom({"admin", "--config", config, "key", "create", "--identity",
                                  "agent", "--scope", "vault:read", "--scope", "vault:write"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string api_key = key.LastLine();
  ASSERT_THAT(api_key, StartsWith("sr_"));
  // The relative store path resolves next to the config file.
  EXPECT_TRUE(std::filesystem::exists(root_.path() + "/vault.db"));

  ConfigServer server;
  std::string error;
  ASSERT_TRUE(server.Start({"--config", config}, &error)) << error;
  HttpClient client(server.base_url());
  HttpResponse put = client.PutJson("/v0/vault/stripe", kStripeBody, api_key);
  ASSERT_EQ(put.status, 200) << put.body;
  HttpResponse get = client.Get("/v0/vault/stripe", api_key);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_THAT(get.body, HasSubstr("sk_live_app_test_51Hx"));
  HttpResponse list = client.Get("/v0/vault", api_key);
  EXPECT_EQ(list.status, 200);
  EXPECT_THAT(list.body, HasSubstr("\"count\":1"));
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ConfigModeTest, PinFromFileAndListenOverride) {
  Ceremony("app-pinfile", "master-pinfile");
  WriteFile(root_.path() + "/pin", std::string(kPin) + "\n", 0600);
  const std::string config = Config("app-pinfile", "master-pinfile", "pin_file = \"pin\"");
  ::unsetenv("STRONGROOM_HSM_PIN");
  ConfigServer server;
  std::string error;
  ASSERT_TRUE(
      server.Start({"--config", config, "--listen", "127.0.0.1:0", "--threads", "1"}, &error))
      << error;
  HttpClient client(server.base_url());
  EXPECT_EQ(client.Get("/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
}

TEST_F(ConfigModeTest, WorldReadablePinFileIsRefused) {
  WriteFile(root_.path() + "/pin", std::string(kPin) + "\n", 0644);
  const std::string config = Config("app-unused", "k", "pin_file = \"pin\"");
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr("chmod 600"));
  EXPECT_THAT(out.err, Not(HasSubstr(kPin)));
}

TEST_F(ConfigModeTest, WrongPinFailsWithOneLine) {
  Ceremony("app-wrongpin", "master-wrongpin");
  const std::string config = Config("app-wrongpin", "master-wrongpin");
  ::setenv("STRONGROOM_HSM_PIN", "not-the-pin-0000", 1);
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, Not(HasSubstr("not-the-pin-0000")));
  EXPECT_THAT(out.err, Not(HasSubstr(kPin)));
  EXPECT_THAT(out.out, Not(HasSubstr("listening")));
}

TEST_F(ConfigModeTest, MissingPinEnvIsNamed) {
  const std::string config = Config("app-unused", "k", "pin_env = \"SR_APP_TEST_NO_SUCH_PIN\"");
  ::unsetenv("SR_APP_TEST_NO_SUCH_PIN");
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr("SR_APP_TEST_NO_SUCH_PIN"));
}

TEST_F(ConfigModeTest, MissingMasterKeyNamesModuleTokenAndLabel) {
  Ceremony("app-nokey", "master-present");
  const std::string config = Config("app-nokey", "master-absent");
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr(kModule));
  EXPECT_THAT(out.err, HasSubstr("app-nokey"));
  EXPECT_THAT(out.err, HasSubstr("master-absent"));
  // Config mode never creates keys: a second attempt fails the same way.
  ExpectFailure(Strongroom({"serve", "--config", config}), 1);
  ExpectFailure(Strongroom({"admin", "--config", config, "identity", "create", "x"}), 1);
}

TEST_F(ConfigModeTest, MissingTokenIsAnError) {
  const std::string config = Config("app-no-such-token", "k");
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr("app-no-such-token"));
}

TEST_F(ConfigModeTest, BadConfigKeyNamesFileAndKey) {
  const std::string config = Config("t", "k", "pin_env = \"STRONGROOM_HSM_PIN\"", "lissen = 1\n");
  CommandOutput out = Strongroom({"serve", "--config", config});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr(config + ": server.lissen: unknown key"));

  WriteFile(config, "[server]\nthreads = 0\n[store]\npath = \"v.db\"\n[hsm]\npin_env = \"P\"\n");
  CommandOutput threads = Strongroom({"serve", "--config", config});
  ExpectFailure(threads, 1);
  EXPECT_THAT(threads.err, HasSubstr(config + ": server.threads: must be between 1 and 256"));

  WriteFile(config, "[server]\nthreads = [\n");
  CommandOutput syntax = Strongroom({"serve", "--config", config});
  ExpectFailure(syntax, 1);
  EXPECT_THAT(syntax.err, HasSubstr(config + ":"));
  EXPECT_THAT(syntax.err, HasSubstr("TOML syntax error"));

  CommandOutput missing = Strongroom({"serve", "--config", root_.path() + "/nope.toml"});
  ExpectFailure(missing, 1);
  EXPECT_THAT(missing.err, HasSubstr(root_.path() + "/nope.toml"));
}

TEST_F(ConfigModeTest, UnreachableMysqlIsAOneLineErrorWithoutThePassword) {
  const std::string path = root_.path() + "/mysql.toml";
  WriteFile(path,
            "[store]\nbackend = \"mysql\"\nurl = \"tcp://127.0.0.1:1\"\nuser = \"u\"\n"
            "database = \"d\"\npassword_env = \"SR_APP_TEST_DB_PASSWORD\"\n"
            "[hsm]\npin_env = \"STRONGROOM_HSM_PIN\"\n");
  ::setenv("SR_APP_TEST_DB_PASSWORD", "db-pass-never-shown-42", 1);
  CommandOutput out = Strongroom({"admin", "--config", path, "identity", "list"});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, Not(HasSubstr("db-pass-never-shown-42")));

  ::unsetenv("SR_APP_TEST_DB_PASSWORD");
  CommandOutput unset = Strongroom({"admin", "--config", path, "identity", "list"});
  ExpectFailure(unset, 1);
  EXPECT_THAT(unset.err, HasSubstr("SR_APP_TEST_DB_PASSWORD"));
}

}  // namespace
}  // namespace strongroom::app
