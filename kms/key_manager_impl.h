// KeyManagerImpl: the key hierarchy over a MasterKey, with a KEK cache and a
// bounded DEK cache.
//
// What is protected: unwrapped identity KEKs and credential DEKs. Both live
// only in pages that are mlock'ed (never swapped; excluded from core dumps;
// best effort past RLIMIT_MEMLOCK), in two separate LockedKeyArenas, and are
// wiped when evicted and when the manager is destroyed.
// - KEKs: one per (identity, KEK version) in use; dropped only by Evict.
// - DEKs: cached by (identity id, KEK version, exact wrapped DEK bytes), so a
//   warm Open skips the AES-KWP unwrap (the AES-GCM open, which authenticates
//   the ciphertext and its AAD, always runs). A DEK is cached after Seal
//   wrapped it, or after an Open whose GCM tag verified; never after a failed
//   open. At most `dek_cache_capacity` DEKs (default 16384 = 512 KiB of locked
//   memory); when full, CLOCK (second chance) picks the slot to reuse, the
//   victim wiped first. Evict(identity) wipes that identity's DEKs as well.
//   Capacity 0 disables the DEK cache: DEKs then exist in plaintext only inside
//   one Seal/Open call. Outside the arena, a DEK is only ever held in
//   SecretBytes for the duration of a call (wiped on return).
// HSM work grows with identities, not requests: a warm Seal or Open performs
// no HSM operation, so it keeps working while the HSM is down.
// Master keys: the active label starts as the MasterKey's initial label and
// changes only through SetActiveMasterKey; a KekRef with an empty label means
// the initial label. CheckHsm caches the master key's probe for
// kCheckHsmInterval.
//
// Thread safety: all methods may be called concurrently. Cache reads take a
// shared lock (a DEK hit only sets its atomic CLOCK bit); a miss unwraps
// through the HSM (KEK) or AES-KWP (DEK) without holding the lock, then
// inserts under the exclusive lock. Concurrent KEK misses for one identity
// make one HSM call (the others wait for it, then read the cache); concurrent
// DEK misses may both unwrap (one result is kept, the other wiped). A DEK unwrapped while
// an Evict ran is not inserted. The KEK and DEK caches have separate locks,
// never held together.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
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
  // 16384 DEKs x 32 bytes = 512 KiB of locked memory.
  static constexpr std::size_t kDefaultDekCacheCapacity = 16384;

  // `dek_cache_capacity` DEKs at most are cached; 0 disables the DEK cache.
  explicit KeyManagerImpl(std::unique_ptr<internal::MasterKey> master,
                          std::size_t dek_cache_capacity = kDefaultDekCacheCapacity);
  KeyManagerImpl(const KeyManagerImpl&) = delete;
  KeyManagerImpl& operator=(const KeyManagerImpl&) = delete;
  ~KeyManagerImpl() override;

  Result<Bytes> NewWrappedKek() override;
  Result<Envelope> Seal(const KekRef& kek, std::string_view plaintext,
                        std::string_view aad) override;
  Result<SecretBytes> Open(const KekRef& kek, const Envelope& envelope,
                           std::string_view aad) override;
  // Wipes and drops the identity's cached KEKs and DEKs (every KEK version).
  void Evict(std::int64_t identity_id) override;
  Status CheckHsm() override;
  std::uint64_t hsm_operations() const override;
  KeyCacheCounts cache_counts() const override;
  void set_hsm_observer(HsmObserver* observer) override;
  Result<WrappedKek> NewKek() override;
  std::string active_master_key_label() const override;
  Status SetActiveMasterKey(std::string_view label) override;
  Status AddMasterKey(std::string_view label) override;
  Result<WrappedKek> RewrapKek(const KekRef& kek) override;
  Result<Bytes> RewrapDek(const KekRef& from, const KekRef& to, const Bytes& wrapped_dek) override;

  // How long a CheckHsm result is reused (SPEC 5: the HSM probe runs at most
  // once a second however often /readyz is asked).
  static constexpr std::chrono::milliseconds kCheckHsmInterval{1000};

  // Number of cached KEKs (tests).
  std::size_t cached_keks() const;
  // Number of cached DEKs, and Opens served from the DEK cache since start
  // (tests, metrics).
  std::size_t cached_deks() const;
  std::uint64_t dek_cache_hits() const;
  std::size_t dek_cache_capacity() const { return dek_capacity_; }

 private:
  using CacheKey = std::pair<std::int64_t, std::int32_t>;  // identity id, KEK version

  // DEK cache key. The wrapped bytes are not secret (they are in the database)
  // and pin the entry to exactly one DEK: a different wrapping never matches.
  struct DekKeyView {
    std::int64_t identity_id = 0;
    std::int32_t kek_version = 0;
    std::string_view wrapped_dek;
  };
  struct DekKey {
    std::int64_t identity_id = 0;
    std::int32_t kek_version = 0;
    std::string wrapped_dek;
    operator DekKeyView() const {  // NOLINT(google-explicit-constructor): heterogeneous lookup
      return {identity_id, kek_version, wrapped_dek};
    }
  };
  struct DekKeyHash {
    using is_transparent = void;
    std::size_t operator()(const DekKeyView& key) const noexcept;
  };
  struct DekKeyEq {
    using is_transparent = void;
    bool operator()(const DekKeyView& a, const DekKeyView& b) const noexcept {
      return a.identity_id == b.identity_id && a.kek_version == b.kek_version &&
             a.wrapped_dek == b.wrapped_dek;
    }
  };
  struct DekEntry {
    explicit DekEntry(std::uint8_t* dek_slot) : slot(dek_slot) {}
    std::uint8_t* const slot;             // 32 bytes in dek_arena_
    std::atomic<bool> referenced{false};  // CLOCK bit; hits set it under the shared lock
  };
  using DekMap = std::unordered_map<DekKey, DekEntry, DekKeyHash, DekKeyEq>;
  // The CLOCK ring: one element per cached DEK, in no particular order. The
  // identity id is kept inline so Evict scans a flat array.
  struct ClockSlot {
    std::int64_t identity_id = 0;
    DekMap::value_type* entry = nullptr;  // nodes of an unordered_map do not move
  };

  // Runs `fn(kek)` with the identity's KEK, unwrapping it first on a miss.
  template <typename Fn>
  auto WithKek(const KekRef& ref, Fn&& fn) -> decltype(fn(std::span<const std::uint8_t>()));

  // Caches `dek` under `key` unless already cached or an Evict ran since
  // dek_epoch_ was `epoch`.
  void InsertDek(const DekKeyView& key, std::span<const std::uint8_t> dek, std::uint64_t epoch);
  // Index into clock_ of the entry to replace; clock_ must be full. Needs dek_mu_ exclusively.
  std::size_t ClockVictim();

  // The label a KekRef's wrapped KEK is under.
  std::string_view LabelOf(const KekRef& ref) const;

  const std::unique_ptr<internal::MasterKey> master_;
  mutable std::mutex active_mu_;
  std::string active_label_;  // guarded by active_mu_

  std::mutex check_mu_;                               // serialises CheckHsm probes
  std::chrono::steady_clock::time_point checked_at_;  // guarded by check_mu_
  bool check_valid_ = false;                          // guarded by check_mu_
  Status last_check_;                                 // guarded by check_mu_
  mutable std::shared_mutex mu_;
  std::map<CacheKey, std::uint8_t*> cache_;  // guarded by mu_; slots owned by arena_
  internal::LockedKeyArena arena_;           // guarded by mu_
  std::uint64_t kek_epoch_ = 0;              // guarded by mu_; bumped by every Evict
  // One gate per KEK being unwrapped through the HSM (single flight); never
  // held together with mu_ in the other order (gate, then mu_).
  std::mutex unwrapping_mu_;
  std::map<CacheKey, std::shared_ptr<std::mutex>> unwrapping_;  // guarded by unwrapping_mu_

  const std::size_t dek_capacity_;
  mutable std::shared_mutex dek_mu_;    // never held together with mu_
  internal::LockedKeyArena dek_arena_;  // guarded by dek_mu_
  DekMap deks_;                         // guarded by dek_mu_; slots owned by dek_arena_
  std::vector<ClockSlot> clock_;        // guarded by dek_mu_
  std::size_t hand_ = 0;                // guarded by dek_mu_; next clock_ index to examine
  std::uint64_t dek_epoch_ = 0;         // guarded by dek_mu_; bumped by every Evict
  std::atomic<std::uint64_t> dek_hits_{0};
  std::atomic<std::uint64_t> dek_misses_{0};
  std::atomic<std::uint64_t> kek_hits_{0};
  std::atomic<std::uint64_t> kek_misses_{0};
  std::atomic<HsmObserver*> observer_{nullptr};

  // Runs `call` (one master key call) and tells the observer how long it took.
  template <typename Fn>
  auto TimedHsmCall(Fn&& call) -> decltype(call());
};

}  // namespace strongroom::kms
