// Pkcs11Connection: one logged-in session on a token, with SPEC 11's fault
// handling, shared by every key kms/ holds on a token (the RSA master key
// pairs, the audit signing key). Each holder owns its own connection.
//
// Faults (SPEC 11). A call failing with "session, login or device lost"
// (IsReconnectable) re-initialises PKCS#11 at once: RecoverLocked runs
// Pkcs11Module::Reinitialize (C_Finalize + C_Initialize, once per outage for
// the whole process), opens a session, logs in and runs the holder's
// OnConnect (which finds its objects again by label); the holder then retries
// its call once. If that fails the connection is DOWN: Enter fails fast with
// UNAVAILABLE "hsm_unavailable" (no HSM call) until a back-off delay has
// passed (retry_initial doubling up to retry_max, reset on success); the first
// call after it tries again, while concurrent callers keep failing fast (one
// re-initialisation at a time). A PIN the token rejects (CKR_PIN_INCORRECT,
// CKR_PIN_LOCKED, ...) or a missing mechanism is FAILED: reported on every
// call and never retried, so the server cannot lock the token's PIN; only a
// restart (with a fixed configuration) leaves it.
//
// Thread safety: the session is guarded by one mutex, taken by Connect and
// Enter (the caller holds it, through the unique_lock they fill, for its
// whole HSM call). Health is readable without it (the fail-fast path).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "base/result.h"
#include "kms/internal/pkcs11_module.h"
#include "kms/pkcs11.h"

namespace strongroom::kms::internal {

class Pkcs11Connection final {
 public:
  using CallLock = std::shared_lock<std::shared_mutex>;
  // Runs after every login on the fresh session, with the connection's mutex
  // and the call lock held: the holder finds its objects again (handles are
  // per session on some HSMs). An error fails the connect.
  using OnConnect = std::function<Status(Pkcs11Session&)>;

  // Loads the module (FAILED_PRECONDITION naming it if it cannot); does not
  // connect. `on_connect` may be empty. params.master_key_label is not used.
  static Result<std::unique_ptr<Pkcs11Connection>> Create(const HsmParams& params,
                                                          OnConnect on_connect);

  Pkcs11Connection(const Pkcs11Connection&) = delete;
  Pkcs11Connection& operator=(const Pkcs11Connection&) = delete;

  // The first connection, at start-up: takes the mutex and the call lock into
  // `lock` and `calls` and connects without re-initialising anything.
  // Configuration errors are FAILED_PRECONDITION (token not found:
  // "hsm_token_not_found"; PIN rejected: "hsm_login_failed"), so the server
  // refuses to start.
  Status Connect(std::unique_lock<std::mutex>* lock, CallLock* calls);
  // Takes the mutex and the call lock for a call that needs the HSM, or says
  // why not (DownStatus): FAILED, or DOWN before its retry time, or another
  // thread re-initialising. Recovers first if DOWN and the retry time has
  // passed. On OK, session() is open.
  Status Enter(std::unique_lock<std::mutex>* lock, CallLock* calls);
  // Re-initialises PKCS#11 and reconnects; on failure marks the connection
  // DOWN (with back-off) or FAILED. Needs the mutex; `calls` is released
  // around Pkcs11Module::Reinitialize.
  Status RecoverLocked(CallLock* calls);
  // Marks the connection DOWN (retry after the back-off delay) or, if
  // `permanent`, FAILED, with `why`; returns DownStatus(). Needs the mutex.
  Status MarkDownLocked(std::string why, bool permanent);
  // The status a call gets while DOWN or FAILED.
  Status DownStatus() const;
  // C_GetSessionInfo on the session (one counted operation), recovering if the
  // session was lost or logged out; fails fast while DOWN or FAILED.
  Status Check();

  // The open session, or nullptr. Needs the mutex.
  Pkcs11Session* session() { return session_ ? &*session_ : nullptr; }
  const HsmParams& params() const { return params_; }
  // "(module M, token "T")" for messages.
  std::string Where() const;

  // Counts one PKCS#11 call that does work.
  void CountOperation() { ops_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t operations() const { return ops_.load(std::memory_order_relaxed); }

 private:
  enum class Health { kHealthy, kDown, kFailed };

  Pkcs11Connection(HsmParams params, std::shared_ptr<Pkcs11Module> module, OnConnect on_connect)
      : params_(std::move(params)),
        module_(std::move(module)),
        on_connect_(std::move(on_connect)),
        backoff_(params_.retry_initial) {}

  // Opens a session on the token, logs in and runs on_connect_. Needs the
  // mutex and the call lock.
  Status ConnectLocked();

  const HsmParams params_;
  const std::shared_ptr<Pkcs11Module> module_;
  const OnConnect on_connect_;
  std::atomic<std::uint64_t> ops_{0};

  std::mutex mu_;
  std::optional<Pkcs11Session> session_;  // guarded by mu_
  std::uint64_t module_generation_ = 0;   // guarded by mu_; of session_
  CK_RV last_login_rv_ = CKR_OK;          // guarded by mu_; of the last ConnectLocked
  std::chrono::milliseconds backoff_;     // guarded by mu_; the next DOWN delay

  // Written under mu_; read without it on the fail-fast path.
  std::atomic<Health> health_{Health::kHealthy};
  std::atomic<bool> recovering_{false};
  std::atomic<std::int64_t> retry_at_ns_{0};  // steady_clock; while DOWN
  mutable std::mutex failure_mu_;
  std::string failure_;  // guarded by failure_mu_; why DOWN or FAILED
};

// True for the CK_RVs that mean "session, login or device lost": re-initialise
// and retry once.
bool IsReconnectable(CK_RV rv);
// True for login results that must never be retried (the PIN was rejected).
bool IsPinRejected(CK_RV rv);

}  // namespace strongroom::kms::internal
