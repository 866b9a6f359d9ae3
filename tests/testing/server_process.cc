#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "tests/testing/http_client.h"

namespace strongroom::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<char*> Argv(const std::vector<std::string>& args) {
  std::vector<char*> out;
  for (const auto& a : args) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

// This process's environment with `extra` ("NAME=value") added, replacing
// variables of the same name.
std::vector<std::string> EnvWith(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || x.rfind(name, 0) == 0;
    if (!replaced) out.push_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

// First line of a file, without the line end.
std::string FirstLine(const std::string& path) {
  std::string text = ReadFile(path);
  return text.substr(0, text.find_first_of("\r\n"));
}

// A TOML basic string.
std::string TomlString(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/strongroom-test-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string CommandOutput::LastLine() const {
  std::istringstream in(out);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) last = line;
  }
  return last;
}

std::string StrongroomBinary() {
  const char* bin = std::getenv("STRONGROOM_BIN");
  if (bin != nullptr && *bin != '\0') return bin;
#ifdef STRONGROOM_BIN_DEFAULT
  // Tests registered with only one ENVIRONMENT variable (the MySQL ones) get
  // the build's binary from here.
  return STRONGROOM_BIN_DEFAULT;
#else
  return "strongroom";
#endif
}

CommandOutput RunCommand(const std::vector<std::string>& argv) { return RunCommand(argv, {}); }

CommandOutput RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& extra_env) {
  CommandOutput result;
  TempDir tmp;
  std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
  // Built before fork: the child of a threaded process must not allocate.
  const std::vector<std::string> env = EnvWith(extra_env);
  auto args = Argv(argv);
  auto envp = Argv(env);
  pid_t pid = ::fork();
  if (pid < 0) return result;
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  result.exit_code = WaitExit(pid);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

std::shared_ptr<ConfigDeployment> ConfigDeployment::CreateMysql(const std::string& dir,
                                                                const MysqlDatabase& database,
                                                                std::string* error) {
  // The token: dev mode provisions one (SoftHSM2 token "strongroom-dev" with
  // an RSA master key "strongroom-master") exactly as `serve` expects it.
  const std::string hsm_root = dir + "/hsm";
  std::error_code ec;
  std::filesystem::create_directories(hsm_root, ec);
  if (ec) {
    *error = "cannot create " + hsm_root + ": " + ec.message();
    return nullptr;
  }
  {
    ServerProcess provisioner(hsm_root);
    if (!provisioner.Start(error)) {
      *error = "provisioning the SoftHSM2 token with `serve --dev` failed: " + *error;
      return nullptr;
    }
    if (provisioner.Stop() != 0) {
      *error = "`serve --dev` did not stop cleanly: " + provisioner.StderrText();
      return nullptr;
    }
  }
  const std::string data = hsm_root + "/data";
  const std::string pin = FirstLine(data + "/hsm-pin");
  if (pin.empty()) {
    *error = "no PIN in " + data + "/hsm-pin";
    return nullptr;
  }

  std::shared_ptr<ConfigDeployment> deployment(new ConfigDeployment());
  deployment->database_ = database;
  deployment->config_path_ = dir + "/strongroom.toml";
  deployment->token_dir_ = data + "/tokens";
  deployment->env_ = {"SOFTHSM2_CONF=" + data + "/softhsm2.conf", "STRONGROOM_HSM_PIN=" + pin,
                      "STRONGROOM_DB_PASSWORD=" + database.password};
  if (!deployment->WriteConfig(error)) return nullptr;
  return deployment;
}

bool ConfigDeployment::WriteConfig(std::string* error) const {
  std::ofstream toml(config_path_, std::ios::trunc);
  toml << "[server]\n"
       << "listen = \"127.0.0.1:0\"\n"
       << "[store]\n"
       << "backend = \"mysql\"\n"
       << "url = " << TomlString(database_.url) << "\n"
       << "user = " << TomlString(database_.user) << "\n"
       << "password_env = \"STRONGROOM_DB_PASSWORD\"\n"
       << "database = " << TomlString(database_.database) << "\n"
       << "pool_size = " << database_.pool_size << "\n"
       << (database_.galera ? "galera = true\n" : "") << "[hsm]\n"
       << "module = \"/usr/lib/softhsm/libsofthsm2.so\"\n"
       << "token_label = \"strongroom-dev\"\n"
       << "pin_env = \"STRONGROOM_HSM_PIN\"\n"
       << "master_key_label = \"strongroom-master\"\n";
  toml.close();
  if (!toml) {
    *error = "cannot write " + config_path_;
    return false;
  }
  return true;
}

std::shared_ptr<ConfigDeployment> ConfigDeployment::WithUrl(const std::string& dir,
                                                            const std::string& url,
                                                            std::string* error) const {
  std::shared_ptr<ConfigDeployment> copy(new ConfigDeployment());
  copy->database_ = database_;
  copy->database_.url = url;
  copy->config_path_ = dir + "/strongroom.toml";
  copy->token_dir_ = token_dir_;
  copy->env_ = env_;
  if (!copy->WriteConfig(error)) return nullptr;
  return copy;
}

CommandOutput ConfigDeployment::Admin(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {StrongroomBinary(), "admin", "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, env_);
}

std::string ConfigDeployment::DevKey(std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!dev_key_.empty()) return dev_key_;
  CommandOutput created = Admin({"identity", "create", "dev"});
  if (created.exit_code != 0) {
    // Fine if it exists already (another test tool made it).
    CommandOutput listed = Admin({"identity", "list"});
    if (listed.exit_code != 0 || !std::regex_search(listed.out, std::regex("(^|\\s)dev(\\s|$)"))) {
      *error = "admin identity create dev failed: " + created.err;
      return "";
    }
  }
  CommandOutput key = Admin(
      {"key", "create", "--identity", "dev", "--scope", "vault:read", "--scope", "vault:write"});
  if (key.exit_code != 0 || key.LastLine().rfind("sr_", 0) != 0) {
    *error = "admin key create failed: " + key.err;
    return "";
  }
  dev_key_ = key.LastLine();
  return dev_key_;
}

ServerProcess::ServerProcess(std::string root)
    : root_(std::move(root)), data_dir_(root_ + "/data") {}

ServerProcess::ServerProcess(std::string root, std::shared_ptr<ConfigDeployment> deployment)
    : root_(std::move(root)), data_dir_(root_ + "/data"), deployment_(std::move(deployment)) {}

ServerProcess::ServerProcess(std::string root, std::string config_path,
                             std::vector<std::string> env)
    : root_(std::move(root)),
      data_dir_(root_ + "/data"),
      config_path_(std::move(config_path)),
      config_env_(std::move(env)) {}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
  if (reader_.joinable()) reader_.join();
}

std::string ServerProcess::base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

bool ServerProcess::Start(std::string* error) {
  if (reader_.joinable()) reader_.join();
  ++run_;
  stderr_path_ = root_ + "/serve-" + std::to_string(run_) + ".stderr";
  stderr_paths_.push_back(stderr_path_);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    *error = "pipe failed";
    return false;
  }
  std::vector<std::string> argv = {StrongroomBinary(), "serve",    "--dev",      "--data-dir",
                                   data_dir_,          "--listen", "127.0.0.1:0"};
  std::vector<std::string> env = EnvWith({});
  if (deployment_ != nullptr) {
    if (config_env_.empty() && !CopyToken(error)) return false;
    argv = {StrongroomBinary(), "serve", "--config", deployment_->config_path()};
    env = EnvWith(config_env_);
  } else if (!config_path_.empty()) {
    argv = {StrongroomBinary(), "serve", "--config", config_path_};
    env = EnvWith(config_env_);
  }
  argv.insert(argv.end(), extra_serve_args_.begin(), extra_serve_args_.end());
  auto args = Argv(argv);
  auto envp = Argv(env);
  pid_t pid = ::fork();
  if (pid < 0) {
    *error = "fork failed";
    return false;
  }
  if (pid == 0) {
    int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(pipe_fds[1], 1);
    ::dup2(err, 2);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  pid_ = pid;
  port_ = 0;
  std::size_t stdout_start;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stdout_start = stdout_.size();
  }
  reader_ = std::thread([this, fd = pipe_fds[0]] { ReadStdout(fd); });

  static const std::regex kListening(R"(listening on https?://127\.0\.0\.1:(\d+))");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text;
    {
      std::lock_guard<std::mutex> lock(mu_);
      text = stdout_.substr(stdout_start);
    }
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("sr_", 0) == 0) dev_key_ = line;
      std::smatch m;
      if (port_ == 0 && std::regex_search(line, m, kListening)) {
        port_ = static_cast<std::uint16_t>(std::stoi(m[1].str()));
      }
    }
    if (port_ != 0) {
      HttpClient client(base_url());
      if (client.Get("/healthz").status == 200) {
        if (deployment_ == nullptr) return true;
        dev_key_ = deployment_->DevKey(error);
        return !dev_key_.empty();
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "server exited during start-up; stderr:\n" + ReadFile(stderr_path_);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  *error = "server did not become healthy in time; stderr:\n" + ReadFile(stderr_path_);
  Kill9();
  return false;
}

bool ServerProcess::CopyToken(std::string* error) {
  const std::string hsm = root_ + "/hsm";
  const std::string tokens = hsm + "/tokens";
  const std::string conf = hsm + "/softhsm2.conf";
  std::error_code ec;
  std::filesystem::create_directories(hsm, ec);
  if (!ec) {
    std::filesystem::copy(deployment_->token_dir(), tokens,
                          std::filesystem::copy_options::recursive, ec);
  }
  if (ec) {
    *error = "cannot copy the SoftHSM2 token to " + tokens + ": " + ec.message();
    return false;
  }
  std::ofstream out(conf, std::ios::trunc);
  out << "directories.tokendir = " << tokens << "\n"
      << "objectstore.backend = file\n"
      << "log.level = ERROR\n"
      << "slots.removable = false\n";
  out.close();
  if (!out) {
    *error = "cannot write " + conf;
    return false;
  }
  for (const std::string& entry : deployment_->env()) {
    config_env_.push_back(entry.rfind("SOFTHSM2_CONF=", 0) == 0 ? "SOFTHSM2_CONF=" + conf : entry);
  }
  return true;
}

void ServerProcess::ReadStdout(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::lock_guard<std::mutex> lock(mu_);
    stdout_.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill9();
  return -1;
}

void ServerProcess::Kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  WaitExit(pid_);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
}

std::string ServerProcess::StdoutText() {
  std::lock_guard<std::mutex> lock(mu_);
  return stdout_;
}

std::string ServerProcess::StderrText() const {
  std::string all;
  for (const auto& path : stderr_paths_) all += ReadFile(path);
  return all;
}

CommandOutput ServerProcess::Admin(const std::vector<std::string>& args) const {
  if (deployment_ != nullptr) return deployment_->Admin(args);
  std::vector<std::string> argv = {StrongroomBinary(), "admin", "--data-dir", data_dir_};
  if (!config_path_.empty()) argv = {StrongroomBinary(), "admin", "--config", config_path_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, config_env_);
}

std::string ServerProcess::CreateKey(const std::string& identity,
                                     const std::vector<std::string>& scopes,
                                     const std::string& ttl) const {
  std::vector<std::string> args = {"key", "create", "--identity", identity};
  for (const auto& s : scopes) {
    args.push_back("--scope");
    args.push_back(s);
  }
  if (!ttl.empty()) {
    args.push_back("--ttl");
    args.push_back(ttl);
  }
  CommandOutput out = Admin(args);
  if (out.exit_code != 0) return "";
  std::string key = out.LastLine();
  return key.rfind("sr_", 0) == 0 ? key : "";
}

}  // namespace strongroom::testing
