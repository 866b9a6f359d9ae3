#include "tests/testing/softhsm_token.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace strongroom::testing {

SoftHsmEnvironment& SoftHsmEnvironment::Get() {
  // Destroyed at exit, which removes the directory.
  static SoftHsmEnvironment env;
  return env;
}

SoftHsmEnvironment::SoftHsmEnvironment() {
  std::string templ = (std::filesystem::temp_directory_path() / "strongroom-softhsm-XXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed for the SoftHSM2 test directory");
  }
  dir_ = templ;
  token_dir_ = dir_ + "/tokens";
  conf_path_ = dir_ + "/softhsm2.conf";
  std::filesystem::create_directory(token_dir_);
  std::ofstream conf(conf_path_);
  conf << "directories.tokendir = " << token_dir_ << "\n"
       << "objectstore.backend = file\n"
       << "log.level = ERROR\n"
       << "slots.removable = false\n";
  conf.close();
  if (!conf) throw std::runtime_error("cannot write " + conf_path_);
  ::setenv("SOFTHSM2_CONF", conf_path_.c_str(), /*overwrite=*/1);
}

SoftHsmEnvironment::~SoftHsmEnvironment() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

SoftHsmToken SoftHsmEnvironment::NewToken(std::string_view prefix) {
  const int n = next_token_.fetch_add(1);
  SoftHsmToken token;
  token.module_path = kSoftHsmModulePath;
  token.token_label = std::string(prefix.substr(0, 24)) + "-" + std::to_string(n);
  token.pin = "user-pin-" + std::to_string(n);
  token.so_pin = "so-pin-" + std::to_string(n);
  token.key_label = "strongroom-master";
  return token;
}

CommandResult SoftHsmEnvironment::Run(const std::string& shell_command) {
  Get();  // SOFTHSM2_CONF is inherited by the child
  CommandResult result;
  FILE* pipe = ::popen((shell_command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace strongroom::testing
