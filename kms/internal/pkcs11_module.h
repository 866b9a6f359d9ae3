// Raw PKCS#11 (OASIS v2.40) access: the loaded module and RAII sessions.
//
// Why not libp11: libp11 0.4.12's PKCS11_private_decrypt() maps only
// RSA_PKCS1_PADDING, RSA_NO_PADDING and RSA_X931_PADDING to a mechanism
// (see /usr/include/libp11.h and its p11_rsa.c); RSA-OAEP with SHA-256 is only
// reachable through its OpenSSL *engine* EVP_PKEY method, and Debian 12 ships
// no pkcs11 engine for OpenSSL 3 (engines are deprecated there anyway). So the
// master-key unwrap is a direct C_Decrypt with CKM_RSA_PKCS_OAEP and
// CK_RSA_PKCS_OAEP_PARAMS{CKM_SHA256, CKG_MGF1_SHA256} (PKCS#11 v2.40
// Current Mechanisms 2.1.8), through the standard OASIS header shipped by
// p11-kit and a dlopen'ed module.
//
// Folder-private (and used by tests/kms). Nothing here logs or formats a PIN.
#pragma once

#include <p11-kit/pkcs11.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/secret.h"
#include "kms/key_manager.h"

namespace strongroom::kms::internal {

// CKA_EC_PARAMS of a P-256 key: the DER of the namedCurve OID prime256v1
// (1.2.840.10045.3.1.7), RFC 5480 2.1.1.1.
inline constexpr CK_BYTE kEcParamsP256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                            0xce, 0x3d, 0x03, 0x01, 0x07};

// "CKR_PIN_INCORRECT"; unknown values as "CKR_0x000001a0".
std::string CkrName(CK_RV rv);

// A loaded and C_Initialize'd PKCS#11 module.
//
// One instance per module path per process (PKCS#11 v2.40 5.4: C_Initialize is
// per application): Load() returns the shared instance. Modules stay loaded
// until process exit. C_Finalize is called only by Reinitialize (SPEC 11: a
// device error re-initialises PKCS#11), which every holder in the process
// coordinates through generation() and CallLock().
// Thread safety: the function list is immutable and the module is initialised
// with CKF_OS_LOCKING_OK, so it may be used from any thread.
class Pkcs11Module final {
 public:
  // FAILED_PRECONDITION naming `path` if it cannot be loaded or initialised.
  static Result<std::shared_ptr<Pkcs11Module>> Load(const std::string& path);

  Pkcs11Module(const Pkcs11Module&) = delete;
  Pkcs11Module& operator=(const Pkcs11Module&) = delete;
  ~Pkcs11Module() = default;

  CK_FUNCTION_LIST* fn() const { return fn_; }
  const std::string& path() const { return path_; }

  // The slot whose token has `label` (CK_TOKEN_INFO.label is 32 bytes,
  // blank-padded: PKCS#11 v2.40 3.2), or nullopt. Re-enumerates every call,
  // since slot ids can change (SoftHSM2 renumbers after C_InitToken).
  Result<std::optional<CK_SLOT_ID>> FindTokenSlot(std::string_view label) const;
  // A slot with a token present but not initialised (CKF_TOKEN_INITIALIZED clear).
  Result<std::optional<CK_SLOT_ID>> FindUninitializedSlot() const;

  // `label` blank-padded to 32 bytes; INVALID_ARGUMENT if longer.
  static Result<std::string> PadLabel(std::string_view label);

  // C_Finalize then C_Initialize, for a holder whose session died with a
  // device-level error. `seen_generation` is the generation() the holder's
  // session was opened in: if another holder re-initialised since, this does
  // nothing (one re-initialisation per outage, not one per holder). Waits for
  // every call made under CallLock() to finish first (PKCS#11 v2.40 5.4:
  // C_Finalize must not run while other threads are in calls). Every session
  // of the process is gone afterwards. UNAVAILABLE if C_Initialize fails
  // (the next call tries again).
  Status Reinitialize(std::uint64_t seen_generation);
  // Bumped by every successful Reinitialize.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Held (shared) around a holder's PKCS#11 calls so Reinitialize never
  // finalises the module under them. Never held across Reinitialize.
  std::shared_lock<std::shared_mutex> CallLock() const {
    return std::shared_lock<std::shared_mutex>(calls_mu_);
  }

 private:
  Pkcs11Module(std::string path, void* handle, CK_FUNCTION_LIST* fn)
      : path_(std::move(path)), handle_(handle), fn_(fn) {}
  Result<std::vector<CK_SLOT_ID>> SlotsWithTokens() const;

  std::string path_;
  void* handle_;  // dlopen handle; never dlclose'd (see class comment)
  CK_FUNCTION_LIST* fn_;
  mutable std::shared_mutex calls_mu_;
  std::atomic<std::uint64_t> generation_{0};  // written with calls_mu_ held exclusively
};

// An open session, logged out and closed on destruction. Move-only.
// Not thread-safe: the owner serialises use.
class Pkcs11Session final {
 public:
  // Opens a (read-only or read-write) serial session on `slot`. `ops`, if set,
  // counts each PKCS#11 call that does work. Errors are UNAVAILABLE.
  static Result<Pkcs11Session> Open(std::shared_ptr<Pkcs11Module> module, CK_SLOT_ID slot,
                                    bool read_write, std::atomic<std::uint64_t>* ops);

  Pkcs11Session(Pkcs11Session&& other) noexcept;
  Pkcs11Session& operator=(Pkcs11Session&& other) noexcept;
  Pkcs11Session(const Pkcs11Session&) = delete;
  Pkcs11Session& operator=(const Pkcs11Session&) = delete;
  ~Pkcs11Session() { Close(); }

  CK_SESSION_HANDLE handle() const { return handle_; }
  CK_FUNCTION_LIST* fn() const { return module_->fn(); }
  CK_SLOT_ID slot() const { return slot_; }

  // C_Login. CKR_USER_ALREADY_LOGGED_IN (another session of this process
  // logged in: login state is per application, PKCS#11 v2.40 5.6) counts as
  // success, without taking ownership of the login.
  CK_RV Login(CK_USER_TYPE user, const SecretString& pin);

  // First object of `klass` with CKA_LABEL == label; nullopt if none.
  // On failure returns the CK_RV in `rv_out` (for reconnect decisions).
  Result<std::optional<CK_OBJECT_HANDLE>> FindObject(CK_OBJECT_CLASS klass, std::string_view label,
                                                     CK_RV* rv_out = nullptr);
  // The value of one attribute (two-call C_GetAttributeValue).
  Result<Bytes> GetAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type,
                             CK_RV* rv_out = nullptr);
  // A CK_BBOOL attribute.
  Result<bool> GetBool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type);

  // Logs out (if this session logged in) and closes. Safe to call twice.
  void Close() noexcept;
  // Forgets the handle without calling the module: for a session the module
  // already reports as closed, whose handle number it may hand out again.
  void Abandon() noexcept;

 private:
  Pkcs11Session(std::shared_ptr<Pkcs11Module> module, CK_SLOT_ID slot, CK_SESSION_HANDLE handle,
                std::atomic<std::uint64_t>* ops)
      : module_(std::move(module)), slot_(slot), handle_(handle), ops_(ops) {}
  void Count() {
    if (ops_ != nullptr) ops_->fetch_add(1, std::memory_order_relaxed);
  }

  std::shared_ptr<Pkcs11Module> module_;
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
  std::atomic<std::uint64_t>* ops_ = nullptr;
  bool logged_in_ = false;
};

}  // namespace strongroom::kms::internal
