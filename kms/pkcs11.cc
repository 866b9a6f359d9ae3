// OpenKeyManager and ProvisionToken (kms/pkcs11.h), and
// ProvisionAuditSigningKey (kms/audit_signing_key.h).
#include "kms/pkcs11.h"

#include <algorithm>
#include <iterator>
#include <vector>

#include "base/random.h"
#include "kms/audit_signing_key.h"
#include "kms/internal/pkcs11_master_key.h"
#include "kms/internal/pkcs11_module.h"
#include "kms/key_manager_impl.h"

namespace strongroom::kms {

using internal::CkrName;
using internal::Pkcs11Module;
using internal::Pkcs11Session;

Result<std::unique_ptr<KeyManager>> OpenKeyManager(const HsmParams& params) {
  SR_ASSIGN_OR_RETURN(std::unique_ptr<internal::Pkcs11MasterKey> master,
                      internal::Pkcs11MasterKey::Open(params));
  return std::unique_ptr<KeyManager>(std::make_unique<KeyManagerImpl>(std::move(master)));
}

namespace {

CK_UTF8CHAR* PinPtr(const SecretString& pin) {
  return reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.c_str()));
}

std::string Where(const HsmParams& params) {
  return "(module " + params.module_path + ", token \"" + params.token_label + "\")";
}

// C_InitToken on a free slot, then C_InitPIN as SO (PKCS#11 v2.40 5.6).
Status InitToken(const std::shared_ptr<Pkcs11Module>& module, const HsmParams& params,
                 const SecretString& so_pin) {
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> free_slot, module->FindUninitializedSlot());
  if (!free_slot) {
    return FailedPreconditionError("no uninitialised token slot to create token \"" +
                                       params.token_label + "\" (module " + params.module_path +
                                       ")",
                                   "hsm_token_not_found");
  }
  SR_ASSIGN_OR_RETURN(std::string padded, Pkcs11Module::PadLabel(params.token_label));
  CK_RV rv =
      module->fn()->C_InitToken(*free_slot, PinPtr(so_pin), static_cast<CK_ULONG>(so_pin.size()),
                                reinterpret_cast<CK_UTF8CHAR*>(padded.data()));
  if (rv != CKR_OK) {
    return FailedPreconditionError("HSM token init failed: " + CkrName(rv) + " " + Where(params),
                                   "hsm_provision_failed");
  }
  // SoftHSM2 gives an initialised token a new slot id: look it up again.
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module->FindTokenSlot(params.token_label));
  if (!slot) {
    return InternalError("HSM token \"" + params.token_label + "\" missing after init (module " +
                         params.module_path + ")");
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session,
                      Pkcs11Session::Open(module, *slot, /*read_write=*/true, nullptr));
  rv = session.Login(CKU_SO, so_pin);
  if (rv != CKR_OK) {
    return FailedPreconditionError("HSM SO login failed: " + CkrName(rv) + " " + Where(params),
                                   "hsm_login_failed");
  }
  rv = module->fn()->C_InitPIN(session.handle(), PinPtr(params.pin),
                               static_cast<CK_ULONG>(params.pin.size()));
  if (rv != CKR_OK) {
    return FailedPreconditionError("HSM user PIN init failed: " + CkrName(rv) + " " + Where(params),
                                   "hsm_provision_failed");
  }
  return Status::Ok();
}

// Key-type-specific attributes of a pair to generate.
struct PairSpec {
  CK_KEY_TYPE type;
  CK_MECHANISM_TYPE mechanism;
  std::vector<CK_ATTRIBUTE> public_extra;   // size, curve, usage
  std::vector<CK_ATTRIBUTE> private_extra;  // usage
  const char* what;                         // "master key", for the error
};

// Generates the token key pair `label`: public key not private; private key
// private, sensitive and never extractable; both with one fresh random CKA_ID.
Status GenerateKeyPair(Pkcs11Session& session, const HsmParams& params, std::string label,
                       PairSpec spec) {
  SR_ASSIGN_OR_RETURN(SecretBytes id, RandomSecretBytes(16));
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_OBJECT_CLASS public_class = CKO_PUBLIC_KEY;
  CK_OBJECT_CLASS private_class = CKO_PRIVATE_KEY;
  const CK_ULONG label_len = static_cast<CK_ULONG>(label.size());
  const CK_ULONG id_len = static_cast<CK_ULONG>(id.size());
  std::vector<CK_ATTRIBUTE> public_template = {
      {CKA_CLASS, &public_class, sizeof(public_class)},
      {CKA_KEY_TYPE, &spec.type, sizeof(spec.type)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &no, sizeof(no)},
      {CKA_LABEL, label.data(), label_len},
      {CKA_ID, id.data(), id_len},
  };
  public_template.insert(public_template.end(), spec.public_extra.begin(), spec.public_extra.end());
  std::vector<CK_ATTRIBUTE> private_template = {
      {CKA_CLASS, &private_class, sizeof(private_class)},
      {CKA_KEY_TYPE, &spec.type, sizeof(spec.type)},
      {CKA_TOKEN, &yes, sizeof(yes)},
      {CKA_PRIVATE, &yes, sizeof(yes)},
      {CKA_SENSITIVE, &yes, sizeof(yes)},
      {CKA_EXTRACTABLE, &no, sizeof(no)},
      {CKA_LABEL, label.data(), label_len},
      {CKA_ID, id.data(), id_len},
  };
  private_template.insert(private_template.end(), spec.private_extra.begin(),
                          spec.private_extra.end());
  CK_MECHANISM mechanism{spec.mechanism, nullptr, 0};
  CK_OBJECT_HANDLE public_key = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE private_key = CK_INVALID_HANDLE;
  const CK_RV rv = session.fn()->C_GenerateKeyPair(
      session.handle(), &mechanism, public_template.data(),
      static_cast<CK_ULONG>(public_template.size()), private_template.data(),
      static_cast<CK_ULONG>(private_template.size()), &public_key, &private_key);
  if (rv != CKR_OK) {
    return FailedPreconditionError(std::string("HSM ") + spec.what +
                                       " generation failed: " + CkrName(rv) + " " + Where(params),
                                   "hsm_provision_failed");
  }
  return Status::Ok();
}

// RSA-3072 master key pair: decrypt/unwrap only.
Status GenerateMasterKey(Pkcs11Session& session, const HsmParams& params) {
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_ULONG bits = 3072;
  CK_BYTE exponent[] = {0x01, 0x00, 0x01};  // 65537
  return GenerateKeyPair(session, params, params.master_key_label,
                         PairSpec{CKK_RSA,
                                  CKM_RSA_PKCS_KEY_PAIR_GEN,
                                  {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                                   {CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)},
                                   {CKA_ENCRYPT, &yes, sizeof(yes)},
                                   {CKA_WRAP, &yes, sizeof(yes)},
                                   {CKA_VERIFY, &no, sizeof(no)}},
                                  {{CKA_DECRYPT, &yes, sizeof(yes)},
                                   {CKA_UNWRAP, &yes, sizeof(yes)},
                                   {CKA_SIGN, &no, sizeof(no)}},
                                  "master key"});
}

// EC P-256 pair for the audit checkpoints: sign only; the public key object
// holds the point.
Status GenerateSigningKey(Pkcs11Session& session, const HsmParams& params,
                          const std::string& label) {
  CK_BBOOL yes = CK_TRUE;
  CK_BBOOL no = CK_FALSE;
  CK_BYTE curve[sizeof(internal::kEcParamsP256)];
  std::copy(std::begin(internal::kEcParamsP256), std::end(internal::kEcParamsP256), curve);
  return GenerateKeyPair(
      session, params, label,
      PairSpec{CKK_EC,
               CKM_EC_KEY_PAIR_GEN,
               {{CKA_EC_PARAMS, curve, sizeof(curve)}, {CKA_VERIFY, &yes, sizeof(yes)}},
               {{CKA_SIGN, &yes, sizeof(yes)},
                {CKA_DECRYPT, &no, sizeof(no)},
                {CKA_DERIVE, &no, sizeof(no)}},
               "audit signing key"});
}

// A read-write session on `slot`, logged in as the user.
Result<Pkcs11Session> OpenUserSession(const std::shared_ptr<Pkcs11Module>& module, CK_SLOT_ID slot,
                                      const HsmParams& params) {
  SR_ASSIGN_OR_RETURN(Pkcs11Session session,
                      Pkcs11Session::Open(module, slot, /*read_write=*/true, nullptr));
  const CK_RV rv = session.Login(CKU_USER, params.pin);
  if (rv != CKR_OK) {
    return FailedPreconditionError("HSM login failed: " + CkrName(rv) + " " + Where(params),
                                   "hsm_login_failed");
  }
  return session;
}

}  // namespace

Result<bool> ProvisionToken(const HsmParams& params, const SecretString& so_pin) {
  if (params.token_label.empty() || params.master_key_label.empty()) {
    return InvalidArgumentError("HSM token label and master key label are required");
  }
  SR_RETURN_IF_ERROR(Pkcs11Module::PadLabel(params.token_label).status());
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  bool created = false;
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module->FindTokenSlot(params.token_label));
  if (!slot) {
    SR_RETURN_IF_ERROR(InitToken(module, params, so_pin));
    created = true;
    SR_ASSIGN_OR_RETURN(slot, module->FindTokenSlot(params.token_label));
    if (!slot) {
      return InternalError("HSM token \"" + params.token_label + "\" missing after init");
    }
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session, OpenUserSession(module, *slot, params));
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> existing,
                      session.FindObject(CKO_PRIVATE_KEY, params.master_key_label));
  if (!existing) {
    SR_RETURN_IF_ERROR(GenerateMasterKey(session, params));
    created = true;
  }
  return created;
}

Result<bool> ProvisionAuditSigningKey(const HsmParams& params, std::string_view label) {
  if (params.token_label.empty() || label.empty()) {
    return InvalidArgumentError("HSM token label and audit signing key label are required");
  }
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module->FindTokenSlot(params.token_label));
  if (!slot) {
    return FailedPreconditionError(
        "HSM token \"" + params.token_label + "\" not found (module " + params.module_path + ")",
        "hsm_token_not_found");
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session, OpenUserSession(module, *slot, params));
  const std::string key_label(label);
  SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> existing,
                      session.FindObject(CKO_PRIVATE_KEY, key_label));
  if (existing) return false;
  SR_RETURN_IF_ERROR(GenerateSigningKey(session, params, key_label));
  return true;
}

Status DestroyMasterKeyPair(const HsmParams& params, std::string_view label) {
  SR_ASSIGN_OR_RETURN(std::shared_ptr<Pkcs11Module> module, Pkcs11Module::Load(params.module_path));
  SR_ASSIGN_OR_RETURN(std::optional<CK_SLOT_ID> slot, module->FindTokenSlot(params.token_label));
  if (!slot) {
    return FailedPreconditionError("HSM token not found " + Where(params), "hsm_key_not_found");
  }
  SR_ASSIGN_OR_RETURN(Pkcs11Session session,
                      Pkcs11Session::Open(module, *slot, /*read_write=*/true, nullptr));
  const CK_RV login = session.Login(CKU_USER, params.pin);
  if (login != CKR_OK) {
    return FailedPreconditionError("HSM login failed: " + CkrName(login) + " " + Where(params),
                                   "hsm_login_failed");
  }
  for (CK_OBJECT_CLASS klass : {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
    SR_ASSIGN_OR_RETURN(std::optional<CK_OBJECT_HANDLE> object, session.FindObject(klass, label));
    if (!object) continue;
    const CK_RV rv = session.fn()->C_DestroyObject(session.handle(), *object);
    if (rv != CKR_OK) {
      return FailedPreconditionError(
          "HSM key destruction failed: " + CkrName(rv) + " " + Where(params), "hsm_key_invalid");
    }
  }
  return Status::Ok();
}

}  // namespace strongroom::kms
