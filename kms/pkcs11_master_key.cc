// The RSA master keys on a PKCS#11 token. See kms/internal/pkcs11_master_key.h.
#include "kms/internal/pkcs11_master_key.h"

#include <algorithm>
#include <cstring>

#include "base/random.h"

namespace strongroom::kms::internal {
namespace {

std::int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string_view AsChars(std::span<const std::uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
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

std::string Pkcs11MasterKey::Where() const {
  return "(module " + params_.module_path + ", token \"" + params_.token_label + "\")";
}

Pkcs11MasterKey::KeyPair* Pkcs11MasterKey::FindPair(std::string_view label) const {
  std::shared_lock<std::shared_mutex> lock(keys_mu_);
  auto it = keys_.find(label);
  return it == keys_.end() ? nullptr : it->second.get();
}

bool Pkcs11MasterKey::software_oaep(std::string_view label) const {
  const KeyPair* pair = FindPair(label);
  return pair != nullptr && pair->software_oaep;
}

Status Pkcs11MasterKey::ConnectLocked() {
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
  // keys_ changes only under mu_, which is held. A pair destroyed since it
  // was added (a retired master key) only fails the unwraps that name it.
  for (auto& [label, pair] : keys_) {
    SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> key,
                        session.FindObject(CKO_PRIVATE_KEY, label));
    pair->private_key = key ? *key : CK_INVALID_HANDLE;
  }
  session_.emplace(std::move(session));
  return Status::Ok();
}

Status Pkcs11MasterKey::LoadKeyLocked(const std::string& label) {
  if (!session_) return UnavailableError("HSM session not open " + Where(), "hsm_unavailable");
  Pkcs11Session& session = *session_;
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> private_key,
                      session.FindObject(CKO_PRIVATE_KEY, label));
  if (!private_key) {
    return FailedPreconditionError("HSM master key \"" + label + "\" not found " + Where(),
                                   "hsm_key_not_found");
  }
  // The whole design rests on the private key never leaving the token.
  SR_ASSIGN_OR_RETURN(bool sensitive, session.GetBool(*private_key, CKA_SENSITIVE));
  SR_ASSIGN_OR_RETURN(bool extractable, session.GetBool(*private_key, CKA_EXTRACTABLE));
  if (!sensitive || extractable) {
    return FailedPreconditionError(
        "HSM master key \"" + label + "\" must be CKA_SENSITIVE and not CKA_EXTRACTABLE " + Where(),
        "hsm_key_invalid");
  }
  SR_ASSIGN_OR_RETURN(Bytes key_type, session.GetAttribute(*private_key, CKA_KEY_TYPE));
  CK_KEY_TYPE type = CKK_VENDOR_DEFINED;
  if (key_type.size() == sizeof(type)) std::memcpy(&type, key_type.data(), sizeof(type));
  if (type != CKK_RSA) {
    return FailedPreconditionError("HSM master key \"" + label + "\" is not an RSA key " + Where(),
                                   "hsm_key_invalid");
  }
  // Prefer the public key object; RSA private key objects also carry the
  // (non-sensitive) modulus and exponent, so fall back to it.
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> public_key,
                      session.FindObject(CKO_PUBLIC_KEY, label));
  const CK_OBJECT_HANDLE source = public_key ? *public_key : *private_key;
  SR_ASSIGN_OR_RETURN(Bytes modulus, session.GetAttribute(source, CKA_MODULUS));
  SR_ASSIGN_OR_RETURN(Bytes exponent, session.GetAttribute(source, CKA_PUBLIC_EXPONENT));
  SR_ASSIGN_OR_RETURN(RsaOaepPublicKey rsa, RsaOaepPublicKey::FromComponents(modulus, exponent));
  auto pair = std::make_unique<KeyPair>(std::move(rsa));
  pair->private_key = *private_key;

  // Prove the pair matches and the token does OAEP-SHA256 before anything is
  // wrapped: a mismatched public key would make every new KEK unrecoverable.
  SR_ASSIGN_OR_RETURN(SecretBytes probe, RandomSecretBytes(kAes256KeyBytes));
  SR_ASSIGN_OR_RETURN(Bytes wrapped, pair->public_key.Encrypt(probe));
  CK_RV rv = CKR_OK;
  Result<SecretBytes> unwrapped = DecryptLocked(*pair, wrapped, &rv);
  if (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID || rv == CKR_MECHANISM_INVALID) {
    // No OAEP with SHA-256 on this token: raw RSA plus software OAEP decoding.
    pair->software_oaep = true;
    unwrapped = DecryptLocked(*pair, wrapped, &rv);
  }
  if (IsReconnectable(rv)) return unwrapped.status();
  if (!unwrapped.ok()) {
    return FailedPreconditionError("HSM master key \"" + label +
                                       "\" cannot RSA-OAEP-SHA256 decrypt: " + CkrName(rv) + " " +
                                       Where(),
                                   "hsm_key_invalid");
  }
  if (!ConstantTimeEquals(AsChars(probe), AsChars(*unwrapped))) {
    return FailedPreconditionError(
        "HSM master key \"" + label + "\": public key does not match the private key " + Where(),
        "hsm_key_invalid");
  }
  std::unique_lock<std::shared_mutex> lock(keys_mu_);
  keys_.emplace(label, std::move(pair));
  return Status::Ok();
}

Result<std::unique_ptr<Pkcs11MasterKey>> Pkcs11MasterKey::Open(const HsmParams& params) {
  if (params.token_label.empty() || params.master_key_label.empty()) {
    return InvalidArgumentError("HSM token label and master key label are required");
  }
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  std::unique_ptr<Pkcs11MasterKey> key(new Pkcs11MasterKey(params, std::move(module)));
  std::lock_guard<std::mutex> lock(key->mu_);
  CallLock calls = key->module_->CallLock();
  // Configuration errors stay FAILED_PRECONDITION here: the server refuses to start.
  SR_RETURN_IF_ERROR(key->ConnectLocked());
  SR_RETURN_IF_ERROR(key->LoadKeyLocked(params.master_key_label));
  return key;
}

Status Pkcs11MasterKey::DownStatus() const {
  std::lock_guard<std::mutex> lock(failure_mu_);
  std::string message = failure_.empty() ? "HSM unavailable: re-initialising " + Where() : failure_;
  return UnavailableError(std::move(message), "hsm_unavailable");
}

Status Pkcs11MasterKey::MarkDownLocked(std::string why, bool permanent) {
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

Status Pkcs11MasterKey::RecoverLocked(CallLock* calls) {
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

Status Pkcs11MasterKey::Enter(std::unique_lock<std::mutex>* lock, CallLock* calls) {
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

Status Pkcs11MasterKey::AddKeyLocked(const std::string& label, CallLock* calls) {
  Status status = LoadKeyLocked(label);
  if (status.code() != StatusCode::kUnavailable) return status;
  SR_RETURN_IF_ERROR(RecoverLocked(calls));
  return LoadKeyLocked(label);
}

Status Pkcs11MasterKey::AddKey(std::string_view label) {
  if (label.empty()) return InvalidArgumentError("master key label is required");
  if (FindPair(label) != nullptr) return Status::Ok();
  std::unique_lock<std::mutex> lock;
  CallLock calls;
  SR_RETURN_IF_ERROR(Enter(&lock, &calls));
  if (FindPair(label) != nullptr) return Status::Ok();
  return AddKeyLocked(std::string(label), &calls);
}

Result<Bytes> Pkcs11MasterKey::Wrap(std::string_view label,
                                    std::span<const std::uint8_t> key) const {
  const KeyPair* pair = FindPair(label);
  if (pair == nullptr) {
    return FailedPreconditionError("HSM master key \"" + std::string(label) + "\" is not loaded",
                                   "hsm_key_not_found");
  }
  return pair->public_key.Encrypt(key);
}

Result<SecretBytes> Pkcs11MasterKey::DecryptLocked(KeyPair& pair,
                                                   std::span<const std::uint8_t> wrapped,
                                                   CK_RV* rv_out) {
  *rv_out = CKR_OK;
  CK_FUNCTION_LIST* fn = session_->fn();
  // PKCS#11 v2.40 Current Mechanisms 2.1.8: OAEP with SHA-256 and MGF1-SHA-256, empty label.
  CK_RSA_PKCS_OAEP_PARAMS oaep{};
  oaep.hashAlg = CKM_SHA256;
  oaep.mgf = CKG_MGF1_SHA256;
  oaep.source = CKZ_DATA_SPECIFIED;
  oaep.pSourceData = nullptr;
  oaep.ulSourceDataLen = 0;
  CK_MECHANISM mechanism{CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
  if (pair.software_oaep) mechanism = CK_MECHANISM{CKM_RSA_X_509, nullptr, 0};
  const std::size_t modulus_bytes = pair.public_key.modulus_bytes();

  ops_.fetch_add(1, std::memory_order_relaxed);
  CK_RV rv = fn->C_DecryptInit(session_->handle(), &mechanism, pair.private_key);
  // The plaintext is at most the modulus size.
  SecretBytes out(modulus_bytes);
  CK_ULONG out_len = static_cast<CK_ULONG>(out.size());
  if (rv == CKR_OK) {
    rv = fn->C_Decrypt(session_->handle(), const_cast<CK_BYTE*>(wrapped.data()),
                       static_cast<CK_ULONG>(wrapped.size()), out.data(), &out_len);
  }
  *rv_out = rv;
  if (rv == CKR_OK) {
    out.resize(out_len);  // the tail is wiped with the buffer
    if (pair.software_oaep) return OaepSha256Decode(out, modulus_bytes);
    return out;
  }
  switch (rv) {
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
      return DataLossError("identity KEK failed to unwrap under the master key: " + CkrName(rv));
    default:
      if (IsReconnectable(rv)) {
        return UnavailableError("HSM decrypt failed: " + CkrName(rv), "hsm_unavailable");
      }
      return InternalError("HSM decrypt failed: " + CkrName(rv) + " " + Where());
  }
}

Result<SecretBytes> Pkcs11MasterKey::Unwrap(std::string_view label,
                                            std::span<const std::uint8_t> wrapped) {
  std::unique_lock<std::mutex> lock;
  CallLock calls;
  SR_RETURN_IF_ERROR(Enter(&lock, &calls));
  KeyPair* pair = FindPair(label);
  if (pair == nullptr) {
    SR_RETURN_IF_ERROR(AddKeyLocked(std::string(label), &calls));
    pair = FindPair(label);
  }
  if (pair->private_key == CK_INVALID_HANDLE) {
    return FailedPreconditionError(
        "HSM master key \"" + std::string(label) + "\" not found " + Where(), "hsm_key_not_found");
  }
  // RSA-OAEP ciphertext is exactly the modulus size (RFC 8017 7.1.2 step 1.b);
  // anything else is corrupt and need not reach the HSM.
  if (wrapped.size() != pair->public_key.modulus_bytes()) {
    return DataLossError("identity KEK failed to unwrap under the master key: wrong length");
  }
  CK_RV rv = CKR_OK;
  Result<SecretBytes> out = DecryptLocked(*pair, wrapped, &rv);
  if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID) {
    return MarkDownLocked("HSM decrypt failed: " + CkrName(rv) + " " + Where(), true);
  }
  if (out.ok() || !IsReconnectable(rv)) return out;
  SR_RETURN_IF_ERROR(RecoverLocked(&calls));
  out = DecryptLocked(*pair, wrapped, &rv);
  if (!out.ok() && IsReconnectable(rv)) return MarkDownLocked(out.status().message(), false);
  return out;
}

Status Pkcs11MasterKey::Check() {
  std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
  if (health_.load() == Health::kHealthy && !lock.try_lock()) {
    // An HSM call is in flight (e.g. a slow unwrap): the probe does not queue
    // behind it, and that call marks the key DOWN itself if the HSM is lost.
    return Status::Ok();
  }
  CallLock calls;
  SR_RETURN_IF_ERROR(Enter(&lock, &calls));
  CK_SESSION_INFO info{};
  ops_.fetch_add(1, std::memory_order_relaxed);
  const CK_RV rv = session_->fn()->C_GetSessionInfo(session_->handle(), &info);
  const bool logged_in = info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
  if (rv == CKR_OK && logged_in) return Status::Ok();
  // Lost, or not logged in any more (another session logged out): start over.
  return RecoverLocked(&calls);
}

}  // namespace strongroom::kms::internal
