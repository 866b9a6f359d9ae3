// Runs the real `strongroom` binary for end-to-end tests.
//
// Dev mode (the default): ServerProcess starts `strongroom serve --dev
// --data-dir ROOT/data --listen 127.0.0.1:0`, reads the dev API key (a stdout
// line of its own starting with "sr_") and the bound port (a stdout line
// containing "listening on http://127.0.0.1:PORT"), and waits for GET /healthz.
// stderr goes to a file (ROOT/serve-N.stderr) so tests can grep the logs.
//
// Config mode (issue 4): a ConfigDeployment holds what an operator would set
// up (a SoftHSM2 token with the master key, a TOML file naming it and a
// MySQL/MariaDB database, the PIN and database password in the environment);
// ServerProcess(root, deployment) runs `strongroom serve --config FILE` on it.
// Several servers may share one deployment, as behind a load balancer. So that
// tests are the same in both modes, a config-mode server also has a dev_key():
// after its first start, the deployment creates the identity "dev" (if
// missing) and one key with both scopes, which all its servers report.
//
// The binary comes from STRONGROOM_BIN (set by strongroom_add_test), else the
// path of the build's `strongroom` target compiled into this library.
//
// Not thread-safe: drive one ServerProcess from one thread (different
// ServerProcess objects may be driven from different threads).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace strongroom::testing {

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandOutput {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
  // The last non-empty stdout line (e.g. the key printed by `admin key create`).
  std::string LastLine() const;
};

// Path of the strongroom binary (STRONGROOM_BIN).
std::string StrongroomBinary();

// Runs `argv` (argv[0] is a path) to completion, capturing stdout and stderr.
CommandOutput RunCommand(const std::vector<std::string>& argv);
// Same, with `extra_env` ("NAME=value") added to (or replacing in) this process's environment.
CommandOutput RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env);

// A MySQL/MariaDB database for config mode.
struct MysqlDatabase {
  std::string url;  // tcp://HOST:PORT
  std::string user;
  std::string password;  // given to servers in STRONGROOM_DB_PASSWORD, never in a file
  std::string database;  // must exist (it may be empty: the server migrates it)
  int pool_size = 8;
  bool galera = false;  // store.galera
};

// The files and environment of a config-mode installation (SPEC 9). Create()
// provisions a SoftHSM2 token with a master key (by starting `strongroom serve
// --dev` once on DIR/hsm and stopping it: only its token is used) and writes
// DIR/strongroom.toml. It does not touch the database, so the first server
// finds it empty. Files are removed with DIR (by its owner).
//
// Thread-safe: servers on several threads may share one deployment.
class ConfigDeployment {
 public:
  static std::shared_ptr<ConfigDeployment> CreateMysql(const std::string& dir,
                                                       const MysqlDatabase& database,
                                                       std::string* error);
  ConfigDeployment(const ConfigDeployment&) = delete;
  ConfigDeployment& operator=(const ConfigDeployment&) = delete;
  // The same deployment (token, PIN, database) with store.url = `url` (e.g.
  // a cluster's servers in another order), its config file in DIR (must exist).
  std::shared_ptr<ConfigDeployment> WithUrl(const std::string& dir, const std::string& url,
                                            std::string* error) const;

  const std::string& config_path() const { return config_path_; }
  const MysqlDatabase& database() const { return database_; }
  // What `admin` needs in its environment ("NAME=value"): SOFTHSM2_CONF,
  // STRONGROOM_HSM_PIN, STRONGROOM_DB_PASSWORD. Servers get the same, but
  // each with its own copy of the token (see ServerProcess).
  const std::vector<std::string>& env() const { return env_; }
  // The SoftHSM2 token directory (the one `admin` uses).
  const std::string& token_dir() const { return token_dir_; }

  // Runs `strongroom admin --config FILE <args...>` with env().
  CommandOutput Admin(const std::vector<std::string>& args) const;
  // The key of identity "dev" with both scopes, creating both on the first
  // call (the schema must exist: call it after a server started). "" with
  // `*error` set on failure.
  std::string DevKey(std::string* error);

 private:
  ConfigDeployment() = default;
  // Writes config_path_ from database_; false with `*error` set on failure.
  bool WriteConfig(std::string* error) const;

  std::string config_path_;
  std::string token_dir_;
  MysqlDatabase database_;
  std::vector<std::string> env_;
  std::mutex mu_;
  std::string dev_key_;  // guarded by mu_
};

class ServerProcess {
 public:
  // Dev mode. `root` must exist; the data dir is ROOT/data.
  explicit ServerProcess(std::string root);
  // Config mode on `deployment`. `root` must exist and holds this server's logs
  // and, from its first start on, its own copy of the deployment's SoftHSM2
  // token (ROOT/hsm): one HSM per server holding the same master key, as
  // servers on different hosts have. Sharing one SoftHSM2 token directory
  // between processes is not safe: every C_Login rewrites token.object, and a
  // process initialising the module at that moment finds no token.
  ServerProcess(std::string root, std::shared_ptr<ConfigDeployment> deployment);
  // Config mode on a file the test wrote (e.g. SQLite with its own [hsm]
  // module): `serve --config CONFIG` and `admin --config CONFIG`, with `env`
  // ("NAME=value") added to this process's environment. No dev_key().
  ServerProcess(std::string root, std::string config_path, std::vector<std::string> env);
  // Stops the server (SIGTERM, then SIGKILL after 10 s).
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the server and waits until it is healthy; on failure returns false
  // with a reason (including the server's stderr) in `*error`.
  bool Start(std::string* error);
  // SIGTERM and wait. Returns the exit code (-1 if killed by a signal).
  int Stop();
  // SIGKILL and reap: a crash.
  void Kill9();
  bool running() const { return pid_ > 0; }
  // Extra `serve` arguments for the next Start (e.g. {"--mcp-tool-names", "underscore"}).
  void set_extra_serve_args(std::vector<std::string> args) { extra_serve_args_ = std::move(args); }

  std::uint16_t port() const { return port_; }
  std::string base_url() const;
  const std::string& dev_key() const { return dev_key_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& root() const { return root_; }
  // The dev-mode SQLite database.
  std::string db_path() const { return data_dir_ + "/vault.db"; }
  // Config mode: the deployment; dev mode: null.
  const std::shared_ptr<ConfigDeployment>& deployment() const { return deployment_; }

  // Everything the server (all its runs) wrote to stdout / stderr so far.
  std::string StdoutText();
  std::string StderrText() const;

  // Runs `strongroom admin --data-dir DATA_DIR <args...>` (config mode:
  // `admin --config FILE <args...>`).
  CommandOutput Admin(const std::vector<std::string>& args) const;
  // `admin key create --identity NAME --scope S... [--ttl TTL]`: the new key, or "" on failure.
  std::string CreateKey(const std::string& identity, const std::vector<std::string>& scopes,
                        const std::string& ttl = "") const;

 private:
  void ReadStdout(int fd);
  // Config mode: copies the deployment's token to ROOT/hsm and fills config_env_.
  bool CopyToken(std::string* error);

  std::string root_;
  std::string data_dir_;
  std::shared_ptr<ConfigDeployment> deployment_;
  std::string config_path_;              // config mode without a deployment
  std::vector<std::string> config_env_;  // config mode: deployment env, own token
  std::vector<std::string> extra_serve_args_;
  pid_t pid_ = -1;
  int run_ = 0;
  std::string stderr_path_;
  std::vector<std::string> stderr_paths_;
  std::uint16_t port_ = 0;
  std::string dev_key_;
  std::thread reader_;
  std::mutex mu_;
  std::string stdout_;  // guarded by mu_
};

}  // namespace strongroom::testing
