// The checkpoint timer of the audit log (SPEC 12).
//
// Thread safety: one background thread; Start, CheckpointNow and Stop are
// called by the owner's thread (CheckpointNow not concurrently with the timer).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "audit/checkpoint.h"
#include "base/clock.h"
#include "base/result.h"

namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::vault {

// Signs a checkpoint of `server`'s chain every `interval` when it has new
// events (and once more at Stop), stores it in the database and appends its
// JSON line to `file` (if any; created 0600, fsynced). Failures are logged and
// retried at the next tick.
class AuditCheckpointer final {
 public:
  AuditCheckpointer(store::CredentialStore* store, audit::CheckpointSigner* signer,
                    std::string server, std::optional<std::string> file,
                    std::chrono::milliseconds interval, const Clock* clock);
  ~AuditCheckpointer() { Stop(); }
  AuditCheckpointer(const AuditCheckpointer&) = delete;
  AuditCheckpointer& operator=(const AuditCheckpointer&) = delete;

  // Starts the timer thread.
  void Start();
  // Makes a checkpoint now if there are new events: OK, or why not.
  Status CheckpointNow();
  // Stops the timer after a last checkpoint. Idempotent.
  void Stop();

 private:
  void Loop();

  store::CredentialStore& store_;
  audit::CheckpointSigner& signer_;
  const std::string server_;
  const std::optional<std::string> file_;
  const std::chrono::milliseconds interval_;
  const Clock& clock_;
  std::int64_t signed_seq_ = -1;  // newest checkpointed seq; -1 until read from the store
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace strongroom::vault
