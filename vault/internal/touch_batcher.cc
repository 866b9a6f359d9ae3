#include "vault/internal/touch_batcher.h"

#include <algorithm>
#include <tuple>
#include <vector>

#include <spdlog/spdlog.h>

#include "store/credential_store.h"

namespace strongroom::vault::internal {

void TouchBatcher::Record(std::int64_t identity_id, const std::string& credential_id,
                          UnixMillis at) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(KeyView{identity_id, credential_id});
  if (it == pending_.end()) {
    pending_.emplace(Key{identity_id, credential_id}, at);
  } else {
    it->second = std::max(it->second, at);
  }
}

void TouchBatcher::Overlay(model::StoredCredential* row) {
  std::lock_guard<std::mutex> lock(mu_);
  const KeyView key{row->identity_id, row->credential_id};
  for (const Map* map : {&pending_, &in_flight_}) {
    auto it = map->find(key);
    if (it != map->end() && (!row->last_used_at || *row->last_used_at < it->second)) {
      row->last_used_at = it->second;
    }
  }
}

void TouchBatcher::Flush() {
  std::lock_guard<std::mutex> flush_lock(flush_mu_);
  {
    // O(1) under mu_: requests (which take mu_ to record and overlay uses)
    // never wait for a copy of the batch.
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return;
    in_flight_.swap(pending_);  // in_flight_ is empty between flushes
  }
  // Only this function (serialised by flush_mu_) modifies in_flight_, so
  // reading it without mu_ races with nothing but other readers.
  std::vector<store::CredentialStore::Touch> touches;
  touches.reserve(in_flight_.size());
  for (const auto& [key, at] : in_flight_) {
    touches.push_back({key.identity_id, key.credential_id, at});
  }
  // In key order: neighbouring rows share B-tree pages.
  std::sort(touches.begin(), touches.end(), [](const auto& a, const auto& b) {
    return std::tie(a.identity_id, a.credential_id) < std::tie(b.identity_id, b.credential_id);
  });
  Status status = store_.TouchLastUsed(touches);
  Map done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(in_flight_);
    if (!status.ok()) {
      for (const auto& [key, at] : done) {
        UnixMillis& slot = pending_[key];
        slot = std::max(slot, at);
      }
    }
  }
  if (!status.ok()) {
    spdlog::warn("recording lastUsedAt failed ({} pending): {}", done.size(), status.ToString());
  }
  // `done` is freed here, outside mu_.
}

}  // namespace strongroom::vault::internal
