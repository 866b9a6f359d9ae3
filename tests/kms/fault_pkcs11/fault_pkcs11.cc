// libstrongroom_fault_pkcs11.so: a PKCS#11 v2.40 module for tests that
// forwards every C_* call to a real module (SoftHSM2) and fails on command.
//
// Environment (read when the module is first used):
//   STRONGROOM_FAULT_PKCS11_MODULE    the real module to dlopen
//                                     (default /usr/lib/softhsm/libsofthsm2.so)
//   STRONGROOM_FAULT_PKCS11_CONTROL   the control file (optional; missing or
//                                     empty file = no faults)
//   STRONGROOM_FAULT_PKCS11_COUNTERS  a file this module rewrites after every
//                                     call with one "C_Name N" line per function
//                                     called so far in this process (optional)
//
// Control file: "key=value" lines, '#' starts a comment. It is re-read on the
// first call after its inode, size or mtime changed (one stat per call), so a
// test in another process controls a running server deterministically: write a
// temporary file and rename it over the control path.
//   rv=CKR_DEVICE_REMOVED    what matching calls return instead of being
//                            forwarded (a CKR_ name, or a number such as 0x32);
//                            absent or CKR_OK: matching calls are forwarded
//   functions=C_Login,...    which calls match (default: every call)
//   times=N                  only the first N matching calls after this version
//                            of the file was loaded fail (default: all)
//   delay_ms=N               every matching call sleeps N ms first (slow HSM)
//   ---                      starts another rule: a call obeys the first rule
//                            that names it (or names no functions) and is not
//                            used up (times reached 0), e.g. a wrong PIN on
//                            C_Login plus one lost session on C_DecryptInit
// Typical modes: device gone (rv=CKR_DEVICE_REMOVED), lost session
// (rv=CKR_SESSION_HANDLE_INVALID functions=C_Decrypt times=1), logged out
// (rv=CKR_USER_NOT_LOGGED_IN), wrong PIN (rv=CKR_PIN_INCORRECT
// functions=C_Login), slow calls (delay_ms=200).
//
// Counters count calls made by the application (faulted or forwarded), so a
// test can assert e.g. "exactly one C_Login". They are never reset; tests diff
// two readings.
//
// Only C_GetFunctionList is exported (no v3.0 C_GetInterface), so callers see a
// v2.40 module. Nothing here reads or logs a PIN.
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Rule {
  CK_RV rv = CKR_OK;
  std::vector<std::string> functions;  // empty: all
  long long times = -1;                // -1: unlimited
  long long delay_ms = 0;
};

struct State {
  std::mutex mu;
  CK_FUNCTION_LIST* real = nullptr;
  bool loaded = false;
  std::string control_path;
  std::string counters_path;
  // Identity of the control file version in `rules`.
  bool have_file = false;
  ino_t ino = 0;
  off_t size = 0;
  timespec mtime{};
  std::vector<Rule> rules;
  std::map<std::string, unsigned long long> counts;
};

State& S() {
  static auto* state = new State();  // leaked: calls may come from exit handlers
  return *state;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}

CK_RV ParseRv(const std::string& v) {
  static const std::map<std::string, CK_RV> kNames = {
      {"CKR_OK", CKR_OK},
      {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
      {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
      {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
      {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
      {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
      {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
      {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
      {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
      {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
      {"CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID},
      {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
  };
  if (auto it = kNames.find(v); it != kNames.end()) return it->second;
  return static_cast<CK_RV>(std::strtoul(v.c_str(), nullptr, 0));
}

std::vector<Rule> ParseRules(const std::string& path) {
  std::vector<Rule> rules(1);
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    if (line.rfind("---", 0) == 0) {
      rules.emplace_back();
      continue;
    }
    Rule& rule = rules.back();
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 1);
    auto trim = [](std::string& s) {
      while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.pop_back();
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    };
    trim(key);
    trim(value);
    if (key == "rv") {
      rule.rv = ParseRv(value);
    } else if (key == "functions") {
      std::stringstream list(value);
      std::string name;
      while (std::getline(list, name, ',')) {
        trim(name);
        if (!name.empty()) rule.functions.push_back(name);
      }
    } else if (key == "times") {
      rule.times = std::atoll(value.c_str());
    } else if (key == "delay_ms") {
      rule.delay_ms = std::atoll(value.c_str());
    }
  }
  return rules;
}

// Loads the real module once. Requires S().mu.
CK_FUNCTION_LIST* RealLocked() {
  State& s = S();
  if (s.loaded) return s.real;
  s.loaded = true;
  const char* path = Env("STRONGROOM_FAULT_PKCS11_MODULE");
  if (path == nullptr) path = "/usr/lib/softhsm/libsofthsm2.so";
  if (const char* c = Env("STRONGROOM_FAULT_PKCS11_CONTROL")) s.control_path = c;
  if (const char* c = Env("STRONGROOM_FAULT_PKCS11_COUNTERS")) s.counters_path = c;
  void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) return nullptr;
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  if (get == nullptr || get(&s.real) != CKR_OK) s.real = nullptr;
  return s.real;
}

// Re-reads the control file if it changed. Requires S().mu.
void RefreshRuleLocked() {
  State& s = S();
  if (s.control_path.empty()) return;
  struct stat st {};
  if (::stat(s.control_path.c_str(), &st) != 0) {
    s.have_file = false;
    s.rules.clear();
    return;
  }
  if (s.have_file && st.st_ino == s.ino && st.st_size == s.size &&
      st.st_mtim.tv_sec == s.mtime.tv_sec && st.st_mtim.tv_nsec == s.mtime.tv_nsec) {
    return;
  }
  s.have_file = true;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime = st.st_mtim;
  s.rules = ParseRules(s.control_path);
}

void WriteCountersLocked() {
  State& s = S();
  if (s.counters_path.empty()) return;
  const std::string tmp = s.counters_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [name, n] : s.counts) out << name << ' ' << n << '\n';
  }
  std::rename(tmp.c_str(), s.counters_path.c_str());
}

// Counts the call and decides its fate: CKR_OK = forward to `*real`.
CK_RV Enter(const char* name, CK_FUNCTION_LIST** real) {
  long long delay_ms = 0;
  CK_RV rv = CKR_OK;
  {
    State& s = S();
    std::lock_guard<std::mutex> lock(s.mu);
    *real = RealLocked();
    RefreshRuleLocked();
    ++s.counts[name];
    WriteCountersLocked();
    for (Rule& rule : s.rules) {
      bool match = rule.functions.empty();
      for (const std::string& f : rule.functions) match = match || f == name;
      if (!match || (rule.rv != CKR_OK && rule.times == 0)) continue;
      delay_ms = rule.delay_ms;
      if (rule.rv != CKR_OK) {
        rv = rule.rv;
        if (rule.times > 0) --rule.times;
      }
      break;
    }
  }
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  if (rv == CKR_OK && *real == nullptr) rv = CKR_GENERAL_ERROR;
  return rv;
}

template <std::size_t N>
struct Name {
  constexpr Name(const char (&s)[N]) { std::copy_n(s, N, value); }  // NOLINT: NTTP literal
  char value[N]{};
};

template <Name kName, auto kMember>
struct Forward;

template <Name kName, typename... Args, CK_RV (*CK_FUNCTION_LIST::*kMember)(Args...)>
struct Forward<kName, kMember> {
  static CK_RV Call(Args... args) {
    CK_FUNCTION_LIST* real = nullptr;
    const CK_RV rv = Enter(kName.value, &real);
    if (rv != CKR_OK) return rv;
    return (real->*kMember)(args...);
  }
};

CK_FUNCTION_LIST MakeList() {
  CK_FUNCTION_LIST list{};
  list.version = {2, 40};
#define FORWARD(f) list.f = &Forward<#f, &CK_FUNCTION_LIST::f>::Call;
  FORWARD(C_Initialize)
  FORWARD(C_Finalize)
  FORWARD(C_GetInfo)
  FORWARD(C_GetSlotList)
  FORWARD(C_GetSlotInfo)
  FORWARD(C_GetTokenInfo)
  FORWARD(C_GetMechanismList)
  FORWARD(C_GetMechanismInfo)
  FORWARD(C_InitToken)
  FORWARD(C_InitPIN)
  FORWARD(C_SetPIN)
  FORWARD(C_OpenSession)
  FORWARD(C_CloseSession)
  FORWARD(C_CloseAllSessions)
  FORWARD(C_GetSessionInfo)
  FORWARD(C_GetOperationState)
  FORWARD(C_SetOperationState)
  FORWARD(C_Login)
  FORWARD(C_Logout)
  FORWARD(C_CreateObject)
  FORWARD(C_CopyObject)
  FORWARD(C_DestroyObject)
  FORWARD(C_GetObjectSize)
  FORWARD(C_GetAttributeValue)
  FORWARD(C_SetAttributeValue)
  FORWARD(C_FindObjectsInit)
  FORWARD(C_FindObjects)
  FORWARD(C_FindObjectsFinal)
  FORWARD(C_EncryptInit)
  FORWARD(C_Encrypt)
  FORWARD(C_EncryptUpdate)
  FORWARD(C_EncryptFinal)
  FORWARD(C_DecryptInit)
  FORWARD(C_Decrypt)
  FORWARD(C_DecryptUpdate)
  FORWARD(C_DecryptFinal)
  FORWARD(C_DigestInit)
  FORWARD(C_Digest)
  FORWARD(C_DigestUpdate)
  FORWARD(C_DigestKey)
  FORWARD(C_DigestFinal)
  FORWARD(C_SignInit)
  FORWARD(C_Sign)
  FORWARD(C_SignUpdate)
  FORWARD(C_SignFinal)
  FORWARD(C_SignRecoverInit)
  FORWARD(C_SignRecover)
  FORWARD(C_VerifyInit)
  FORWARD(C_Verify)
  FORWARD(C_VerifyUpdate)
  FORWARD(C_VerifyFinal)
  FORWARD(C_VerifyRecoverInit)
  FORWARD(C_VerifyRecover)
  FORWARD(C_DigestEncryptUpdate)
  FORWARD(C_DecryptDigestUpdate)
  FORWARD(C_SignEncryptUpdate)
  FORWARD(C_DecryptVerifyUpdate)
  FORWARD(C_GenerateKey)
  FORWARD(C_GenerateKeyPair)
  FORWARD(C_WrapKey)
  FORWARD(C_UnwrapKey)
  FORWARD(C_DeriveKey)
  FORWARD(C_SeedRandom)
  FORWARD(C_GenerateRandom)
  FORWARD(C_GetFunctionStatus)
  FORWARD(C_CancelFunction)
  FORWARD(C_WaitForSlotEvent)
#undef FORWARD
  list.C_GetFunctionList = &C_GetFunctionList;
  return list;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(
    CK_FUNCTION_LIST_PTR_PTR list) {
  static CK_FUNCTION_LIST functions = MakeList();
  if (list == nullptr) return CKR_ARGUMENTS_BAD;
  *list = &functions;
  return CKR_OK;
}
