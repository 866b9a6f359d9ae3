#include "base/secret.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

namespace strongroom {

void SecureWipe(void* ptr, std::size_t len) {
  if (ptr != nullptr && len > 0) ::OPENSSL_cleanse(ptr, len);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return ::CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void HardenProcess() {
  struct rlimit no_core = {0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

bool LockMemory(const void* ptr, std::size_t len) {
  if (ptr == nullptr || len == 0) return true;
  // Out of any core dump even when the lock fails (RLIMIT_MEMLOCK reached).
  ::madvise(const_cast<void*>(ptr), len, MADV_DONTDUMP);
  return ::mlock(ptr, len) == 0;
}

void UnlockMemory(const void* ptr, std::size_t len) {
  if (ptr != nullptr && len > 0) ::munlock(ptr, len);
}

}  // namespace strongroom
