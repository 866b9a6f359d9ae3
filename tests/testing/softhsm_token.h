// A throwaway SoftHSM2 token store for tests.
//
// SoftHSM2 reads SOFTHSM2_CONF only in C_Initialize, and a PKCS#11 module is
// initialised once per process, so a test process gets exactly one SoftHSM2
// configuration: SoftHsmEnvironment::Get() creates it on first use (a temporary
// directory holding softhsm2.conf and the token directory, exported as
// SOFTHSM2_CONF) and removes it at process exit. Call Get() before anything
// loads the module. Tests separate themselves by token label (NewToken()).
//
// Thread safety: Get() and NewToken() may be called from any thread.
#pragma once

#include <atomic>
#include <string>
#include <string_view>

namespace strongroom::testing {

inline constexpr char kSoftHsmModulePath[] = "/usr/lib/softhsm/libsofthsm2.so";

// Parameters for one token. PINs are test values, not secrets.
struct SoftHsmToken {
  std::string module_path;
  std::string token_label;
  std::string pin;
  std::string so_pin;
  std::string key_label;
};

// Output and exit status of a shell command.
struct CommandResult {
  int exit_code = -1;  // -1 if the command could not be run or did not exit normally
  std::string output;  // stdout and stderr, interleaved
};

class SoftHsmEnvironment {
 public:
  // The process-wide environment, created (and SOFTHSM2_CONF set) on first call.
  static SoftHsmEnvironment& Get();

  SoftHsmEnvironment(const SoftHsmEnvironment&) = delete;
  SoftHsmEnvironment& operator=(const SoftHsmEnvironment&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& conf_path() const { return conf_path_; }
  const std::string& token_dir() const { return token_dir_; }

  // Parameters for a token not provisioned yet, with a label unique in this
  // process ("<prefix>-<n>", at most 32 bytes).
  SoftHsmToken NewToken(std::string_view prefix = "test");

  // Runs `shell_command` with /bin/sh, SOFTHSM2_CONF pointing here.
  static CommandResult Run(const std::string& shell_command);

 private:
  SoftHsmEnvironment();
  ~SoftHsmEnvironment();

  std::string dir_;
  std::string conf_path_;
  std::string token_dir_;
  std::atomic<int> next_token_{0};
};

}  // namespace strongroom::testing
