#include "audit/chain.h"

#include <cstdlib>
#include <utility>

#include "audit/internal/crypto.h"

namespace strongroom::audit {

Result<std::unique_ptr<Chain>> Chain::Open(std::string server, ChainHead head) {
  if (server.empty()) return InvalidArgumentError("audit chain: server id must not be empty");
  if (head.seq < 0) return InvalidArgumentError("audit chain: negative seq");
  if (!internal::IsSha256Hex(head.hash)) {
    return InvalidArgumentError("audit chain: head hash is not 64 lowercase hex digits");
  }
  if (head.seq == 0 && head.hash != kGenesisHash) {
    return InvalidArgumentError("audit chain: an empty chain's head must be the genesis hash");
  }
  return std::unique_ptr<Chain>(new Chain(std::move(server), std::move(head)));
}

ChainHead Chain::Head() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return head_;
}

Event Chain::Append(Event event) {
  Batch batch = Begin();
  Event linked = batch.Append(std::move(event));
  batch.Commit();
  return linked;
}

Chain::Batch Chain::Begin() { return Batch(this, std::unique_lock<std::mutex>(mutex_)); }

Event Chain::Link(Event event, ChainHead* head) const {
  event.server = server_;
  event.hash.clear();
  // Sanitised before hashing, so the stored strings are the hashed ones.
  SanitizeUtf8(&event);
  event.seq = head->seq + 1;
  event.prev = head->hash;
  event.hash = EventHash(event);
  head->seq = event.seq;
  head->hash = event.hash;
  return event;
}

Event Chain::Batch::Append(Event event) {
  // Appending to a committed (or moved-from) batch would hand out seqs nobody holds.
  if (!lock_.owns_lock()) std::abort();
  return chain_->Link(std::move(event), &head_);
}

void Chain::Batch::Commit() {
  if (!lock_.owns_lock()) return;
  chain_->head_ = head_;
  lock_.unlock();
}

}  // namespace strongroom::audit
