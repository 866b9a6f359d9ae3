// IdentityCache: identities (id, wrapped KEK, KEK version) by id, read from the
// store once and kept, so a warm request reads no identity row; plus the sweep
// that notices identities deleted by another process.
//
// What is protected: the unwrapped KEKs and DEKs the key manager caches per
// identity. When an identity is deleted behind this process's back (the admin
// CLI, another server), ForgetDeleted drops it here and wipes its cached keys
// (kms::KeyManager::Evict), so crypto-shredding holds in this process too.
//
// Thread safety: all methods are safe to call concurrently. The store and key
// manager are not owned and must outlive the cache.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "base/result.h"
#include "model/credential.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault::internal {

class IdentityCache final {
 public:
  IdentityCache(store::CredentialStore* store, kms::KeyManager* keys)
      : store_(*store), keys_(*keys) {}
  IdentityCache(const IdentityCache&) = delete;
  IdentityCache& operator=(const IdentityCache&) = delete;

  // The identity `identity_id`. An identity that no longer exists is
  // UNAUTHENTICATED (its key authenticated a moment ago: it was deleted since);
  // store failures are returned as they are.
  Result<std::shared_ptr<const model::Identity>> Get(std::int64_t identity_id);

  // Forgets cached identities the store no longer has and evicts their keys.
  // Cheap: one identity listing, none when nothing is cached. On a store
  // failure nothing changes (the next sweep tries again).
  void ForgetDeleted();

 private:
  store::CredentialStore& store_;
  kms::KeyManager& keys_;
  std::mutex mu_;
  std::map<std::int64_t, std::shared_ptr<const model::Identity>> identities_;  // guarded by mu_
};

}  // namespace strongroom::vault::internal
