// KeyManagerImpl: the key hierarchy over a MasterKey, with a KEK cache.
//
// What is protected: unwrapped identity KEKs. They live only in pages that are
// mlock'ed (never swapped; excluded from core dumps) and are wiped when
// evicted and when the manager is destroyed. DEKs exist in plaintext only
// inside one Seal/Open call (SecretBytes, wiped on return).
// HSM work grows with identities, not requests: a warm Seal or Open performs
// no HSM operation.
//
// Thread safety: all methods may be called concurrently. Cache reads take a
// shared lock; a miss unwraps through the HSM without holding the lock, then
// inserts under the exclusive lock (concurrent misses for the same identity
// may both unwrap; one result is kept, the other wiped).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "kms/internal/master_key.h"
#include "kms/key_manager.h"

namespace strongroom::kms {

namespace internal {

// Fixed-size 32-byte slots carved out of whole mlock'ed pages. Pages are
// locked once and unlocked only when released, because mlock does not nest:
// unlocking one key's page must not unlock another key that shares it.
// Not thread-safe: the owner serialises access.
class LockedKeyArena final {
 public:
  static constexpr std::size_t kSlotBytes = 32;

  LockedKeyArena() = default;
  LockedKeyArena(const LockedKeyArena&) = delete;
  LockedKeyArena& operator=(const LockedKeyArena&) = delete;
  ~LockedKeyArena();  // wipes, unlocks and unmaps everything

  // A zeroed 32-byte slot; nullptr only if memory cannot be mapped.
  std::uint8_t* Allocate();
  // Wipes `slot` and returns it to the arena.
  void Free(std::uint8_t* slot) noexcept;
  // Pages that could not be locked (RLIMIT_MEMLOCK reached); for tests and logs.
  std::size_t unlocked_pages() const;

 private:
  struct Page {
    std::uint8_t* base = nullptr;
    std::size_t size = 0;
    bool locked = false;
    std::vector<bool> used;
    std::size_t in_use = 0;
  };
  std::vector<Page> pages_;
};

}  // namespace internal

class KeyManagerImpl final : public KeyManager {
 public:
  explicit KeyManagerImpl(std::unique_ptr<internal::MasterKey> master);
  KeyManagerImpl(const KeyManagerImpl&) = delete;
  KeyManagerImpl& operator=(const KeyManagerImpl&) = delete;
  ~KeyManagerImpl() override;

  Result<Bytes> NewWrappedKek() override;
  Result<Envelope> Seal(const KekRef& kek, std::string_view plaintext,
                        std::string_view aad) override;
  Result<SecretBytes> Open(const KekRef& kek, const Envelope& envelope,
                           std::string_view aad) override;
  void Evict(std::int64_t identity_id) override;
  Status CheckHsm() override;
  std::uint64_t hsm_operations() const override;

  // Number of cached KEKs (tests).
  std::size_t cached_keks() const;

 private:
  using CacheKey = std::pair<std::int64_t, std::int32_t>;  // identity id, KEK version

  // Runs `fn(kek)` with the identity's KEK, unwrapping it first on a miss.
  template <typename Fn>
  auto WithKek(const KekRef& ref, Fn&& fn) -> decltype(fn(std::span<const std::uint8_t>()));

  const std::unique_ptr<internal::MasterKey> master_;
  mutable std::shared_mutex mu_;
  std::map<CacheKey, std::uint8_t*> cache_;  // guarded by mu_; slots owned by arena_
  internal::LockedKeyArena arena_;           // guarded by mu_
};

}  // namespace strongroom::kms
