#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace strongroom::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kMinimal = R"(
[store]
path = "/var/lib/strongroom/vault.db"
[hsm]
pin_env = "STRONGROOM_HSM_PIN"
)";

constexpr const char* kSpecExample = R"(
[server]
listen = "127.0.0.1:8700"
threads = 2
# tls_cert = "...", tls_key = "...", client_ca = "..." (mTLS)
[store]
backend = "sqlite"            # or "mysql"
path = "/var/lib/strongroom/vault.db"
# url = "tcp://127.0.0.1:3306", user = "strongroom", password_env = "STRONGROOM_DB_PASSWORD", database = "strongroom"
[hsm]
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "strongroom"
pin_env = "STRONGROOM_HSM_PIN"  # or pin_file
master_key_label = "strongroom-master"
)";

// Parses `text` and expects INVALID_ARGUMENT/invalid_config naming `key`.
void ExpectConfigError(const std::string& text, const std::string& key,
                       const std::string& reason_part = "") {
  Result<Config> config = ParseConfig(text, "test.toml");
  ASSERT_FALSE(config.ok()) << "expected an error for " << key;
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().error_code(), "invalid_config");
  EXPECT_THAT(config.status().message(), HasSubstr("test.toml: " + key + ": "));
  if (!reason_part.empty()) {
    EXPECT_THAT(config.status().message(), HasSubstr(reason_part));
  }
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "sr-config-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name, const std::string& content, mode_t mode) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path) << content;
    ::chmod(path.c_str(), mode);
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ConfigTest, SpecExampleParses) {
  Result<Config> config = ParseConfig(kSpecExample, "spec.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, "spec.toml");
  EXPECT_EQ(config->server.listen, "127.0.0.1:8700");
  EXPECT_EQ(config->server.threads, 2);
  EXPECT_EQ(config->store.backend, "sqlite");
  EXPECT_EQ(config->store.path, "/var/lib/strongroom/vault.db");
  EXPECT_EQ(config->hsm.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(config->hsm.token_label, "strongroom");
  EXPECT_EQ(config->hsm.pin_env, "STRONGROOM_HSM_PIN");
  EXPECT_EQ(config->hsm.master_key_label, "strongroom-master");
}

TEST(ConfigTest, DefaultsApplyWhenKeysAreOmitted) {
  Result<Config> config = ParseConfig(kMinimal, "m.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.listen, "127.0.0.1:8700");
  EXPECT_EQ(config->server.threads, 2);
  EXPECT_EQ(config->server.mcp_tool_names, "dotted");
  EXPECT_TRUE(config->server.tls_cert.empty());
  EXPECT_EQ(config->store.backend, "sqlite");
  EXPECT_EQ(config->store.pool_size, 8);
  EXPECT_EQ(config->hsm.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(config->hsm.token_label, "strongroom");
  EXPECT_EQ(config->hsm.master_key_label, "strongroom-master");
}

TEST(ConfigTest, MysqlBackendParses) {
  Result<Config> config = ParseConfig(R"(
[server]
listen = "[::1]:0"
threads = 256
mcp_tool_names = "underscore"
tls_cert = "/etc/strongroom/cert.pem"
tls_key = "/etc/strongroom/key.pem"
client_ca = "/etc/strongroom/ca.pem"
[store]
backend = "mysql"
url = "tcp://127.0.0.1:3306"
user = "strongroom"
password_file = "/run/secrets/db"
database = "strongroom"
pool_size = 16
[hsm]
pin_file = "/run/secrets/pin"
)",
                                      "my.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->store.backend, "mysql");
  EXPECT_EQ(config->store.url, "tcp://127.0.0.1:3306");
  EXPECT_EQ(config->store.password_file, "/run/secrets/db");
  EXPECT_EQ(config->store.pool_size, 16);
  EXPECT_EQ(config->server.threads, 256);
  EXPECT_EQ(config->server.client_ca, "/etc/strongroom/ca.pem");
  EXPECT_EQ(config->hsm.pin_file, "/run/secrets/pin");
}

TEST(ConfigTest, MysqlServerListAndGaleraParse) {
  const std::string hsm = "[hsm]\npin_env = \"PIN\"\n";
  const std::string store =
      "[store]\nbackend = \"mysql\"\nuser = \"u\"\ndatabase = \"d\"\npassword_env = \"P\"\n";
  Result<Config> config = ParseConfig(
      store + "url = \"tcp://h1:3306, tcp://h2:3306,unix:///run/mysqld.sock\"\ngalera = true\n" +
          hsm,
      "g.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->store.url, "tcp://h1:3306, tcp://h2:3306,unix:///run/mysqld.sock");
  EXPECT_TRUE(config->store.galera);
  Result<Config> plain = ParseConfig(store + "url = \"tcp://h1:3306\"\n" + hsm, "p.toml");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_FALSE(plain->store.galera);

  ExpectConfigError(store + "url = \"tcp://h1:3306,h2:3306\"\n" + hsm, "store.url",
                    "every server must start with tcp:// or unix://");
  ExpectConfigError(store + "url = \"tcp://h1:3306,\"\n" + hsm, "store.url",
                    "every server must start with tcp:// or unix://");
  ExpectConfigError(store + "url = \"tcp://h1:3306\"\ngalera = \"yes\"\n" + hsm, "store.galera",
                    "expected true or false");
  ExpectConfigError("[store]\npath = \"/x\"\ngalera = true\n" + hsm, "store.galera",
                    "only valid with backend = \"mysql\"");
}

TEST(ConfigTest, UnknownSectionAndKeysAreErrors) {
  ExpectConfigError(std::string(kMinimal) + "[metrics]\nport = 9\n", "metrics", "unknown section");
  ExpectConfigError(std::string("listen = \"x:1\"\n") + kMinimal, "listen", "unknown key");
  ExpectConfigError(std::string(kMinimal) + "[server]\nlisten_addr = \"127.0.0.1:1\"\n",
                    "server.listen_addr", "unknown key");
  ExpectConfigError(std::string(kMinimal) + "[server.extra]\na = 1\n", "server.extra",
                    "unknown key");
  ExpectConfigError("[store]\npath = \"/x\"\n[hsm]\npin_env = \"P\"\npin = \"1234\"\n", "hsm.pin",
                    "unknown key");
}

TEST(ConfigTest, UnknownKeyErrorNeverEchoesTheValue) {
  Result<Config> config =
      ParseConfig("[store]\npath = \"/x\"\n[hsm]\npin_env = \"P\"\npin = \"93847562\"\n", "t.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), Not(HasSubstr("93847562")));
}

TEST(ConfigTest, WrongTypesAreErrors) {
  ExpectConfigError("[server]\nthreads = \"2\"\n" + std::string(kMinimal), "server.threads",
                    "expected an integer, got a string");
  ExpectConfigError("[server]\nlisten = 8700\n" + std::string(kMinimal), "server.listen",
                    "expected a string, got an integer");
  ExpectConfigError("[server]\nthreads = 2.5\n" + std::string(kMinimal), "server.threads",
                    "expected an integer, got a float");
  ExpectConfigError("server = 3\n" + std::string(kMinimal), "server", "expected a section");
}

TEST(ConfigTest, ThreadsOutOfRange) {
  ExpectConfigError("[server]\nthreads = 0\n" + std::string(kMinimal), "server.threads",
                    "between 1 and 256");
  ExpectConfigError("[server]\nthreads = 257\n" + std::string(kMinimal), "server.threads",
                    "between 1 and 256");
  ExpectConfigError("[server]\nthreads = -1\n" + std::string(kMinimal), "server.threads");
}

TEST(ConfigTest, ConnectionLimits) {
  auto config = ParseConfig(std::string(kMinimal), "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.max_connections, 1024);
  EXPECT_EQ(config->server.idle_timeout, 60);
  config = ParseConfig("[server]\nmax_connections = 50\nidle_timeout = 5\n" + std::string(kMinimal),
                       "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->server.max_connections, 50);
  EXPECT_EQ(config->server.idle_timeout, 5);
  ExpectConfigError("[server]\nmax_connections = 0\n" + std::string(kMinimal),
                    "server.max_connections", "between 1 and 1000000");
  ExpectConfigError("[server]\nmax_connections = \"many\"\n" + std::string(kMinimal),
                    "server.max_connections", "expected an integer, got a string");
  ExpectConfigError("[server]\nidle_timeout = 0\n" + std::string(kMinimal), "server.idle_timeout",
                    "between 1 and 86400");
  ExpectConfigError("[server]\nidle_timeout = 1.5\n" + std::string(kMinimal), "server.idle_timeout",
                    "expected an integer, got a float");
}

TEST(ConfigTest, BadListenAddresses) {
  for (const char* listen : {"8700", "127.0.0.1", ":8700", "127.0.0.1:", "127.0.0.1:65536",
                             "127.0.0.1:http", "[::1:8700", "host name:80", "127.0.0.1:123456"}) {
    SCOPED_TRACE(listen);
    ExpectConfigError(std::string("[server]\nlisten = \"") + listen + "\"\n" + kMinimal,
                      "server.listen", "host:port");
  }
  ExpectConfigError(std::string("[server]\nlisten = \"\"\n") + kMinimal, "server.listen",
                    "must not be empty");
}

TEST(ConfigTest, ParseHostPort) {
  auto hp = ParseHostPort("127.0.0.1:8700");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "127.0.0.1");
  EXPECT_EQ(hp->port, 8700);
  hp = ParseHostPort("[::1]:0");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 0);
  hp = ParseHostPort("localhost:65535");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->port, 65535);
  EXPECT_FALSE(ParseHostPort("localhost:65536").has_value());
  EXPECT_FALSE(ParseHostPort("[]:1").has_value());
}

TEST(ConfigTest, TlsSettingsMustBeConsistent) {
  ExpectConfigError("[server]\ntls_cert = \"/c.pem\"\n" + std::string(kMinimal), "server.tls_key",
                    "together");
  ExpectConfigError("[server]\ntls_key = \"/k.pem\"\n" + std::string(kMinimal), "server.tls_cert",
                    "together");
  ExpectConfigError("[server]\nclient_ca = \"/ca.pem\"\n" + std::string(kMinimal),
                    "server.client_ca", "tls_cert");
  ExpectConfigError("[server]\nmcp_tool_names = \"camel\"\n" + std::string(kMinimal),
                    "server.mcp_tool_names");
}

TEST(ConfigTest, StoreBackendRules) {
  const std::string hsm = "[hsm]\npin_env = \"P\"\n";
  ExpectConfigError("[store]\nbackend = \"postgres\"\npath = \"/x\"\n" + hsm, "store.backend",
                    "\"sqlite\" or \"mysql\"");
  ExpectConfigError("[store]\nbackend = \"sqlite\"\n" + hsm, "store.path", "required");
  ExpectConfigError(hsm, "store.path", "required");
  ExpectConfigError("[store]\npath = \"/x\"\nurl = \"tcp://h:1\"\n" + hsm, "store.url",
                    "only valid with backend = \"mysql\"");
  ExpectConfigError("[store]\nbackend = \"mysql\"\nuser = \"u\"\ndatabase = \"d\"\n" + hsm,
                    "store.url", "required");
  ExpectConfigError(
      "[store]\nbackend = \"mysql\"\nurl = \"h:3306\"\nuser = \"u\"\ndatabase = \"d\"\n" + hsm,
      "store.url", "tcp://");
  ExpectConfigError("[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\ndatabase = \"d\"\n" + hsm,
                    "store.user", "required");
  ExpectConfigError("[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\nuser = \"u\"\n" + hsm,
                    "store.database", "required");
  ExpectConfigError(
      "[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\nuser = \"u\"\ndatabase = \"d\"\n"
      "path = \"/x\"\n" +
          hsm,
      "store.path", "only valid with backend = \"sqlite\"");
  ExpectConfigError(
      "[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\nuser = \"u\"\ndatabase = \"d\"\n"
      "password_env = \"A\"\npassword_file = \"/f\"\n" +
          hsm,
      "store.password_file", "not both");
  ExpectConfigError(
      "[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\nuser = \"u\"\ndatabase = \"d\"\n" + hsm,
      "store.password_env", "password_env or password_file");
  ExpectConfigError(
      "[store]\nbackend = \"mysql\"\nurl = \"tcp://h:1\"\nuser = \"u\"\ndatabase = \"d\"\n"
      "password_env = \"P\"\npool_size = 0\n" +
          hsm,
      "store.pool_size", "between 1 and 1024");
}

TEST(ConfigTest, HsmPinSourceRules) {
  const std::string store = "[store]\npath = \"/x\"\n";
  ExpectConfigError(store + "[hsm]\nmodule = \"/m.so\"\n", "hsm.pin_env", "pin_env or pin_file");
  ExpectConfigError(store, "hsm.pin_env", "pin_env or pin_file");
  ExpectConfigError(store + "[hsm]\npin_env = \"A\"\npin_file = \"/p\"\n", "hsm.pin_file",
                    "not both");
  ExpectConfigError(store + "[hsm]\npin_env = \"1234\"\n", "hsm.pin_env",
                    "environment variable name");
  ExpectConfigError(
      store + "[hsm]\npin_env = \"P\"\ntoken_label = \"" + std::string(33, 'a') + "\"\n",
      "hsm.token_label", "32");
  ExpectConfigError(store + "[hsm]\npin_env = \"P\"\nmaster_key_label = \"\"\n",
                    "hsm.master_key_label", "must not be empty");
}

TEST(ConfigTest, EnvVarNameIsNotEchoedWhenInvalid) {
  // A PIN pasted where an env var name belongs must not end up in the message.
  Result<Config> config =
      ParseConfig("[store]\npath = \"/x\"\n[hsm]\npin_env = \"8273-11\"\n", "t");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), Not(HasSubstr("8273-11")));
}

TEST(ConfigTest, SyntaxErrorReportsFileAndLine) {
  Result<Config> config = ParseConfig("[server]\nthreads = 2\nlisten = \n", "broken.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(config.status().error_code(), "invalid_config");
  EXPECT_THAT(config.status().message(), HasSubstr("broken.toml:3: TOML syntax error"));
}

TEST(ConfigTest, DuplicateKeyIsASyntaxError) {
  Result<Config> config = ParseConfig("[server]\nthreads = 2\nthreads = 3\n", "dup.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("dup.toml:3:"));
}

TEST(ConfigTest, LoadConfigFileResolvesRelativePaths) {
  TempDir dir;
  const std::string path = dir.File("strongroom.toml",
                                    "[store]\npath = \"data/vault.db\"\n"
                                    "[hsm]\npin_file = \"../pin\"\n",
                                    0600);
  Result<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, path);
  EXPECT_EQ(config->store.path, dir.path() + "/data/vault.db");
  EXPECT_EQ(config->hsm.pin_file,
            std::filesystem::path(dir.path()).parent_path().string() + "/pin");
}

TEST(ConfigTest, LoadConfigFileNamesTheFileInErrors) {
  TempDir dir;
  const std::string path = dir.File("bad.toml", "[server]\nthreds = 2\n", 0600);
  Result<Config> config = LoadConfigFile(path);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), path + ": server.threds: unknown key");

  Result<Config> missing = LoadConfigFile(dir.path() + "/nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir.path() + "/nope.toml: "));
}

TEST(ReadSecretTest, FromEnvironment) {
  ::setenv("SR_TEST_SECRET_A", "s3cret-pin", 1);
  Result<SecretString> secret = ReadSecret("SR_TEST_SECRET_A", "", "HSM PIN");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret->view(), "s3cret-pin");
  ::unsetenv("SR_TEST_SECRET_A");
}

TEST(ReadSecretTest, UnsetEnvironmentVariableIsNamed) {
  ::unsetenv("SR_TEST_SECRET_B");
  Result<SecretString> secret = ReadSecret("SR_TEST_SECRET_B", "", "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(secret.status().message(), "HSM PIN: environment variable SR_TEST_SECRET_B is not set");
}

TEST(ReadSecretTest, EmptyEnvironmentVariableIsAnError) {
  ::setenv("SR_TEST_SECRET_C", "", 1);
  Result<SecretString> secret = ReadSecret("SR_TEST_SECRET_C", "", "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kInvalidArgument);
  ::unsetenv("SR_TEST_SECRET_C");
}

TEST(ReadSecretTest, FromFileFirstLineOnly) {
  TempDir dir;
  const std::string path = dir.File("pin", "1234-abcd\r\nsecond line\n", 0600);
  Result<SecretString> secret = ReadSecret("", path, "HSM PIN");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret->view(), "1234-abcd");
}

TEST(ReadSecretTest, FileWithoutNewline) {
  TempDir dir;
  const std::string path = dir.File("pin", "nonl", 0400);
  Result<SecretString> secret = ReadSecret("", path, "HSM PIN");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret->view(), "nonl");
}

TEST(ReadSecretTest, FallsBackToFileWhenEnvUnset) {
  TempDir dir;
  const std::string path = dir.File("pin", "from-file\n", 0640);
  ::unsetenv("SR_TEST_SECRET_D");
  Result<SecretString> secret = ReadSecret("SR_TEST_SECRET_D", path, "HSM PIN");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret->view(), "from-file");
}

TEST(ReadSecretTest, MissingFileIsNamed) {
  TempDir dir;
  Result<SecretString> secret = ReadSecret("", dir.path() + "/nope", "database password");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(secret.status().message(),
              HasSubstr("database password: cannot open " + dir.path() + "/nope"));
}

TEST(ReadSecretTest, WorldReadableFileIsRefusedWithoutEchoingIt) {
  TempDir dir;
  const std::string path = dir.File("pin", "7777-leak\n", 0644);
  Result<SecretString> secret = ReadSecret("", path, "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(secret.status().message(), HasSubstr("mode 0644"));
  EXPECT_THAT(secret.status().message(), HasSubstr("chmod 600"));
  EXPECT_THAT(secret.status().message(), Not(HasSubstr("7777-leak")));
}

TEST(ReadSecretTest, EmptyFileIsAnError) {
  TempDir dir;
  const std::string path = dir.File("pin", "\n", 0600);
  Result<SecretString> secret = ReadSecret("", path, "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(secret.status().message(), HasSubstr("is empty"));
}

TEST(ReadSecretTest, DirectoryIsNotASecretFile) {
  TempDir dir;
  ::chmod(dir.path().c_str(), 0700);
  Result<SecretString> secret = ReadSecret("", dir.path(), "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kFailedPrecondition);
}

TEST(ReadSecretTest, OversizedFileIsRefused) {
  TempDir dir;
  const std::string path = dir.File("pin", std::string(5000, 'x'), 0600);
  Result<SecretString> secret = ReadSecret("", path, "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kFailedPrecondition);
}

TEST(ReadSecretTest, NoSourceIsAnError) {
  Result<SecretString> secret = ReadSecret("", "", "HSM PIN");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace strongroom::config
