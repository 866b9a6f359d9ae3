// Runs the real `strongroom` binary for end-to-end tests.
//
// ServerProcess starts `strongroom serve --dev --data-dir ROOT/data --listen
// 127.0.0.1:0`, reads the dev API key (a stdout line of its own starting with
// "sr_") and the bound port (a stdout line containing "listening on
// http://127.0.0.1:PORT"), and waits for GET /healthz. stderr goes to a file
// (ROOT/serve-N.stderr) so tests can grep the logs. The binary comes from
// STRONGROOM_BIN (set by strongroom_add_test).
//
// Not thread-safe: drive one ServerProcess from one thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
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

class ServerProcess {
 public:
  // `root` must exist; the data dir is ROOT/data.
  explicit ServerProcess(std::string root);
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

  std::uint16_t port() const { return port_; }
  std::string base_url() const;
  const std::string& dev_key() const { return dev_key_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& root() const { return root_; }
  // The dev-mode SQLite database.
  std::string db_path() const { return data_dir_ + "/vault.db"; }

  // Everything the server (all its runs) wrote to stdout / stderr so far.
  std::string StdoutText();
  std::string StderrText() const;

  // Runs `strongroom admin --data-dir DATA_DIR <args...>`.
  CommandOutput Admin(const std::vector<std::string>& args) const;
  // `admin key create --identity NAME --scope S... [--ttl TTL]`: the new key, or "" on failure.
  std::string CreateKey(const std::string& identity, const std::vector<std::string>& scopes,
                        const std::string& ttl = "") const;

 private:
  void ReadStdout(int fd);

  std::string root_;
  std::string data_dir_;
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
