// The audit signing key on a PKCS#11 token. See kms/audit_signing_key.h.
#include "kms/audit_signing_key.h"

#include <openssl/evp.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <span>

#include "kms/internal/pkcs11_connection.h"
#include "kms/internal/pkcs11_module.h"

namespace strongroom::kms {
namespace {

using internal::CkrName;
using internal::IsReconnectable;
using internal::Pkcs11Connection;
using internal::Pkcs11Session;

constexpr std::size_t kSha256Bytes = 32;
constexpr std::size_t kP256PointBytes = 65;      // 0x04 || X || Y
constexpr std::size_t kP256SignatureBytes = 64;  // r || s

bool SameBytes(const Bytes& bytes, std::span<const CK_BYTE> expected) {
  return bytes.size() == expected.size() &&
         std::memcmp(bytes.data(), expected.data(), expected.size()) == 0;
}

// CKA_EC_POINT is the DER OCTET STRING holding the uncompressed point
// (PKCS#11 v2.40 Current Mechanisms 2.3.3); some older modules return the
// bare point. nullopt if it is neither.
std::optional<std::string> UncompressedPoint(const Bytes& ec_point) {
  const char* data = reinterpret_cast<const char*>(ec_point.data());
  if (ec_point.size() == kP256PointBytes + 2 && ec_point[0] == 0x04 &&
      ec_point[1] == kP256PointBytes && ec_point[2] == 0x04) {
    return std::string(data + 2, kP256PointBytes);
  }
  if (ec_point.size() == kP256PointBytes && ec_point[0] == 0x04) {
    return std::string(data, kP256PointBytes);
  }
  return std::nullopt;
}

class Pkcs11AuditSigningKey final : public AuditSigningKey {
 public:
  explicit Pkcs11AuditSigningKey(std::string label) : label_(std::move(label)) {}

  // Connects and loads the pair; see OpenAuditSigningKey.
  Status Open(const HsmParams& params);

  Result<std::string> SignSha256(std::string_view message) override;
  const std::string& public_point() const override { return public_point_; }
  const std::string& label() const override { return label_; }
  std::uint64_t operations() const override { return connection_->operations(); }

 private:
  using CallLock = Pkcs11Connection::CallLock;

  // The connection's OnConnect: finds the private key again.
  Status FindKey(Pkcs11Session& session);
  // Checks the pair on the open session and reads the public point.
  Status LoadKeyLocked(Pkcs11Session& session);
  Result<std::string> SignLocked(const unsigned char* digest, CK_RV* rv_out);
  Status Invalid(const std::string& why) const {
    return FailedPreconditionError(Named() + " " + why + " " + connection_->Where(),
                                   "hsm_key_invalid");
  }
  Status NotFound() const {
    return FailedPreconditionError(Named() + " not found " + connection_->Where(),
                                   "hsm_key_not_found");
  }
  std::string Named() const { return "HSM audit signing key \"" + label_ + "\""; }

  const std::string label_;
  std::unique_ptr<Pkcs11Connection> connection_;      // set by Open, then never changed
  std::string public_point_;                          // set by Open, then never changed
  CK_OBJECT_HANDLE private_key_ = CK_INVALID_HANDLE;  // guarded by the connection's mutex
};

Status Pkcs11AuditSigningKey::FindKey(Pkcs11Session& session) {
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> key,
                      session.FindObject(CKO_PRIVATE_KEY, label_));
  private_key_ = key ? *key : CK_INVALID_HANDLE;
  return Status::Ok();
}

Status Pkcs11AuditSigningKey::LoadKeyLocked(Pkcs11Session& session) {
  if (private_key_ == CK_INVALID_HANDLE) {
    return NotFound();
  }
  SR_ASSIGN_OR_RETURN(Bytes key_type, session.GetAttribute(private_key_, CKA_KEY_TYPE));
  CK_KEY_TYPE type = CKK_VENDOR_DEFINED;
  if (key_type.size() == sizeof(type)) std::memcpy(&type, key_type.data(), sizeof(type));
  if (type != CKK_EC) return Invalid("is not an EC key");
  SR_ASSIGN_OR_RETURN(Bytes params, session.GetAttribute(private_key_, CKA_EC_PARAMS));
  if (!SameBytes(params, internal::kEcParamsP256)) return Invalid("is not on curve P-256");
  // The checkpoints' worth rests on the private key never leaving the token.
  SR_ASSIGN_OR_RETURN(bool sensitive, session.GetBool(private_key_, CKA_SENSITIVE));
  SR_ASSIGN_OR_RETURN(bool extractable, session.GetBool(private_key_, CKA_EXTRACTABLE));
  if (!sensitive || extractable) return Invalid("must be CKA_SENSITIVE and not CKA_EXTRACTABLE");
  SR_ASSIGN_OR_RETURN(bool can_sign, session.GetBool(private_key_, CKA_SIGN));
  if (!can_sign) return Invalid("may not sign (CKA_SIGN is false)");

  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> public_key,
                      session.FindObject(CKO_PUBLIC_KEY, label_));
  if (!public_key) {
    return FailedPreconditionError(Named() + " has no public key object " + connection_->Where(),
                                   "hsm_key_not_found");
  }
  SR_ASSIGN_OR_RETURN(Bytes point, session.GetAttribute(*public_key, CKA_EC_POINT));
  std::optional<std::string> uncompressed = UncompressedPoint(point);
  if (!uncompressed) return Invalid("has a public point that is not an uncompressed P-256 point");
  public_point_ = std::move(*uncompressed);
  return Status::Ok();
}

Status Pkcs11AuditSigningKey::Open(const HsmParams& params) {
  SR_ASSIGN_OR_RETURN(connection_, Pkcs11Connection::Create(
                                       params, [this](Pkcs11Session& s) { return FindKey(s); }));
  std::unique_lock<std::mutex> lock;
  CallLock calls;
  // Configuration errors stay FAILED_PRECONDITION here: the server refuses to start.
  SR_RETURN_IF_ERROR(connection_->Connect(&lock, &calls));
  return LoadKeyLocked(*connection_->session());
}

Result<std::string> Pkcs11AuditSigningKey::SignLocked(const unsigned char* digest, CK_RV* rv_out) {
  Pkcs11Session& session = *connection_->session();
  CK_MECHANISM mechanism{CKM_ECDSA, nullptr, 0};
  connection_->CountOperation();
  CK_RV rv = session.fn()->C_SignInit(session.handle(), &mechanism, private_key_);
  unsigned char signature[2 * kP256SignatureBytes];
  CK_ULONG signature_len = sizeof(signature);
  if (rv == CKR_OK) {
    rv = session.fn()->C_Sign(session.handle(), const_cast<unsigned char*>(digest), kSha256Bytes,
                              signature, &signature_len);
  }
  *rv_out = rv;
  if (rv == CKR_OK && signature_len == kP256SignatureBytes) {
    return std::string(reinterpret_cast<const char*>(signature), signature_len);
  }
  if (rv == CKR_OK) {
    return InternalError(Named() + " returned a " + std::to_string(signature_len) +
                         "-byte signature " + connection_->Where());
  }
  if (IsReconnectable(rv)) {
    return UnavailableError("HSM sign failed: " + CkrName(rv), "hsm_unavailable");
  }
  return InternalError("HSM sign failed: " + CkrName(rv) + " " + connection_->Where());
}

Result<std::string> Pkcs11AuditSigningKey::SignSha256(std::string_view message) {
  unsigned char digest[kSha256Bytes];
  unsigned int digest_len = 0;
  if (::EVP_Digest(message.data(), message.size(), digest, &digest_len, ::EVP_sha256(), nullptr) !=
          1 ||
      digest_len != kSha256Bytes) {
    return InternalError("SHA-256 failed");
  }
  std::unique_lock<std::mutex> lock;
  CallLock calls;
  SR_RETURN_IF_ERROR(connection_->Enter(&lock, &calls));
  if (private_key_ == CK_INVALID_HANDLE) {
    return NotFound();
  }
  CK_RV rv = CKR_OK;
  Result<std::string> out = SignLocked(digest, &rv);
  if (rv == CKR_MECHANISM_INVALID || rv == CKR_MECHANISM_PARAM_INVALID) {
    return connection_->MarkDownLocked(
        "HSM sign failed: " + CkrName(rv) + " " + connection_->Where(), true);
  }
  if (out.ok() || !IsReconnectable(rv)) return out;
  SR_RETURN_IF_ERROR(connection_->RecoverLocked(&calls));
  if (private_key_ == CK_INVALID_HANDLE) {
    return NotFound();
  }
  out = SignLocked(digest, &rv);
  if (!out.ok() && IsReconnectable(rv)) {
    return connection_->MarkDownLocked(out.status().message(), false);
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<AuditSigningKey>> OpenAuditSigningKey(const HsmParams& params,
                                                             std::string_view label) {
  if (params.token_label.empty() || label.empty()) {
    return InvalidArgumentError("HSM token label and audit signing key label are required");
  }
  auto key = std::make_unique<Pkcs11AuditSigningKey>(std::string(label));
  SR_RETURN_IF_ERROR(key->Open(params));
  return std::unique_ptr<AuditSigningKey>(std::move(key));
}

}  // namespace strongroom::kms
