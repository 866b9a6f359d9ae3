// The RSA master key on a PKCS#11 token. See kms/internal/pkcs11_master_key.h.
#include "kms/internal/pkcs11_master_key.h"

#include <cstring>

#include "base/random.h"

namespace strongroom::kms::internal {
namespace {

// A status from the open path (FAILED_PRECONDITION for configuration problems)
// as seen at run time, when a lost HSM is an outage (503), not a conflict.
Status AsRuntime(Status status) {
  if (status.ok() || status.code() == StatusCode::kUnavailable ||
      status.code() == StatusCode::kDataLoss || status.code() == StatusCode::kInternal) {
    return status;
  }
  return UnavailableError(status.message());
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
    // Object handles are only valid within a session's lifetime on some HSMs.
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
      return true;
    default:
      return false;
  }
}

std::string Pkcs11MasterKey::Where() const {
  return "(module " + params_.module_path + ", token \"" + params_.token_label + "\")";
}

Status Pkcs11MasterKey::ConnectLocked() {
  session_.reset();
  private_key_ = CK_INVALID_HANDLE;
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module_->FindTokenSlot(params_.token_label));
  if (!slot) {
    return FailedPreconditionError(
        "HSM token \"" + params_.token_label + "\" not found (module " + params_.module_path + ")",
        "hsm_token_not_found");
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session,
                      Pkcs11Session::Open(module_, *slot, /*read_write=*/false, &ops_));
  const CK_RV rv = session.Login(CKU_USER, params_.pin);
  if (rv != CKR_OK) {
    std::string message = "HSM login failed: " + CkrName(rv) + " " + Where();
    if (IsReconnectable(rv)) return UnavailableError(std::move(message));
    return FailedPreconditionError(std::move(message), "hsm_login_failed");
  }
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> key,
                      session.FindObject(CKO_PRIVATE_KEY, params_.master_key_label));
  if (!key) {
    return FailedPreconditionError(
        "HSM master key \"" + params_.master_key_label + "\" not found " + Where(),
        "hsm_key_not_found");
  }
  private_key_ = *key;
  session_.emplace(std::move(session));
  return Status::Ok();
}

void Pkcs11MasterKey::DropSessionLocked(CK_RV rv) {
  if (!session_) return;
  // The module has already forgotten this handle and may give its number to a
  // new session: closing it now could close someone else's session.
  if (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) session_->Abandon();
  session_.reset();
  private_key_ = CK_INVALID_HANDLE;
}

Result<std::unique_ptr<Pkcs11MasterKey>> Pkcs11MasterKey::Open(const HsmParams& params) {
  if (params.token_label.empty() || params.master_key_label.empty()) {
    return InvalidArgumentError("HSM token label and master key label are required");
  }
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  std::unique_ptr<Pkcs11MasterKey> key(new Pkcs11MasterKey(params, std::move(module)));
  std::lock_guard<std::mutex> lock(key->mu_);
  SR_RETURN_IF_ERROR(key->ConnectLocked());
  Pkcs11Session& session = *key->session_;

  // The whole design rests on the private key never leaving the token.
  SR_ASSIGN_OR_RETURN(bool sensitive, session.GetBool(key->private_key_, CKA_SENSITIVE));
  SR_ASSIGN_OR_RETURN(bool extractable, session.GetBool(key->private_key_, CKA_EXTRACTABLE));
  if (!sensitive || extractable) {
    return FailedPreconditionError("HSM master key \"" + params.master_key_label +
                                       "\" must be CKA_SENSITIVE and not CKA_EXTRACTABLE " +
                                       key->Where(),
                                   "hsm_key_invalid");
  }
  SR_ASSIGN_OR_RETURN(Bytes key_type, session.GetAttribute(key->private_key_, CKA_KEY_TYPE));
  CK_KEY_TYPE type = CKK_VENDOR_DEFINED;
  if (key_type.size() == sizeof(type)) std::memcpy(&type, key_type.data(), sizeof(type));
  if (type != CKK_RSA) {
    return FailedPreconditionError(
        "HSM master key \"" + params.master_key_label + "\" is not an RSA key " + key->Where(),
        "hsm_key_invalid");
  }

  // Prefer the public key object; RSA private key objects also carry the
  // (non-sensitive) modulus and exponent, so fall back to it.
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> public_key,
                      session.FindObject(CKO_PUBLIC_KEY, params.master_key_label));
  const CK_OBJECT_HANDLE source = public_key ? *public_key : key->private_key_;
  SR_ASSIGN_OR_RETURN(Bytes modulus, session.GetAttribute(source, CKA_MODULUS));
  SR_ASSIGN_OR_RETURN(Bytes exponent, session.GetAttribute(source, CKA_PUBLIC_EXPONENT));
  SR_ASSIGN_OR_RETURN(RsaOaepPublicKey rsa, RsaOaepPublicKey::FromComponents(modulus, exponent));
  key->public_key_.emplace(std::move(rsa));

  // Prove the pair matches and the token does OAEP-SHA256 before anything is
  // wrapped: a mismatched public key would make every new KEK unrecoverable.
  SR_ASSIGN_OR_RETURN(SecretBytes probe, RandomSecretBytes(kAes256KeyBytes));
  SR_ASSIGN_OR_RETURN(Bytes wrapped, key->Wrap(probe));
  CK_RV rv = CKR_OK;
  Result<SecretBytes> unwrapped = key->DecryptLocked(wrapped, &rv);
  if (rv == CKR_ARGUMENTS_BAD || rv == CKR_MECHANISM_PARAM_INVALID || rv == CKR_MECHANISM_INVALID) {
    // No OAEP with SHA-256 on this token: raw RSA plus software OAEP decoding.
    key->software_oaep_ = true;
    unwrapped = key->DecryptLocked(wrapped, &rv);
  }
  if (!unwrapped.ok()) {
    return FailedPreconditionError("HSM master key \"" + params.master_key_label +
                                       "\" cannot RSA-OAEP-SHA256 decrypt: " + CkrName(rv) + " " +
                                       key->Where(),
                                   "hsm_key_invalid");
  }
  if (!ConstantTimeEquals(
          std::string_view(reinterpret_cast<const char*>(probe.data()), probe.size()),
          std::string_view(reinterpret_cast<const char*>(unwrapped->data()), unwrapped->size()))) {
    return FailedPreconditionError("HSM master key \"" + params.master_key_label +
                                       "\": public key does not match the private key " +
                                       key->Where(),
                                   "hsm_key_invalid");
  }
  return key;
}

Result<Bytes> Pkcs11MasterKey::Wrap(std::span<const std::uint8_t> key) const {
  return public_key_->Encrypt(key);
}

Result<SecretBytes> Pkcs11MasterKey::DecryptLocked(std::span<const std::uint8_t> wrapped,
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
  if (software_oaep_) mechanism = CK_MECHANISM{CKM_RSA_X_509, nullptr, 0};

  ops_.fetch_add(1, std::memory_order_relaxed);
  CK_RV rv = fn->C_DecryptInit(session_->handle(), &mechanism, private_key_);
  // The plaintext is at most the modulus size.
  SecretBytes out(public_key_->modulus_bytes());
  CK_ULONG out_len = static_cast<CK_ULONG>(out.size());
  if (rv == CKR_OK) {
    rv = fn->C_Decrypt(session_->handle(), const_cast<CK_BYTE*>(wrapped.data()),
                       static_cast<CK_ULONG>(wrapped.size()), out.data(), &out_len);
  }
  *rv_out = rv;
  if (rv == CKR_OK) {
    out.resize(out_len);  // the tail is wiped with the buffer
    if (software_oaep_) return OaepSha256Decode(out, public_key_->modulus_bytes());
    return out;
  }
  switch (rv) {
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
    case CKR_DATA_INVALID:
    case CKR_DATA_LEN_RANGE:
      return DataLossError("identity KEK failed to unwrap under the master key: " + CkrName(rv));
    default:
      if (IsReconnectable(rv)) return UnavailableError("HSM decrypt failed: " + CkrName(rv));
      return InternalError("HSM decrypt failed: " + CkrName(rv) + " " + Where());
  }
}

Result<SecretBytes> Pkcs11MasterKey::UnwrapLocked(std::span<const std::uint8_t> wrapped) {
  if (!session_) SR_RETURN_IF_ERROR(AsRuntime(ConnectLocked()));
  CK_RV rv = CKR_OK;
  Result<SecretBytes> out = DecryptLocked(wrapped, &rv);
  if (out.ok() || !IsReconnectable(rv)) return out;
  DropSessionLocked(rv);
  SR_RETURN_IF_ERROR(AsRuntime(ConnectLocked()));
  return DecryptLocked(wrapped, &rv);
}

Result<SecretBytes> Pkcs11MasterKey::Unwrap(std::span<const std::uint8_t> wrapped) {
  // RSA-OAEP ciphertext is exactly the modulus size (RFC 8017 7.1.2 step 1.b);
  // anything else is corrupt and need not reach the HSM.
  if (wrapped.size() != public_key_->modulus_bytes()) {
    return DataLossError("identity KEK failed to unwrap under the master key: wrong length");
  }
  std::lock_guard<std::mutex> lock(mu_);
  return UnwrapLocked(wrapped);
}

Status Pkcs11MasterKey::Check() {
  std::lock_guard<std::mutex> lock(mu_);
  if (session_) {
    CK_SESSION_INFO info{};
    ops_.fetch_add(1, std::memory_order_relaxed);
    const CK_RV rv = session_->fn()->C_GetSessionInfo(session_->handle(), &info);
    const bool logged_in =
        info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
    if (rv == CKR_OK && logged_in) return Status::Ok();
    // Not logged in any more (another session logged out): start over.
    DropSessionLocked(rv == CKR_OK ? CKR_USER_NOT_LOGGED_IN : rv);
  }
  return AsRuntime(ConnectLocked());
}

}  // namespace strongroom::kms::internal
