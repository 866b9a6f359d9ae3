#include "tests/testing/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
  return bin != nullptr ? bin : "strongroom";
}

CommandOutput RunCommand(const std::vector<std::string>& argv) {
  CommandOutput result;
  TempDir tmp;
  std::string out_path = tmp.path() + "/out", err_path = tmp.path() + "/err";
  pid_t pid = ::fork();
  if (pid < 0) return result;
  if (pid == 0) {
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    auto args = Argv(argv);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  result.exit_code = WaitExit(pid);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

ServerProcess::ServerProcess(std::string root)
    : root_(std::move(root)), data_dir_(root_ + "/data") {}

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
    auto args = Argv(argv);
    ::execv(args[0], args.data());
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
      if (client.Get("/healthz").status == 200) return true;
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
  std::vector<std::string> argv = {StrongroomBinary(), "admin", "--data-dir", data_dir_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv);
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
