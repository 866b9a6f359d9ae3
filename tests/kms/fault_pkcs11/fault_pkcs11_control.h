// Drives libstrongroom_fault_pkcs11.so (protocol in fault_pkcs11.cc) from a
// test: the control file, the counters file, and the environment that points
// the module at them. Works across processes: a server started with
// Environment() obeys Set() calls made by the test.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strongroom::testing {

class FaultPkcs11Control {
 public:
  // Control and counters files inside `dir` (which must exist); no faults yet.
  explicit FaultPkcs11Control(const std::string& dir);

  const std::string& control_path() const { return control_path_; }
  const std::string& counters_path() const { return counters_path_; }

  // STRONGROOM_FAULT_PKCS11_{MODULE,CONTROL,COUNTERS} for a process whose
  // fault module should forward to `real_module`.
  std::vector<std::pair<std::string, std::string>> Environment(
      const std::string& real_module) const;
  // Sets Environment() in this process; call before the module is first used.
  void ExportToEnvironment(const std::string& real_module) const;

  // Replaces the control file atomically (write, then rename): the module
  // applies the new rules from its next call. E.g.
  // Set("rv=CKR_SESSION_HANDLE_INVALID\nfunctions=C_DecryptInit\ntimes=1"); several
  // rules are separated by a "---" line.
  void Set(std::string_view rules) const;
  // No faults.
  void Clear() const { Set(""); }
  // Calls of `function` ("C_Login") made so far by the processes using this
  // counters file (0 if none yet).
  unsigned long long Count(std::string_view function) const;

 private:
  std::string control_path_;
  std::string counters_path_;
};

}  // namespace strongroom::testing
