// The per-server hash chain of SPEC 12: assigns `seq` (1, 2, ... without gaps) and `prev`,
// and computes `hash`. It does no I/O: the caller persists what it appends.
//
// Gaps are the danger: if event N is handed out but never stored while N+1 is, the chain is
// broken for good. So appends that must be stored before they count go through a Batch,
// which holds the chain while the caller writes and rewinds unless the caller commits:
//
//   auto batch = chain.Begin();                      // blocks other appenders
//   std::vector<audit::Event> done;
//   for (auto& e : pending) done.push_back(batch.Append(std::move(e)));
//   Status s = store.AppendAuditEvents(done);        // one transaction (group commit)
//   if (s.ok()) batch.Commit();                      // else ~Batch rewinds: nothing happened
//
// A write's event that commits in the write's own transaction takes a Batch around that
// transaction's commit. Chain::Append is the shorthand for a one-event batch committed at once,
// for callers that cannot fail after it (tests, or a writer that stops the chain on failure).
//
// Thread safety: all members are safe to call concurrently; a Batch belongs to one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "audit/event.h"
#include "base/result.h"

namespace strongroom::audit {

// The newest event of a chain: where the next append continues. {0, kGenesisHash} is empty.
struct ChainHead {
  std::int64_t seq = 0;
  std::string hash{kGenesisHash};

  bool operator==(const ChainHead&) const = default;
};

class Chain final {
 public:
  class Batch;

  // A chain for `server` continuing after `head`: {} for a new chain, or the (seq, hash) of
  // the newest event the store holds for this server when the process starts.
  // InvalidArgument if `server` is empty, `head.seq` is negative, `head.hash` is not 64
  // lowercase hex digits, or a head of seq 0 has a hash other than kGenesisHash.
  static Result<std::unique_ptr<Chain>> Open(std::string server, ChainHead head = {});

  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  const std::string& server() const { return server_; }

  // The newest committed event's (seq, hash).
  ChainHead Head() const;

  // Appends and commits one event at once (see the file comment for when that is safe).
  Event Append(Event event);

  // Holds the chain (other appenders wait) until the Batch commits or is destroyed.
  Batch Begin();

 private:
  Chain(std::string server, ChainHead head) : server_(std::move(server)), head_(std::move(head)) {}

  // Fills in server, seq, prev and hash after `*head`, and advances `*head`.
  Event Link(Event event, ChainHead* head) const;

  const std::string server_;
  mutable std::mutex mutex_;
  ChainHead head_;  // guarded by mutex_
};

// Appends that count only once committed. Move-only; holds the chain's lock for its lifetime.
class Chain::Batch final {
 public:
  Batch(Batch&&) noexcept = default;
  Batch& operator=(Batch&&) = delete;
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;
  // Without Commit(), the chain is left as it was before Begin().
  ~Batch() = default;

  // The event with server, seq, prev and hash filled in (invalid UTF-8 in its strings
  // replaced by U+FFFD: see SanitizeUtf8). Store exactly this value. Aborts if called after
  // Commit() (a programming error).
  Event Append(Event event);

  // The events appended so far become the chain's; the lock is released.
  void Commit();

 private:
  friend class Chain;
  Batch(Chain* chain, std::unique_lock<std::mutex> lock)
      : chain_(chain), lock_(std::move(lock)), head_(chain->head_) {}

  Chain* chain_;
  std::unique_lock<std::mutex> lock_;
  ChainHead head_;  // the head after this batch's appends
};

}  // namespace strongroom::audit
