// A logged-in PKCS#11 session with fault handling. See kms/internal/pkcs11_connection.h.
#include "kms/internal/pkcs11_connection.h"

#include <algorithm>

namespace strongroom::kms::internal {
namespace {

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool IsReconnectable(CK_RV rv) {
  switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    case CKR_USER_NOT_LOGGED_IN:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_DEVICE_ERROR:
    case CKR_CRYPTOKI_NOT_INITIALIZED:
    // Object handles are only valid within a session's lifetime on some HSMs.
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
      return true;
    default:
      return false;
  }
}

bool IsPinRejected(CK_RV rv) {
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
    case CKR_USER_PIN_NOT_INITIALIZED:
      return true;
    default:
      return false;
  }
}

Result<std::unique_ptr<Pkcs11Connection>> Pkcs11Connection::Create(const HsmParams& params,
                                                                   OnConnect on_connect) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  return std::unique_ptr<Pkcs11Connection>(
      new Pkcs11Connection(params, std::move(module), std::move(on_connect)));
}

std::string Pkcs11Connection::Where() const {
  return "(module " + params_.module_path + ", token \"" + params_.token_label + "\")";
}

Status Pkcs11Connection::ConnectLocked() {
  session_.reset();
  last_login_rv_ = CKR_OK;
  module_generation_ = module_->generation();
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module_->FindTokenSlot(params_.token_label));
  if (!slot) {
    return FailedPreconditionError(
        "HSM token \"" + params_.token_label + "\" not found (module " + params_.module_path + ")",
        "hsm_token_not_found");
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session,
                      Pkcs11Session::Open(module_, *slot, /*read_write=*/false, &ops_));
  const CK_RV rv = session.Login(CKU_USER, params_.pin);
  last_login_rv_ = rv;
  if (rv != CKR_OK) {
    std::string message = "HSM login failed: " + CkrName(rv) + " " + Where();
    if (IsReconnectable(rv)) return UnavailableError(std::move(message), "hsm_unavailable");
    return FailedPreconditionError(std::move(message), "hsm_login_failed");
  }
  if (on_connect_) SR_RETURN_IF_ERROR(on_connect_(session));
  session_.emplace(std::move(session));
  return Status::Ok();
}

Status Pkcs11Connection::Connect(std::unique_lock<std::mutex>* lock, CallLock* calls) {
  *lock = std::unique_lock<std::mutex>(mu_);
  *calls = module_->CallLock();
  return ConnectLocked();
}

Status Pkcs11Connection::DownStatus() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  std::string message = failure_.empty() ? "HSM unavailable: re-initialising " + Where() : failure_;
  return UnavailableError(std::move(message), "hsm_unavailable");
}

Status Pkcs11Connection::MarkDownLocked(std::string why, bool permanent) {
  if (session_) {
    session_->Abandon();
    session_.reset();
  }
  {
    std::lock_guard<std::mutex> lock(failure_mu_);
    failure_ = permanent ? std::move(why) + "; not retried until restart" : std::move(why);
  }
  if (permanent) {
    health_.store(Health::kFailed);
    return DownStatus();
  }
  retry_at_ns_.store(NowNs() + std::chrono::nanoseconds(backoff_).count());
  backoff_ = std::min(backoff_ * 2, params_.retry_max);
  health_.store(Health::kDown);
  return DownStatus();
}

Status Pkcs11Connection::RecoverLocked(CallLock* calls) {
  recovering_.store(true);
  // Every session of the process dies with C_Finalize; a handle closed by
  // someone else may already have been reused.
  if (session_) {
    session_->Abandon();
    session_.reset();
  }
  calls->unlock();
  Status status = module_->Reinitialize(module_generation_);
  calls->lock();
  if (status.ok()) status = ConnectLocked();
  recovering_.store(false);
  if (status.ok()) {
    backoff_ = params_.retry_initial;
    {
      std::lock_guard<std::mutex> lock(failure_mu_);
      failure_.clear();
    }
    health_.store(Health::kHealthy);
    return Status::Ok();
  }
  return MarkDownLocked(status.message(), IsPinRejected(last_login_rv_));
}

Status Pkcs11Connection::Enter(std::unique_lock<std::mutex>* lock, CallLock* calls) {
  Health health = health_.load();
  if (health == Health::kFailed) return DownStatus();
  if (lock->owns_lock()) {
    // The caller holds mu_ already (Check).
  } else if (health == Health::kDown || recovering_.load()) {
    // Fail fast: no HSM call before the retry time, and one recovery at a time.
    if (health == Health::kDown && NowNs() < retry_at_ns_.load()) return DownStatus();
    *lock = std::unique_lock<std::mutex>(mu_, std::try_to_lock);
    if (!lock->owns_lock()) return DownStatus();
  } else {
    *lock = std::unique_lock<std::mutex>(mu_);
  }
  health = health_.load();
  if (health == Health::kFailed) return DownStatus();
  if (health == Health::kDown && NowNs() < retry_at_ns_.load()) return DownStatus();
  *calls = module_->CallLock();
  if (health == Health::kDown || !session_) return RecoverLocked(calls);
  return Status::Ok();
}

Status Pkcs11Connection::Check() {
  std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
  if (health_.load() == Health::kHealthy && !lock.try_lock()) {
    // An HSM call is in flight (e.g. a slow unwrap): the probe does not queue
    // behind it, and that call marks the connection DOWN itself if the HSM is lost.
    return Status::Ok();
  }
  CallLock calls;
  SR_RETURN_IF_ERROR(Enter(&lock, &calls));
  CK_SESSION_INFO info{};
  CountOperation();
  const CK_RV rv = session_->fn()->C_GetSessionInfo(session_->handle(), &info);
  const bool logged_in = info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
  if (rv == CKR_OK && logged_in) return Status::Ok();
  // Lost, or not logged in any more (another session logged out): start over.
  return RecoverLocked(&calls);
}

}  // namespace strongroom::kms::internal
