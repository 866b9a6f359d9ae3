// SPEC 5a: running out of file descriptors never busy-loops. The real binary
// runs with RLIMIT_NOFILE = 128 (soft and hard, set by a wrapper script);
// 150 idle client sockets used to make accept() fail with EMFILE forever,
// spinning the accept thread on a core and starving new clients. Now the
// connection cap is lowered to what the limit holds: connections over it are
// closed at once, the server's CPU time stays flat and /healthz answers on a
// fresh connection once the idle ones are gone.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/testing/http_client.h"
#include "tests/testing/server_process.h"

namespace strongroom::api {
namespace {

using strongroom::testing::HttpClient;
using strongroom::testing::ServerProcess;
using strongroom::testing::TempDir;

// The pid of the process whose command line mentions `marker`, or -1.
pid_t FindProcess(const std::string& marker) {
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return -1;
  pid_t found = -1;
  while (dirent* entry = ::readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file("/proc/" + name + "/cmdline", std::ios::binary);
    std::stringstream text;
    text << file.rdbuf();
    const std::string cmdline = text.str();
    if (cmdline.find(marker) != std::string::npos && cmdline.find("serve") != std::string::npos) {
      found = static_cast<pid_t>(std::stol(name));
      break;
    }
  }
  ::closedir(proc);
  return found;
}

// utime + stime of `pid`, in clock ticks.
long CpuTicks(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return utime + stime;
}

int Connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      ::unsetenv(name_);
    } else {
      ::setenv(name_, old_.c_str(), 1);
    }
  }

 private:
  const char* name_;
  std::string old_;
};

TEST(HttpFdLimitTest, FewFileDescriptorsNeverSpinTheAcceptThread) {
  TempDir root;
  const std::string wrapper = root.path() + "/strongroom-nofile-128";
  {
    std::ofstream script(wrapper);
    script << "#!/bin/sh\nulimit -n 128\nexec '" << strongroom::testing::StrongroomBinary()
           << "' \"$@\"\n";
  }
  ASSERT_EQ(::chmod(wrapper.c_str(), 0700), 0);
  ScopedEnv bin("STRONGROOM_BIN", wrapper);
  ServerProcess server(root.path());
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  const pid_t pid = FindProcess(server.data_dir());
  ASSERT_GT(pid, 0);

  std::vector<int> idle;
  for (int i = 0; i < 150; ++i) {
    const int fd = Connect(server.port());
    if (fd >= 0) idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long ticks_before = CpuTicks(pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long spent = CpuTicks(pid) - ticks_before;
  EXPECT_LT(spent, ::sysconf(_SC_CLK_TCK) / 4) << "the server used CPU while idle at its limit";
  // Over the cap, connections were closed at once.
  int closed = 0;
  for (int fd : idle) {
    pollfd p{fd, POLLIN, 0};
    char byte;
    if (::poll(&p, 1, 0) == 1 && ::recv(fd, &byte, 1, MSG_DONTWAIT) == 0) ++closed;
  }
  EXPECT_GT(closed, 0);
  for (int fd : idle) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  HttpClient client(server.base_url());
  EXPECT_EQ(client.Get("/healthz").status, 200);
  EXPECT_NE(server.StderrText().find("server.max_connections 1024 lowered to"), std::string::npos)
      << server.StderrText();
}

}  // namespace
}  // namespace strongroom::api
