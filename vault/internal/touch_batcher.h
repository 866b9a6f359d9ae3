// TouchBatcher: lastUsedAt updates kept in memory and written to the store in
// batches (SPEC 5: every retrieval records a use, list does not).
//
// A use is recorded against the credential that was read, by identity id and
// credentialId: a credential deleted and re-created under the same name has a
// new credentialId, so an old use never lands on it (nor is overlaid on it).
// Rows this class overlays show the latest pending use, so the batching is not
// observable through the vault. Other servers sharing the store see a use up to
// one flush late, and a crash loses at most the uses not yet flushed.
//
// Thread safety: all methods are safe to call concurrently. The store is not
// owned and must outlive the batcher.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/clock.h"
#include "model/credential.h"

namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault::internal {

class TouchBatcher final {
 public:
  explicit TouchBatcher(store::CredentialStore* store) : store_(*store) {}
  TouchBatcher(const TouchBatcher&) = delete;
  TouchBatcher& operator=(const TouchBatcher&) = delete;

  // Records a use of credential `credential_id` of identity `identity_id` at `at`.
  void Record(std::int64_t identity_id, const std::string& credential_id, UnixMillis at);

  // Applies to `row` the latest use not yet written to the store (pending or
  // being written), if later than its own last_used_at.
  void Overlay(model::StoredCredential* row);

  // Writes pending uses in one store call; on failure they are kept for the
  // next flush (last_used_at = max(old, at), so a retry is harmless).
  void Flush();

 private:
  struct Key {
    std::int64_t identity_id;
    std::string credential_id;
  };
  // Lookups by KeyView (heterogeneous, C++20) build no string: no allocation
  // on the read path.
  struct KeyView {
    std::int64_t identity_id;
    std::string_view credential_id;
  };
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(const KeyView& key) const noexcept {
      return std::hash<std::string_view>()(key.credential_id) ^
             (std::hash<std::int64_t>()(key.identity_id) * 0x9e3779b97f4a7c15ULL);
    }
    std::size_t operator()(const Key& key) const noexcept {
      return (*this)(KeyView{key.identity_id, key.credential_id});
    }
  };
  struct KeyEqual {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return a.identity_id == b.identity_id &&
             std::string_view(a.credential_id) == std::string_view(b.credential_id);
    }
  };
  using Map = std::unordered_map<Key, UnixMillis, KeyHash, KeyEqual>;

  store::CredentialStore& store_;
  std::mutex flush_mu_;  // serialises flushes; taken before mu_
  std::mutex mu_;
  Map pending_;    // guarded by mu_
  Map in_flight_;  // written only by Flush (under flush_mu_), read under mu_
};

}  // namespace strongroom::vault::internal
