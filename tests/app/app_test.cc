// End-to-end tests of the `strongroom` command line (SPEC 8, 9): the real binary
// (STRONGROOM_BIN), its exit codes, its stdout contract and its stderr reasons.
// Dev mode runs through testing::ServerProcess; config mode is tested in
// app_config_test.cc.
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
using testing::ServerProcess;
using ::testing::StartsWith;
using testing::StrongroomBinary;
using testing::TempDir;

// --- command line and usage errors ------------------------------------------

TEST(AppCliTest, NoSubcommandIsAUsageError) { ExpectFailure(Strongroom({}), 2); }

TEST(AppCliTest, UnknownSubcommandIsAUsageError) { ExpectFailure(Strongroom({"frobnicate"}), 2); }

TEST(AppCliTest, HelpAndVersionExitZero) {
  CommandOutput help = Strongroom({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.out, HasSubstr("serve"));
  EXPECT_THAT(help.out, HasSubstr("admin"));
  EXPECT_THAT(help.out, HasSubstr("mcp"));
  EXPECT_EQ(Strongroom({"admin", "key", "create", "--help"}).exit_code, 0);
  CommandOutput version = Strongroom({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, StartsWith("strongroom "));
}

TEST(AppCliTest, ServeUsageErrors) {
  TempDir dir;
  ExpectFailure(Strongroom({"serve", "--data-dir", dir.path()}), 2);  // needs --dev
  ExpectFailure(Strongroom({"serve", "--dev", "--config", dir.path() + "/x.toml"}), 2);
  ExpectFailure(Strongroom({"serve", "--dev", "--threads", "0"}), 2);
  ExpectFailure(
      Strongroom({"serve", "--dev", "--data-dir", dir.path() + "/d", "--listen", "nonsense"}), 2);
  ExpectFailure(Strongroom({"serve", "--bogus"}), 2);
  // Nothing was created by the rejected invocations.
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/d"));
}

TEST(AppCliTest, AdminUsageErrors) {
  TempDir dir;
  const std::string d = dir.path();
  ExpectFailure(Strongroom({"admin"}), 2);
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "identity"}), 2);
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "identity", "create"}), 2);
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "identity", "rename", "a"}), 2);
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "key", "create", "--scope", "vault:read"}),
                2);  // no --identity
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "key", "create", "--identity", "a"}),
                2);  // no --scope
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "key", "list"}), 2);
  ExpectFailure(Strongroom({"admin", "--data-dir", d, "key", "revoke"}), 2);
  ExpectFailure(
      Strongroom({"admin", "--config", d + "/c.toml", "--data-dir", d, "identity", "list"}), 2);
}

TEST(AppCliTest, BadScopeAndDurationAreUsageErrors) {
  TempDir dir;
  const std::string d = dir.path();
  CommandOutput scope = Strongroom(
      {"admin", "--data-dir", d, "key", "create", "--identity", "a", "--scope", "vault:admin"});
  ExpectFailure(scope, 2);
  EXPECT_THAT(scope.err, HasSubstr("vault:admin"));
  for (const char* ttl : {"10", "10w", "-5m", "0s", "m", "1.5h"}) {
    SCOPED_TRACE(ttl);
    CommandOutput out = Strongroom({"admin", "--data-dir", d, "key", "create", "--identity", "a",
                                    "--scope", "vault:read", "--ttl", ttl});
    ExpectFailure(out, 2);
    EXPECT_THAT(out.err, HasSubstr("--ttl"));
  }
}

TEST(AppCliTest, AdminWithoutTargetNeedsConfigOrDataDir) {
  TempDir dir;
  const std::filesystem::path old = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());  // no ./.strongroom-dev here
  CommandOutput out = Strongroom({"admin", "identity", "list"});
  std::filesystem::current_path(old);
  ExpectFailure(out, 2);
  EXPECT_THAT(out.err, HasSubstr("--config"));
}

TEST(AppCliTest, AdminOnMissingDataDirFails) {
  TempDir dir;
  CommandOutput out = Strongroom({"admin", "--data-dir", dir.path() + "/none", "identity", "list"});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr("not a strongroom dev data dir"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/none"));  // admin never creates it
}

TEST(AppCliTest, McpNeedsAddrAndToken) {
  ExpectFailure(Strongroom({"mcp"}), 2);  // --addr is required
  ExpectFailure(Strongroom({"mcp", "--addr", "http://127.0.0.1:1", "--mcp-tool-names", "x"}), 2);
  ::unsetenv("STRONGROOM_TOKEN");
  CommandOutput out = Strongroom({"mcp", "--addr", "http://127.0.0.1:1"});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.err, HasSubstr("STRONGROOM_TOKEN"));
}

// --- dev mode ------------------------------------------------------------------

TEST(AppDevModeTest, StdoutContractAndRestartReusesEverything) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  // The stdout lines, in order, exactly as SPEC 8 and the e2e tests expect.
  const std::vector<std::string> lines = Lines(server.StdoutText());
  ASSERT_GE(lines.size(), 4u) << server.StdoutText();
  EXPECT_EQ(lines[0], "strongroom: dev mode, data in " + server.data_dir());
  EXPECT_EQ(lines[1], "strongroom: dev API key (vault:read vault:write):");
  EXPECT_EQ(lines[2], server.dev_key());
  EXPECT_THAT(lines[2], StartsWith("sr_"));
  EXPECT_EQ(lines[3], "strongroom: listening on http://127.0.0.1:" + std::to_string(server.port()));
  const std::string first_key = server.dev_key();

  // The data dir is private.
  struct stat st {};
  ASSERT_EQ(::stat(server.data_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* file : {"hsm-pin", "hsm-so-pin", "dev-api-key"}) {
    ASSERT_EQ(::stat((server.data_dir() + "/" + file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
  std::ifstream conf(server.data_dir() + "/softhsm2.conf");
  std::stringstream conf_text;
  conf_text << conf.rdbuf();
  EXPECT_THAT(conf_text.str(),
              HasSubstr("directories.tokendir = " + server.data_dir() + "/tokens"));
  EXPECT_THAT(conf_text.str(), HasSubstr("objectstore.backend = file"));

  {
    HttpClient client(server.base_url());
    HttpResponse put = client.PutJson("/v0/vault/stripe", kStripeBody, first_key);
    ASSERT_EQ(put.status, 200) << put.body;
    EXPECT_THAT(put.body, HasSubstr("\"created\":true"));
  }
  EXPECT_EQ(server.Stop(), 0);  // SIGTERM: clean exit

  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_EQ(server.dev_key(), first_key);
  HttpClient client(server.base_url());
  HttpResponse get = client.Get("/v0/vault/stripe", first_key);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_THAT(get.body, HasSubstr("sk_live_app_test_51Hx"));

  // The same single dev identity, not a second one.
  CommandOutput identities = server.Admin({"identity", "list"});
  EXPECT_EQ(identities.exit_code, 0) << identities.err;
  EXPECT_EQ(Lines(identities.out).size(), 1u) << identities.out;
  EXPECT_THAT(identities.out, StartsWith("dev "));
}

// Issue 5: hosts whose function names reject dots get vault_get etc. from the server.
TEST(AppDevModeTest, McpToolNamesUnderscoreOnServe) {
  TempDir dir;
  testing::ServerProcess server(dir.path());
  server.set_extra_serve_args({"--mcp-tool-names", "underscore"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  testing::HttpClient client(server.base_url());
  testing::HttpResponse r = client.Send(
      "POST", "/mcp",
      {"Authorization: Bearer " + server.dev_key(), "Content-Type: application/json",
       "Accept: application/json, text/event-stream", "MCP-Protocol-Version: 2025-06-18"},
      R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  ASSERT_EQ(r.status, 200) << r.body;
  for (const char* tool : {"vault_list", "vault_get", "vault_totp", "vault_totp_use_backup",
                           "vault_store", "vault_delete"}) {
    EXPECT_THAT(r.body, HasSubstr(std::string("\"") + tool + "\"")) << tool;
  }
  EXPECT_THAT(r.body, Not(HasSubstr("\"vault.get\"")));
}

TEST(AppDevModeTest, RevokedDevKeyIsReplacedOnRestart) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const std::string first_key = server.dev_key();
  const std::string key_id = first_key.substr(3, 16);
  CommandOutput revoke = server.Admin({"key", "revoke", key_id});
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_EQ(server.Stop(), 0);

  ASSERT_TRUE(server.Start(&error)) << error;
  EXPECT_NE(server.dev_key(), first_key);
  HttpClient client(server.base_url());
  EXPECT_EQ(client.Get("/v0/vault", server.dev_key()).status, 200);
  EXPECT_EQ(client.Get("/v0/vault", first_key).status, 401);
}

TEST(AppDevModeTest, ListenPortInUseIsAOneLineError) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  CommandOutput out = Strongroom({"serve", "--dev", "--data-dir", root.path() + "/second",
                                  "--listen", "127.0.0.1:" + std::to_string(server.port())});
  ExpectFailure(out, 1);
  EXPECT_THAT(out.out, Not(HasSubstr("sr_")));  // nothing printed before a failed start
}

// --- admin -----------------------------------------------------------------------

TEST(AppAdminTest, IdentitiesAndKeysWhileTheServerRuns) {
  TempDir root;
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;

  CommandOutput created = server.Admin({"identity", "create", "alice"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ExpectFailure(server.Admin({"identity", "create", "alice"}), 1);  // already exists
  ExpectFailure(server.Admin({"identity", "create", "bad name!"}), 1);

  CommandOutput list = server.Admin({"identity", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("alice "));
  EXPECT_THAT(list.out, HasSubstr("dev "));

  // key create: the key alone on the last line, after a line naming the id.
  CommandOutput key = server.Admin({"key", "create", "--identity", "alice", "--scope", "vault:read",
                                    "--scope", "vault:write", "--ttl", "1h"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  const std::string api_key = key.LastLine();
  ASSERT_TRUE(std::regex_match(api_key, std::regex("sr_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")))
      << api_key;
  const std::string key_id = api_key.substr(3, 16);
  EXPECT_THAT(key.out, HasSubstr(key_id));
  EXPECT_THAT(key.err, Not(HasSubstr(api_key)));

  HttpClient client(server.base_url());
  ASSERT_EQ(client.PutJson("/v0/vault/stripe", kStripeBody, api_key).status, 200);
  EXPECT_EQ(client.Get("/v0/vault/stripe", api_key).status, 200);

  // A read-only key, listed by id and never by value.
  const std::string reader = server.CreateKey("alice", {"vault:read"});
  ASSERT_FALSE(reader.empty());
  CommandOutput keys = server.Admin({"key", "list", "--identity", "alice"});
  ASSERT_EQ(keys.exit_code, 0) << keys.err;
  const std::vector<std::string> key_lines = Lines(keys.out);
  ASSERT_EQ(key_lines.size(), 2u) << keys.out;
  for (const std::string& line : key_lines) {
    EXPECT_TRUE(std::regex_search(line, std::regex("^[0-9a-f]{16} "))) << line;
    EXPECT_THAT(line, HasSubstr("created="));
  }
  EXPECT_THAT(keys.out, HasSubstr(key_id + " scopes=vault:read,vault:write"));
  EXPECT_THAT(keys.out, HasSubstr(reader.substr(3, 16) + " scopes=vault:read "));
  EXPECT_THAT(keys.out, Not(HasSubstr(api_key)));
  EXPECT_THAT(keys.out, Not(HasSubstr(api_key.substr(20))));
  EXPECT_THAT(keys.out, Not(HasSubstr(reader.substr(20))));

  // Revoke: the key stops working at once, and list says so.
  CommandOutput revoked = server.Admin({"key", "revoke", key_id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  EXPECT_EQ(client.Get("/v0/vault/stripe", api_key).status, 401);
  CommandOutput after = server.Admin({"key", "list", "--identity", "alice"});
  EXPECT_THAT(after.out, Not(HasSubstr("revoked=no\n" + key_id)));
  EXPECT_TRUE(std::regex_search(after.out, std::regex(key_id + " .* revoked=2"))) << after.out;
  ExpectFailure(server.Admin({"key", "revoke", "0000000000000000"}), 1);
  ExpectFailure(server.Admin({"key", "list", "--identity", "nobody"}), 1);
  ExpectFailure(server.Admin({"key", "create", "--identity", "nobody", "--scope", "vault:read"}),
                1);

  // Delete: the identity, its keys and credentials are gone.
  CommandOutput deleted = server.Admin({"identity", "delete", "alice"});
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(client.Get("/v0/vault", reader).status, 401);
  EXPECT_THAT(server.Admin({"identity", "list"}).out, Not(HasSubstr("alice")));
  ExpectFailure(server.Admin({"identity", "delete", "alice"}), 1);

  // Options of `admin` may also follow the command.
  CommandOutput trailing = RunCommand(
      {StrongroomBinary(), "admin", "identity", "list", "--data-dir", server.data_dir()});
  EXPECT_EQ(trailing.exit_code, 0) << trailing.err;
}

}  // namespace
}  // namespace strongroom::app
