// AuditSink: where the vault's events go (SPEC 12), by audit mode.
//
// sync: Record returns once the event is durable. Concurrent callers are
// batched (leader/follower, like the store's group commit): the first caller
// with nothing in flight writes every queued event in one AppendAuditEvents
// call, so N concurrent reads cost one transaction, which on SQLite also joins
// the writes' group commit. A failed batch fails every member.
// async: Record queues; Flush (every 250 ms on the vault's audit thread, and
// at shutdown) writes the queue, keeping it for the next try on failure.
// off: Record does nothing.
//
// Thread safety: all methods are safe to call concurrently. The store is not
// owned and must outlive the sink.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/credential_store.h"
#include "vault/api_key.h"
#include "vault/audit.h"

namespace strongroom::vault::internal {

// What a use case knows about itself, for its event.
struct AuditFacts {
  std::string_view action;
  const RequestContext* context = nullptr;
  std::optional<std::string> key_id;
  std::optional<std::int64_t> identity_id;
  std::optional<std::string> credential;
  std::optional<std::string> credential_id;
  std::optional<std::int64_t> version;
};

// The HTTP status a failed use case answers with (SPEC 5), for `status`.
int AuditStatusOf(const Status& status);

class AuditSink final {
 public:
  AuditSink(store::CredentialStore* store, AuditOptions options)
      : store_(*store), options_(std::move(options)) {}
  AuditSink(const AuditSink&) = delete;
  AuditSink& operator=(const AuditSink&) = delete;

  AuditMode mode() const { return options_.mode; }
  const std::string& server() const { return options_.server_id; }

  // As the file comment says, by mode. UNAVAILABLE "audit_unavailable" in
  // sync mode when the event could not be written.
  Status Record(store::AuditRecord record);
  // async: writes what is queued. Safe in any mode.
  void Flush();

 private:
  struct Pending {
    store::AuditRecord record;
    Status status = Status::Ok();
    bool done = false;  // guarded by mu_
  };
  Status RecordSync(store::AuditRecord record);

  store::CredentialStore& store_;
  const AuditOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Pending*> queue_;               // sync, guarded by mu_
  bool leader_active_ = false;                // guarded by mu_
  std::vector<store::AuditRecord> buffered_;  // async, guarded by mu_
  std::mutex flush_mu_;                       // one async flush at a time
};

}  // namespace strongroom::vault::internal
