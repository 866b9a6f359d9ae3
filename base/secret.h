// Containers for secret bytes (keys, PINs, plaintext credential data).
//
// Design (after Botan's secure_vector): memory that held a secret is wiped with
// OPENSSL_cleanse before it goes back to the heap, so freed pages, core files and
// later allocations do not carry key material. SecretString additionally wipes its
// inline (small-string) buffer on destruction, which an allocator alone cannot.
// Only move or copy these deliberately: every copy is another place to wipe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace strongroom {

// Overwrites `len` bytes at `ptr` in a way the compiler cannot elide (OPENSSL_cleanse).
void SecureWipe(void* ptr, std::size_t len);

// Allocator that wipes memory before freeing it.
template <typename T>
class SecureAllocator {
 public:
  using value_type = T;
  SecureAllocator() noexcept = default;
  template <typename U>
  SecureAllocator(const SecureAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)

  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept {
    SecureWipe(p, n * sizeof(T));
    ::operator delete(p);
  }
  template <typename U>
  bool operator==(const SecureAllocator<U>&) const noexcept {
    return true;
  }
};

using SecretBytes = std::vector<std::uint8_t, SecureAllocator<std::uint8_t>>;
using SecretStdString = std::basic_string<char, std::char_traits<char>, SecureAllocator<char>>;

// A string holding a secret (PIN, API key, password). Wipes its whole buffer,
// including the inline small-string buffer, when destroyed or cleared.
class SecretString {
 public:
  SecretString() = default;
  explicit SecretString(std::string_view value) : value_(value.data(), value.size()) {}
  SecretString(const SecretString&) = default;
  SecretString(SecretString&& other) noexcept : value_(std::move(other.value_)) { other.Clear(); }
  SecretString& operator=(const SecretString&) = default;
  SecretString& operator=(SecretString&& other) noexcept {
    if (this != &other) {
      Clear();
      value_ = std::move(other.value_);
      other.Clear();
    }
    return *this;
  }
  ~SecretString() { Clear(); }

  std::string_view view() const { return {value_.data(), value_.size()}; }
  const char* c_str() const { return value_.c_str(); }
  std::size_t size() const { return value_.size(); }
  bool empty() const { return value_.empty(); }
  void Clear() noexcept {
    SecureWipe(value_.data(), value_.capacity());
    value_.clear();
  }
  void Append(std::string_view more) { value_.append(more.data(), more.size()); }

 private:
  SecretStdString value_;
};

// Constant-time equality of two byte strings (CRYPTO_memcmp); lengths may leak.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Best-effort protection of the process: no core dumps, not ptrace-attachable by
// other users (PR_SET_DUMPABLE 0). Called once by the server at start-up.
void HardenProcess();

// Locks pages holding key material so they are never swapped and marks them
// MADV_DONTDUMP (whole pages; the mark is applied even when locking fails);
// returns false (and the caller carries on) when the limit on locked memory is
// reached.
bool LockMemory(const void* ptr, std::size_t len);
void UnlockMemory(const void* ptr, std::size_t len);

}  // namespace strongroom
