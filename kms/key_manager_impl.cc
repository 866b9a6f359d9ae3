// Key hierarchy, KEK cache and DEK cache. See kms/key_manager_impl.h.
#include "kms/key_manager_impl.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <limits>
#include <mutex>

#include "base/random.h"
#include "kms/internal/aead.h"

namespace strongroom::kms {
namespace internal {

LockedKeyArena::~LockedKeyArena() {
  for (Page& page : pages_) {
    SecureWipe(page.base, page.size);
    if (page.locked) UnlockMemory(page.base, page.size);
    ::munmap(page.base, page.size);
  }
}

std::uint8_t* LockedKeyArena::Allocate() {
  for (Page& page : pages_) {
    if (page.in_use == page.used.size()) continue;
    for (std::size_t i = 0; i < page.used.size(); ++i) {
      if (page.used[i]) continue;
      page.used[i] = true;
      ++page.in_use;
      return page.base + i * kSlotBytes;
    }
  }
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const std::size_t size = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
  void* mem = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  Page page;
  page.base = static_cast<std::uint8_t*>(mem);
  page.size = size;
  // Best effort (base/secret.h): past RLIMIT_MEMLOCK the key is still wiped on eviction.
  page.locked = LockMemory(page.base, size);
  page.used.assign(size / kSlotBytes, false);
  page.used[0] = true;
  page.in_use = 1;
  pages_.push_back(std::move(page));
  return pages_.back().base;
}

void LockedKeyArena::Free(std::uint8_t* slot) noexcept {
  for (Page& page : pages_) {
    if (slot < page.base || slot >= page.base + page.size) continue;
    SecureWipe(slot, kSlotBytes);
    const std::size_t index = static_cast<std::size_t>(slot - page.base) / kSlotBytes;
    if (page.used[index]) {
      page.used[index] = false;
      --page.in_use;
    }
    return;
  }
}

std::size_t LockedKeyArena::unlocked_pages() const {
  std::size_t n = 0;
  for (const Page& page : pages_) n += page.locked ? 0 : 1;
  return n;
}

}  // namespace internal

namespace {

std::string_view AsChars(const Bytes& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

KeyManagerImpl::KeyManagerImpl(std::unique_ptr<internal::MasterKey> master,
                               std::size_t dek_cache_capacity)
    : master_(std::move(master)),
      active_label_(master_->initial_label()),
      dek_capacity_(dek_cache_capacity) {
  // Up front, so InsertDek never fails half-way between the map and the ring.
  clock_.reserve(dek_capacity_);
}

// The arenas' destructors wipe every cached KEK and DEK.
KeyManagerImpl::~KeyManagerImpl() = default;

std::size_t KeyManagerImpl::DekKeyHash::operator()(const DekKeyView& key) const noexcept {
  // Wrapped DEKs of opened or sealed envelopes are AES-KWP output (pseudorandom
  // under the KEK), so hashing them needs no flooding resistance.
  std::uint64_t h = std::hash<std::string_view>{}(key.wrapped_dek);
  h ^= static_cast<std::uint64_t>(key.identity_id) * 0x9e3779b97f4a7c15ull;
  h ^= static_cast<std::uint64_t>(static_cast<std::uint32_t>(key.kek_version)) << 32;
  // splitmix64 finaliser.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return static_cast<std::size_t>(h);
}

template <typename Fn>
auto KeyManagerImpl::WithKek(const KekRef& ref, Fn&& fn)
    -> decltype(fn(std::span<const std::uint8_t>())) {
  const CacheKey key{ref.identity_id, ref.kek_version};
  std::uint64_t epoch = 0;
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      kek_hits_.fetch_add(1, std::memory_order_relaxed);
      return fn(std::span<const std::uint8_t>(it->second, internal::kAes256KeyBytes));
    }
    epoch = kek_epoch_;
  }
  kek_misses_.fetch_add(1, std::memory_order_relaxed);
  if (ref.wrapped_kek == nullptr || ref.wrapped_kek->empty()) {
    return InvalidArgumentError("identity has no wrapped KEK");
  }
  // Single flight: concurrent misses for one KEK wait for the first one's HSM
  // round trip instead of each making their own (a cold identity under load).
  std::shared_ptr<std::mutex> gate;
  {
    std::lock_guard<std::mutex> lock(unwrapping_mu_);
    std::shared_ptr<std::mutex>& slot = unwrapping_[key];
    if (!slot) slot = std::make_shared<std::mutex>();
    gate = slot;
  }
  std::unique_lock<std::mutex> gate_lock(*gate);
  // The last one through the gate removes it (every copy is taken under unwrapping_mu_).
  struct GateRelease {
    KeyManagerImpl* self;
    const CacheKey& key;
    std::shared_ptr<std::mutex>& gate;
    std::unique_lock<std::mutex>& gate_lock;
    ~GateRelease() {
      gate_lock.unlock();
      std::lock_guard<std::mutex> lock(self->unwrapping_mu_);
      gate_lock.release();  // the mutex dies with the last copy; nothing to unlock later
      gate.reset();
      auto it = self->unwrapping_.find(key);
      if (it != self->unwrapping_.end() && it->second.use_count() == 1) {
        self->unwrapping_.erase(it);
      }
    }
  } release{this, key, gate, gate_lock};
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      return fn(std::span<const std::uint8_t>(it->second, internal::kAes256KeyBytes));
    }
  }
  // HSM round trip without holding mu_, so warm identities are never blocked by it.
  Result<SecretBytes> kek =
      TimedHsmCall([&] { return master_->Unwrap(LabelOf(ref), *ref.wrapped_kek); });
  if (!kek.ok()) {
    if (kek.status().code() == StatusCode::kUnavailable) {
      // /readyz should not report a stale "ok" for up to a second.
      std::lock_guard<std::mutex> lock(check_mu_);
      check_valid_ = false;
    }
    return kek.status();
  }
  if (kek->size() != internal::kAes256KeyBytes) {
    return DataLossError("identity KEK failed to unwrap under the master key: wrong key size");
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  // An Evict (identity deleted: crypto-shredding) ran while this KEK was being
  // unwrapped: use it for this one call, but never cache it again.
  if (epoch != kek_epoch_) {
    return fn(std::span<const std::uint8_t>(kek->data(), internal::kAes256KeyBytes));
  }
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    std::uint8_t* slot = arena_.Allocate();
    if (slot == nullptr) return InternalError("cannot allocate locked memory for a KEK");
    std::memcpy(slot, kek->data(), internal::kAes256KeyBytes);
    it = cache_.emplace(key, slot).first;
  }
  return fn(std::span<const std::uint8_t>(it->second, internal::kAes256KeyBytes));
}

std::string_view KeyManagerImpl::LabelOf(const KekRef& ref) const {
  return ref.master_key_label.empty() ? std::string_view(master_->initial_label())
                                      : ref.master_key_label;
}

Result<Bytes> KeyManagerImpl::NewWrappedKek() {
  SR_ASSIGN_OR_RETURN(WrappedKek kek, NewKek());
  return std::move(kek.wrapped);
}

Result<WrappedKek> KeyManagerImpl::NewKek() {
  SR_ASSIGN_OR_RETURN(SecretBytes kek, RandomSecretBytes(internal::kAes256KeyBytes));
  // One read of the active label: the wrap and the label returned always agree.
  WrappedKek out;
  out.master_key_label = active_master_key_label();
  SR_ASSIGN_OR_RETURN(out.wrapped,
                      TimedHsmCall([&] { return master_->Wrap(out.master_key_label, kek); }));
  return out;
}

std::string KeyManagerImpl::active_master_key_label() const {
  std::lock_guard<std::mutex> lock(active_mu_);
  return active_label_;
}

Status KeyManagerImpl::AddMasterKey(std::string_view label) { return master_->AddKey(label); }

Status KeyManagerImpl::SetActiveMasterKey(std::string_view label) {
  SR_RETURN_IF_ERROR(master_->AddKey(label));
  std::lock_guard<std::mutex> lock(active_mu_);
  active_label_ = std::string(label);
  return Status::Ok();
}

Result<WrappedKek> KeyManagerImpl::RewrapKek(const KekRef& kek) {
  return WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<WrappedKek> {
    WrappedKek out;
    out.master_key_label = active_master_key_label();
    SR_ASSIGN_OR_RETURN(out.wrapped,
                        TimedHsmCall([&] { return master_->Wrap(out.master_key_label, key); }));
    return out;
  });
}

Result<Bytes> KeyManagerImpl::RewrapDek(const KekRef& from, const KekRef& to,
                                        const Bytes& wrapped_dek) {
  SecretBytes dek;
  SR_RETURN_IF_ERROR(WithKek(from, [&](std::span<const std::uint8_t> kek) -> Status {
    SR_ASSIGN_OR_RETURN(dek, internal::UnwrapDek(kek, wrapped_dek));
    return Status::Ok();
  }));
  return WithKek(to, [&](std::span<const std::uint8_t> kek) -> Result<Bytes> {
    return internal::AesKeyWrapPad(kek, dek);
  });
}

Result<Envelope> KeyManagerImpl::Seal(const KekRef& kek, std::string_view plaintext,
                                      std::string_view aad) {
  if (dek_capacity_ == 0) {
    return WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<Envelope> {
      return internal::SealWithKek(key, plaintext, aad);
    });
  }
  SR_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecretBytes(internal::kAes256KeyBytes));
  std::uint64_t epoch = 0;
  {
    std::shared_lock<std::shared_mutex> lock(dek_mu_);
    epoch = dek_epoch_;
  }
  Result<Envelope> envelope =
      WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<Envelope> {
        return internal::SealWithDek(key, dek, plaintext, aad);
      });
  // The first Open after a write is then a hit.
  if (envelope.ok()) {
    InsertDek({kek.identity_id, kek.kek_version, AsChars(envelope->wrapped_dek)}, dek, epoch);
  }
  return envelope;
}

Result<SecretBytes> KeyManagerImpl::Open(const KekRef& kek, const Envelope& envelope,
                                         std::string_view aad) {
  if (dek_capacity_ == 0) {
    return WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<SecretBytes> {
      return internal::OpenWithKek(key, envelope, aad);
    });
  }
  const DekKeyView key{kek.identity_id, kek.kek_version, AsChars(envelope.wrapped_dek)};
  std::uint64_t epoch = 0;
  // A hit copies the DEK out (wiped on return) and decrypts after the shared
  // lock is released, so inserts and Evict never wait for a large decrypt.
  struct WipedDek {
    std::uint8_t bytes[internal::kAes256KeyBytes];
    ~WipedDek() { SecureWipe(bytes, sizeof bytes); }
  } hit;
  bool found = false;
  {
    std::shared_lock<std::shared_mutex> lock(dek_mu_);
    if (auto it = deks_.find(key); it != deks_.end()) {
      DekEntry& entry = it->second;
      // Read before write: no cache-line traffic for entries already marked.
      if (!entry.referenced.load(std::memory_order_relaxed)) {
        entry.referenced.store(true, std::memory_order_relaxed);
      }
      dek_hits_.fetch_add(1, std::memory_order_relaxed);
      std::memcpy(hit.bytes, entry.slot, sizeof hit.bytes);
      found = true;
    } else {
      epoch = dek_epoch_;
      dek_misses_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (found) {
    // A forged ciphertext or AAD still fails here: GCM authenticates it.
    return internal::OpenWithDek(std::span<const std::uint8_t>(hit.bytes, sizeof hit.bytes),
                                 envelope, aad);
  }
  SecretBytes dek;
  const Status unwrapped = WithKek(kek, [&](std::span<const std::uint8_t> kek_bytes) -> Status {
    SR_ASSIGN_OR_RETURN(dek, internal::UnwrapDek(kek_bytes, envelope.wrapped_dek));
    return Status::Ok();
  });
  if (!unwrapped.ok()) return unwrapped;
  Result<SecretBytes> plaintext = internal::OpenWithDek(dek, envelope, aad);
  // Only a DEK that authenticated its ciphertext is cached.
  if (plaintext.ok()) InsertDek(key, dek, epoch);
  return plaintext;
}

void KeyManagerImpl::InsertDek(const DekKeyView& key, std::span<const std::uint8_t> dek,
                               std::uint64_t epoch) {
  if (dek.size() != internal::kAes256KeyBytes) return;
  std::unique_lock<std::shared_mutex> lock(dek_mu_);
  // An Evict since the caller started may have been for this identity
  // (crypto-shredding): its DEKs must stay gone. Skipping costs one miss.
  if (epoch != dek_epoch_) return;
  if (deks_.find(key) != deks_.end()) return;  // a concurrent miss got here first
  if (clock_.size() < dek_capacity_) {
    DekKey owned{key.identity_id, key.kek_version, std::string(key.wrapped_dek)};
    std::uint8_t* slot = dek_arena_.Allocate();
    if (slot == nullptr) return;  // the cache is an optimisation: carry on uncached
    std::memcpy(slot, dek.data(), internal::kAes256KeyBytes);
    auto it = deks_.try_emplace(std::move(owned), slot).first;
    clock_.push_back(ClockSlot{key.identity_id, &*it});
    return;
  }
  // Full: reuse the victim's node and slot (no arena search). The one
  // allocation (the key's bytes) happens before anything is taken apart.
  std::string wrapped(key.wrapped_dek);
  ClockSlot& victim = clock_[ClockVictim()];
  auto node = deks_.extract(deks_.find(victim.entry->first));
  SecureWipe(node.mapped().slot, internal::kAes256KeyBytes);
  node.key().identity_id = key.identity_id;
  node.key().kek_version = key.kek_version;
  node.key().wrapped_dek.swap(wrapped);
  std::memcpy(node.mapped().slot, dek.data(), internal::kAes256KeyBytes);
  node.mapped().referenced.store(false, std::memory_order_relaxed);
  victim.identity_id = key.identity_id;
  victim.entry = &*deks_.insert(std::move(node)).position;
}

std::size_t KeyManagerImpl::ClockVictim() {
  // Second chance: the hand clears set bits until it finds a clear one, so at
  // most one full turn plus one step.
  for (;;) {
    if (hand_ >= clock_.size()) hand_ = 0;
    const std::size_t index = hand_++;
    if (!clock_[index].entry->second.referenced.exchange(false, std::memory_order_relaxed)) {
      return index;
    }
  }
}

void KeyManagerImpl::Evict(std::int64_t identity_id) {
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    ++kek_epoch_;
    auto it = cache_.lower_bound(CacheKey{identity_id, std::numeric_limits<std::int32_t>::min()});
    while (it != cache_.end() && it->first.first == identity_id) {
      arena_.Free(it->second);
      it = cache_.erase(it);
    }
  }
  if (dek_capacity_ == 0) return;
  std::unique_lock<std::shared_mutex> lock(dek_mu_);
  ++dek_epoch_;
  for (std::size_t i = 0; i < clock_.size();) {
    if (clock_[i].identity_id != identity_id) {
      ++i;
      continue;
    }
    DekMap::value_type* entry = clock_[i].entry;
    dek_arena_.Free(entry->second.slot);  // wipes
    deks_.erase(deks_.find(entry->first));
    clock_[i] = clock_.back();
    clock_.pop_back();
  }
  if (hand_ >= clock_.size()) hand_ = 0;
}

Status KeyManagerImpl::CheckHsm() {
  std::lock_guard<std::mutex> lock(check_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (check_valid_ && now - checked_at_ < kCheckHsmInterval) return last_check_;
  last_check_ = TimedHsmCall([&] { return master_->Check(); });
  checked_at_ = now;
  check_valid_ = true;
  return last_check_;
}

std::uint64_t KeyManagerImpl::hsm_operations() const { return master_->operations(); }

KeyCacheCounts KeyManagerImpl::cache_counts() const {
  KeyCacheCounts counts;
  counts.kek_hits = kek_hits_.load(std::memory_order_relaxed);
  counts.kek_misses = kek_misses_.load(std::memory_order_relaxed);
  counts.dek_hits = dek_hits_.load(std::memory_order_relaxed);
  counts.dek_misses = dek_misses_.load(std::memory_order_relaxed);
  return counts;
}

void KeyManagerImpl::set_hsm_observer(HsmObserver* observer) {
  observer_.store(observer, std::memory_order_release);
}

template <typename Fn>
auto KeyManagerImpl::TimedHsmCall(Fn&& call) -> decltype(call()) {
  HsmObserver* observer = observer_.load(std::memory_order_acquire);
  if (observer == nullptr) return call();
  const auto started = std::chrono::steady_clock::now();
  auto result = call();
  observer->ObserveHsmCall(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return result;
}

std::size_t KeyManagerImpl::cached_keks() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return cache_.size();
}

std::size_t KeyManagerImpl::cached_deks() const {
  std::shared_lock<std::shared_mutex> lock(dek_mu_);
  return deks_.size();
}

std::uint64_t KeyManagerImpl::dek_cache_hits() const {
  return dek_hits_.load(std::memory_order_relaxed);
}

}  // namespace strongroom::kms
