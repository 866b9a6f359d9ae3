#include "vault/internal/identity_cache.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "kms/key_manager.h"
#include "store/credential_store.h"
#include "vault/api_key.h"

namespace strongroom::vault::internal {

Result<std::shared_ptr<const model::Identity>> IdentityCache::Get(std::int64_t identity_id) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = identities_.find(identity_id);
    if (it != identities_.end()) return it->second;
  }
  Result<model::Identity> identity = store_.GetIdentity(identity_id);
  if (!identity.ok()) {
    if (identity.status().code() == StatusCode::kNotFound) return InvalidApiKeyError();
    return identity.status();
  }
  auto shared = std::make_shared<const model::Identity>(std::move(identity).value());
  std::lock_guard<std::mutex> lock(mu_);
  return identities_.try_emplace(identity_id, std::move(shared)).first->second;
}

namespace {

bool SameKeks(const model::Identity& a, const model::Identity& b) {
  return a.kek_version == b.kek_version && a.master_key_label == b.master_key_label &&
         a.previous_kek_version == b.previous_kek_version &&
         a.previous_master_key_label == b.previous_master_key_label;
}

// Whether a KEK version `old` had is not in `fresh` (its cached keys must go).
bool DropsAVersion(const model::Identity& old, const model::Identity& fresh) {
  auto has = [&fresh](std::int32_t v) {
    return v == 0 || v == fresh.kek_version || v == fresh.previous_kek_version;
  };
  return !has(old.kek_version) || !has(old.previous_kek_version);
}

}  // namespace

Result<std::shared_ptr<const model::Identity>> IdentityCache::Refresh(std::int64_t identity_id) {
  Result<model::Identity> identity = store_.GetIdentity(identity_id);
  if (!identity.ok()) {
    if (identity.status().code() == StatusCode::kNotFound) return InvalidApiKeyError();
    return identity.status();
  }
  auto shared = std::make_shared<const model::Identity>(std::move(identity).value());
  Replace(shared);
  return shared;
}

void IdentityCache::Replace(std::shared_ptr<const model::Identity> fresh) {
  std::shared_ptr<const model::Identity> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::shared_ptr<const model::Identity>& slot = identities_[fresh->id];
    old = std::exchange(slot, fresh);
  }
  if (old && DropsAVersion(*old, *fresh)) {
    keys_.Evict(fresh->id);
    spdlog::info("identity {}: KEK version {} retired; its cached keys are wiped", fresh->id,
                 old->previous_kek_version != 0 ? old->previous_kek_version : old->kek_version);
  }
}

void IdentityCache::ForgetDeleted() {
  std::vector<std::int64_t> cached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, identity] : identities_) cached.push_back(id);
  }
  if (cached.empty()) return;
  Result<std::vector<model::Identity>> all = store_.ListIdentities();
  if (!all.ok()) return;  // try again next round
  std::vector<std::int64_t> live;
  live.reserve(all->size());
  for (model::Identity& identity : *all) {
    live.push_back(identity.id);
    std::shared_ptr<const model::Identity> cached_entry;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = identities_.find(identity.id);
      if (it == identities_.end()) continue;
      cached_entry = it->second;
    }
    if (!SameKeks(*cached_entry, identity)) {
      Replace(std::make_shared<const model::Identity>(std::move(identity)));
    }
  }
  std::sort(live.begin(), live.end());
  for (std::int64_t id : cached) {
    if (std::binary_search(live.begin(), live.end(), id)) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      identities_.erase(id);
    }
    keys_.Evict(id);
    spdlog::info("identity {} was deleted: its cached keys are wiped", id);
  }
}

}  // namespace strongroom::vault::internal
