// Key hierarchy and KEK cache. See kms/key_manager_impl.h.
#include "kms/key_manager_impl.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
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

KeyManagerImpl::KeyManagerImpl(std::unique_ptr<internal::MasterKey> master)
    : master_(std::move(master)) {}

// The arena's destructor wipes every cached KEK.
KeyManagerImpl::~KeyManagerImpl() = default;

template <typename Fn>
auto KeyManagerImpl::WithKek(const KekRef& ref, Fn&& fn)
    -> decltype(fn(std::span<const std::uint8_t>())) {
  const CacheKey key{ref.identity_id, ref.kek_version};
  {
    std::shared_lock<std::shared_mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      return fn(std::span<const std::uint8_t>(it->second, internal::kAes256KeyBytes));
    }
  }
  if (ref.wrapped_kek == nullptr || ref.wrapped_kek->empty()) {
    return InvalidArgumentError("identity has no wrapped KEK");
  }
  // HSM round trip without holding mu_, so warm identities are never blocked by it.
  Result<SecretBytes> kek = master_->Unwrap(*ref.wrapped_kek);
  if (!kek.ok()) return kek.status();
  if (kek->size() != internal::kAes256KeyBytes) {
    return DataLossError("identity KEK failed to unwrap under the master key: wrong key size");
  }
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    std::uint8_t* slot = arena_.Allocate();
    if (slot == nullptr) return InternalError("cannot allocate locked memory for a KEK");
    std::memcpy(slot, kek->data(), internal::kAes256KeyBytes);
    it = cache_.emplace(key, slot).first;
  }
  return fn(std::span<const std::uint8_t>(it->second, internal::kAes256KeyBytes));
}

Result<Bytes> KeyManagerImpl::NewWrappedKek() {
  SR_ASSIGN_OR_RETURN(SecretBytes kek, RandomSecretBytes(internal::kAes256KeyBytes));
  return master_->Wrap(kek);
}

Result<Envelope> KeyManagerImpl::Seal(const KekRef& kek, std::string_view plaintext,
                                      std::string_view aad) {
  return WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<Envelope> {
    return internal::SealWithKek(key, plaintext, aad);
  });
}

Result<SecretBytes> KeyManagerImpl::Open(const KekRef& kek, const Envelope& envelope,
                                         std::string_view aad) {
  return WithKek(kek, [&](std::span<const std::uint8_t> key) -> Result<SecretBytes> {
    return internal::OpenWithKek(key, envelope, aad);
  });
}

void KeyManagerImpl::Evict(std::int64_t identity_id) {
  std::unique_lock<std::shared_mutex> lock(mu_);
  auto it = cache_.lower_bound(CacheKey{identity_id, std::numeric_limits<std::int32_t>::min()});
  while (it != cache_.end() && it->first.first == identity_id) {
    arena_.Free(it->second);
    it = cache_.erase(it);
  }
}

Status KeyManagerImpl::CheckHsm() { return master_->Check(); }

std::uint64_t KeyManagerImpl::hsm_operations() const { return master_->operations(); }

std::size_t KeyManagerImpl::cached_keks() const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  return cache_.size();
}

}  // namespace strongroom::kms
