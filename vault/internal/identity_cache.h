// IdentityCache: identities (id, wrapped KEKs, KEK versions) by id, read from
// the store once and kept, so a warm request reads no identity row; plus the
// sweep that notices identities deleted, or whose KEK was rotated, by another
// process.
//
// What is protected: the unwrapped KEKs and DEKs the key manager caches per
// identity. When an identity is deleted behind this process's back (the admin
// CLI, another server), ForgetDeleted drops it here and wipes its cached keys
// (kms::KeyManager::Evict), so crypto-shredding holds in this process too.
// Likewise a KEK version the store no longer holds (a finished KEK rotation)
// is wiped here when the sweep or Refresh sees it go.
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

  // Reads `identity_id` again from the store (a request found its cached KEKs
  // stale: a KEK rotation ran) and returns it; errors as Get.
  Result<std::shared_ptr<const model::Identity>> Refresh(std::int64_t identity_id);

  // Forgets cached identities the store no longer has and evicts their keys;
  // replaces those whose KEKs changed (evicting keys of dropped versions).
  // Cheap: one identity listing, none when nothing is cached. On a store
  // failure nothing changes (the next sweep tries again).
  void ForgetDeleted();

 private:
  // Caches `fresh` in place of what is cached for its id; evicts the cached
  // keys if a KEK version the old entry had is gone.
  void Replace(std::shared_ptr<const model::Identity> fresh);

  store::CredentialStore& store_;
  kms::KeyManager& keys_;
  std::mutex mu_;
  std::map<std::int64_t, std::shared_ptr<const model::Identity>> identities_;  // guarded by mu_
};

}  // namespace strongroom::vault::internal
