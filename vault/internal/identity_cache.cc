#include "vault/internal/identity_cache.h"

#include <algorithm>
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
  for (const model::Identity& identity : *all) live.push_back(identity.id);
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
