// PKCS#11 module loading, slot lookup and sessions. See kms/internal/pkcs11_module.h.
#include "kms/internal/pkcs11_module.h"

#include <dlfcn.h>

#include <cstdio>
#include <map>
#include <mutex>

namespace strongroom::kms::internal {

std::string CkrName(CK_RV rv) {
  switch (rv) {
#define X(name) \
  case name:    \
    return #name;
    X(CKR_ACTION_PROHIBITED)
    X(CKR_ARGUMENTS_BAD)
    X(CKR_ATTRIBUTE_READ_ONLY)
    X(CKR_ATTRIBUTE_SENSITIVE)
    X(CKR_ATTRIBUTE_TYPE_INVALID)
    X(CKR_ATTRIBUTE_VALUE_INVALID)
    X(CKR_BUFFER_TOO_SMALL)
    X(CKR_CANCEL)
    X(CKR_CANT_LOCK)
    X(CKR_CRYPTOKI_ALREADY_INITIALIZED)
    X(CKR_CRYPTOKI_NOT_INITIALIZED)
    X(CKR_CURVE_NOT_SUPPORTED)
    X(CKR_DATA_INVALID)
    X(CKR_DATA_LEN_RANGE)
    X(CKR_DEVICE_ERROR)
    X(CKR_DEVICE_MEMORY)
    X(CKR_DEVICE_REMOVED)
    X(CKR_DOMAIN_PARAMS_INVALID)
    X(CKR_ENCRYPTED_DATA_INVALID)
    X(CKR_ENCRYPTED_DATA_LEN_RANGE)
    X(CKR_EXCEEDED_MAX_ITERATIONS)
    X(CKR_FIPS_SELF_TEST_FAILED)
    X(CKR_FUNCTION_CANCELED)
    X(CKR_FUNCTION_FAILED)
    X(CKR_FUNCTION_NOT_PARALLEL)
    X(CKR_FUNCTION_NOT_SUPPORTED)
    X(CKR_FUNCTION_REJECTED)
    X(CKR_GENERAL_ERROR)
    X(CKR_HOST_MEMORY)
    X(CKR_INFORMATION_SENSITIVE)
    X(CKR_KEY_CHANGED)
    X(CKR_KEY_FUNCTION_NOT_PERMITTED)
    X(CKR_KEY_HANDLE_INVALID)
    X(CKR_KEY_INDIGESTIBLE)
    X(CKR_KEY_NEEDED)
    X(CKR_KEY_NOT_NEEDED)
    X(CKR_KEY_NOT_WRAPPABLE)
    X(CKR_KEY_SIZE_RANGE)
    X(CKR_KEY_TYPE_INCONSISTENT)
    X(CKR_KEY_UNEXTRACTABLE)
    X(CKR_LIBRARY_LOAD_FAILED)
    X(CKR_MECHANISM_INVALID)
    X(CKR_MECHANISM_PARAM_INVALID)
    X(CKR_MUTEX_BAD)
    X(CKR_MUTEX_NOT_LOCKED)
    X(CKR_NEED_TO_CREATE_THREADS)
    X(CKR_NEW_PIN_MODE)
    X(CKR_NEXT_OTP)
    X(CKR_NO_EVENT)
    X(CKR_OBJECT_HANDLE_INVALID)
    X(CKR_OK)
    X(CKR_OPERATION_ACTIVE)
    X(CKR_OPERATION_NOT_INITIALIZED)
    X(CKR_PIN_EXPIRED)
    X(CKR_PIN_INCORRECT)
    X(CKR_PIN_INVALID)
    X(CKR_PIN_LEN_RANGE)
    X(CKR_PIN_LOCKED)
    X(CKR_PIN_TOO_WEAK)
    X(CKR_PUBLIC_KEY_INVALID)
    X(CKR_RANDOM_NO_RNG)
    X(CKR_RANDOM_SEED_NOT_SUPPORTED)
    X(CKR_SAVED_STATE_INVALID)
    X(CKR_SESSION_CLOSED)
    X(CKR_SESSION_COUNT)
    X(CKR_SESSION_EXISTS)
    X(CKR_SESSION_HANDLE_INVALID)
    X(CKR_SESSION_PARALLEL_NOT_SUPPORTED)
    X(CKR_SESSION_READ_ONLY)
    X(CKR_SESSION_READ_ONLY_EXISTS)
    X(CKR_SESSION_READ_WRITE_SO_EXISTS)
    X(CKR_SIGNATURE_INVALID)
    X(CKR_SIGNATURE_LEN_RANGE)
    X(CKR_SLOT_ID_INVALID)
    X(CKR_STATE_UNSAVEABLE)
    X(CKR_TEMPLATE_INCOMPLETE)
    X(CKR_TEMPLATE_INCONSISTENT)
    X(CKR_TOKEN_NOT_PRESENT)
    X(CKR_TOKEN_NOT_RECOGNIZED)
    X(CKR_TOKEN_WRITE_PROTECTED)
    X(CKR_UNWRAPPING_KEY_SIZE_RANGE)
    X(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT)
    X(CKR_USER_ALREADY_LOGGED_IN)
    X(CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
    X(CKR_USER_NOT_LOGGED_IN)
    X(CKR_USER_PIN_NOT_INITIALIZED)
    X(CKR_USER_TOO_MANY_TYPES)
    X(CKR_USER_TYPE_INVALID)
    X(CKR_WRAPPED_KEY_INVALID)
    X(CKR_WRAPPED_KEY_LEN_RANGE)
    X(CKR_WRAPPING_KEY_HANDLE_INVALID)
    X(CKR_WRAPPING_KEY_SIZE_RANGE)
    X(CKR_WRAPPING_KEY_TYPE_INCONSISTENT)
#undef X
    default:
      break;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "CKR_0x%08lx", static_cast<unsigned long>(rv));
  return buf;
}

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}

// Leaked on purpose: modules are never unloaded (see Pkcs11Module), and a
// static destructor must not race threads still using a module at exit.
std::map<std::string, std::shared_ptr<Pkcs11Module>>& Registry() {
  static auto* registry = new std::map<std::string, std::shared_ptr<Pkcs11Module>>();
  return *registry;
}

std::string TrimLabel(const unsigned char* label, std::size_t size) {
  std::string out(reinterpret_cast<const char*>(label), size);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  return out;
}

}  // namespace

Result<std::shared_ptr<Pkcs11Module>> Pkcs11Module::Load(const std::string& path) {
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto& registry = Registry();
  if (auto it = registry.find(path); it != registry.end()) return it->second;

  // RTLD_NOW: fail here, naming the path, rather than at the first call.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    // dlerror() names the file and the loader's reason; it holds no secrets.
    const char* why = ::dlerror();
    return FailedPreconditionError(
        "cannot load PKCS#11 module " + path + ": " + (why != nullptr ? why : "unknown error"),
        "hsm_unavailable");
  }
  auto get_list = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
  CK_FUNCTION_LIST* fn = nullptr;
  if (get_list == nullptr || get_list(&fn) != CKR_OK || fn == nullptr) {
    ::dlclose(handle);
    return FailedPreconditionError("PKCS#11 module " + path + " has no usable C_GetFunctionList",
                                   "hsm_unavailable");
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  const CK_RV rv = fn->C_Initialize(&args);
  // ALREADY_INITIALIZED: another library in this process (e.g. libp11) got there first.
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    ::dlclose(handle);
    return FailedPreconditionError(
        "PKCS#11 module " + path + " failed to initialise: " + CkrName(rv), "hsm_unavailable");
  }
  std::shared_ptr<Pkcs11Module> module(new Pkcs11Module(path, handle, fn));
  registry.emplace(path, module);
  return module;
}

Status Pkcs11Module::Reinitialize(std::uint64_t seen_generation) {
  std::unique_lock<std::shared_mutex> lock(calls_mu_);
  if (generation_.load(std::memory_order_relaxed) != seen_generation) return Status::Ok();
  // The return value is ignored: after a device error the module may already
  // consider itself finalised (CKR_CRYPTOKI_NOT_INITIALIZED).
  fn_->C_Finalize(nullptr);
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  const CK_RV rv = fn_->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    return UnavailableError("PKCS#11 module " + path_ + " failed to re-initialise: " + CkrName(rv),
                            "hsm_unavailable");
  }
  generation_.fetch_add(1, std::memory_order_release);
  return Status::Ok();
}

Result<std::string> Pkcs11Module::PadLabel(std::string_view label) {
  if (label.size() > 32) return InvalidArgumentError("token label longer than 32 bytes");
  std::string padded(label);
  padded.resize(32, ' ');
  return padded;
}

Result<std::vector<CK_SLOT_ID>> Pkcs11Module::SlotsWithTokens() const {
  // The list can grow between the two calls (hot-plug); retry on BUFFER_TOO_SMALL.
  for (int attempt = 0; attempt < 3; ++attempt) {
    CK_ULONG count = 0;
    CK_RV rv = fn_->C_GetSlotList(CK_TRUE, nullptr, &count);
    if (rv != CKR_OK) {
      return UnavailableError("HSM slot list failed: " + CkrName(rv) + " (module " + path_ + ")");
    }
    std::vector<CK_SLOT_ID> slots(count);
    rv = fn_->C_GetSlotList(CK_TRUE, slots.data(), &count);
    if (rv == CKR_BUFFER_TOO_SMALL) continue;
    if (rv != CKR_OK) {
      return UnavailableError("HSM slot list failed: " + CkrName(rv) + " (module " + path_ + ")");
    }
    slots.resize(count);
    return slots;
  }
  return UnavailableError("HSM slot list kept changing (module " + path_ + ")");
}

Result<std::optional<CK_SLOT_ID>> Pkcs11Module::FindTokenSlot(std::string_view label) const {
  SR_ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, SlotsWithTokens());
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    // A slot whose token vanished meanwhile is simply not a match.
    if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
    if (TrimLabel(info.label, sizeof(info.label)) == label) return std::optional<CK_SLOT_ID>(slot);
  }
  return std::optional<CK_SLOT_ID>();
}

Result<std::optional<CK_SLOT_ID>> Pkcs11Module::FindUninitializedSlot() const {
  SR_ASSIGN_OR_RETURN(std::vector<CK_SLOT_ID> slots, SlotsWithTokens());
  for (CK_SLOT_ID slot : slots) {
    CK_TOKEN_INFO info{};
    if (fn_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
    if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) return std::optional<CK_SLOT_ID>(slot);
  }
  return std::optional<CK_SLOT_ID>();
}

Result<Pkcs11Session> Pkcs11Session::Open(std::shared_ptr<Pkcs11Module> module, CK_SLOT_ID slot,
                                          bool read_write, std::atomic<std::uint64_t>* ops) {
  CK_FLAGS flags = CKF_SERIAL_SESSION | (read_write ? CKF_RW_SESSION : 0);
  CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
  if (ops != nullptr) ops->fetch_add(1, std::memory_order_relaxed);
  const CK_RV rv = module->fn()->C_OpenSession(slot, flags, nullptr, nullptr, &handle);
  if (rv != CKR_OK) {
    return UnavailableError("HSM session open failed: " + CkrName(rv) + " (module " +
                            module->path() + ")");
  }
  return Pkcs11Session(std::move(module), slot, handle, ops);
}

Pkcs11Session::Pkcs11Session(Pkcs11Session&& other) noexcept
    : module_(std::move(other.module_)),
      slot_(other.slot_),
      handle_(other.handle_),
      ops_(other.ops_),
      logged_in_(other.logged_in_) {
  other.handle_ = CK_INVALID_HANDLE;
  other.logged_in_ = false;
}

Pkcs11Session& Pkcs11Session::operator=(Pkcs11Session&& other) noexcept {
  if (this != &other) {
    Close();
    module_ = std::move(other.module_);
    slot_ = other.slot_;
    handle_ = other.handle_;
    ops_ = other.ops_;
    logged_in_ = other.logged_in_;
    other.handle_ = CK_INVALID_HANDLE;
    other.logged_in_ = false;
  }
  return *this;
}

CK_RV Pkcs11Session::Login(CK_USER_TYPE user, const SecretString& pin) {
  Count();
  // The PIN goes to the module and nowhere else.
  const CK_RV rv =
      fn()->C_Login(handle_, user, reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(pin.c_str())),
                    static_cast<CK_ULONG>(pin.size()));
  if (rv == CKR_OK) logged_in_ = true;
  if (rv == CKR_USER_ALREADY_LOGGED_IN) return CKR_OK;
  return rv;
}

Result<std::optional<CK_OBJECT_HANDLE>> Pkcs11Session::FindObject(CK_OBJECT_CLASS klass,
                                                                  std::string_view label,
                                                                  CK_RV* rv_out) {
  Count();
  CK_ATTRIBUTE templ[] = {
      {CKA_CLASS, &klass, sizeof(klass)},
      {CKA_LABEL, const_cast<char*>(label.data()), static_cast<CK_ULONG>(label.size())},
  };
  CK_RV rv = fn()->C_FindObjectsInit(handle_, templ, 2);
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK) return UnavailableError("HSM object search failed: " + CkrName(rv));
  CK_OBJECT_HANDLE object = CK_INVALID_HANDLE;
  CK_ULONG found = 0;
  rv = fn()->C_FindObjects(handle_, &object, 1, &found);
  // Always end the search so the session is usable for the next operation.
  const CK_RV final_rv = fn()->C_FindObjectsFinal(handle_);
  if (rv == CKR_OK) rv = final_rv;
  if (rv_out != nullptr) *rv_out = rv;
  if (rv != CKR_OK) return UnavailableError("HSM object search failed: " + CkrName(rv));
  if (found == 0) return std::optional<CK_OBJECT_HANDLE>();
  return std::optional<CK_OBJECT_HANDLE>(object);
}

Result<Bytes> Pkcs11Session::GetAttribute(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type,
                                          CK_RV* rv_out) {
  Count();
  CK_ATTRIBUTE attr = {type, nullptr, 0};
  CK_RV rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
  if (rv == CKR_OK && attr.ulValueLen != static_cast<CK_ULONG>(-1)) {
    Bytes value(attr.ulValueLen);
    attr.pValue = value.data();
    rv = fn()->C_GetAttributeValue(handle_, object, &attr, 1);
    if (rv == CKR_OK) {
      value.resize(attr.ulValueLen);
      if (rv_out != nullptr) *rv_out = rv;
      return value;
    }
  }
  if (rv_out != nullptr) *rv_out = rv;
  return UnavailableError("HSM attribute read failed: " + CkrName(rv));
}

Result<bool> Pkcs11Session::GetBool(CK_OBJECT_HANDLE object, CK_ATTRIBUTE_TYPE type) {
  SR_ASSIGN_OR_RETURN(Bytes value, GetAttribute(object, type));
  if (value.size() != sizeof(CK_BBOOL)) return UnavailableError("HSM returned a malformed flag");
  return value[0] != CK_FALSE;
}

void Pkcs11Session::Close() noexcept {
  if (handle_ == CK_INVALID_HANDLE || !module_) return;
  // Return values are ignored: nothing useful can be done about a failed
  // logout or close, and the module frees the session either way.
  if (logged_in_) fn()->C_Logout(handle_);
  fn()->C_CloseSession(handle_);
  handle_ = CK_INVALID_HANDLE;
  logged_in_ = false;
}

void Pkcs11Session::Abandon() noexcept {
  handle_ = CK_INVALID_HANDLE;
  logged_in_ = false;
}

}  // namespace strongroom::kms::internal
