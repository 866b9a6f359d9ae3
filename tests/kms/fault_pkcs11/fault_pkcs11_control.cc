// See fault_pkcs11_control.h.
#include "tests/kms/fault_pkcs11/fault_pkcs11_control.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace strongroom::testing {

FaultPkcs11Control::FaultPkcs11Control(const std::string& dir)
    : control_path_(dir + "/fault_pkcs11.control"), counters_path_(dir + "/fault_pkcs11.counters") {
  Clear();
}

std::vector<std::pair<std::string, std::string>> FaultPkcs11Control::Environment(
    const std::string& real_module) const {
  return {{"STRONGROOM_FAULT_PKCS11_MODULE", real_module},
          {"STRONGROOM_FAULT_PKCS11_CONTROL", control_path_},
          {"STRONGROOM_FAULT_PKCS11_COUNTERS", counters_path_}};
}

void FaultPkcs11Control::ExportToEnvironment(const std::string& real_module) const {
  for (const auto& [name, value] : Environment(real_module)) {
    ::setenv(name.c_str(), value.c_str(), 1);
  }
}

void FaultPkcs11Control::Set(std::string_view rules) const {
  const std::string tmp = control_path_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << rules << '\n';
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), control_path_.c_str()) != 0) {
    throw std::runtime_error("cannot rename " + tmp);
  }
}

unsigned long long FaultPkcs11Control::Count(std::string_view function) const {
  std::ifstream in(counters_path_);
  std::string name;
  unsigned long long n = 0;
  while (in >> name >> n) {
    if (name == function) return n;
  }
  return 0;
}

}  // namespace strongroom::testing
