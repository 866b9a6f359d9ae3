#include "model/internal/base32.h"

#include <liboath/oath.h>

#include <cstdlib>
#include <mutex>

namespace strongroom::model::internal {
namespace {

constexpr std::size_t kMinSeedBytes = 10;  // 80 bits

Status SeedError(std::string message) {
  return InvalidArgumentError(std::move(message), "invalid_totp_secret");
}

// Owns a buffer liboath allocated with malloc; wipes it before freeing because it
// holds the HMAC key.
class OathBuffer final {
 public:
  OathBuffer() = default;
  OathBuffer(const OathBuffer&) = delete;
  OathBuffer& operator=(const OathBuffer&) = delete;
  ~OathBuffer() {
    if (data_ != nullptr) {
      SecureWipe(data_, size_);
      // liboath allocates with malloc.
      std::free(data_);  // NOLINT(cppcoreguidelines-no-malloc,cppcoreguidelines-owning-memory)
    }
  }
  char** data_out() { return &data_; }
  std::size_t* size_out() { return &size_; }
  const char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace

Status EnsureOathInitialized() {
  static std::once_flag once;
  static int rc = OATH_OK;
  std::call_once(once, [] { rc = ::oath_init(); });
  if (rc != OATH_OK) return InternalError("liboath initialisation failed");
  return Status::Ok();
}

Result<SecretString> NormalizeTotpSeed(std::string_view seed) {
  SecretString out;
  bool padding = false;
  std::size_t length = 0;
  for (char c : seed) {
    if (c == ' ') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) return SeedError("TOTP seed has data after '=' padding");
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) {
      return SeedError("TOTP seed is not base32 (RFC 4648 alphabet A-Z, 2-7)");
    }
    char one[1] = {c};
    out.Append(std::string_view(one, 1));
    ++length;
  }
  // A final quantum of 1, 3 or 6 characters cannot encode whole bytes (RFC 4648 section 6).
  switch (length % 8) {
    case 1:
    case 3:
    case 6:
      return SeedError("TOTP seed has an impossible base32 length");
    default:
      break;
  }
  if (length * 5 / 8 < kMinSeedBytes) {
    return SeedError("TOTP seed is shorter than 80 bits (16 base32 characters)");
  }
  return out;
}

Result<SecretBytes> DecodeTotpSeed(std::string_view seed) {
  SR_ASSIGN_OR_RETURN(SecretString normalized, NormalizeTotpSeed(seed));
  SR_RETURN_IF_ERROR(EnsureOathInitialized());
  OathBuffer key;
  // Unpadded input is fine: liboath pads it before decoding.
  int rc =
      ::oath_base32_decode(normalized.c_str(), normalized.size(), key.data_out(), key.size_out());
  if (rc != OATH_OK) return SeedError("TOTP seed is not valid base32");
  if (key.size() < kMinSeedBytes) {
    return SeedError("TOTP seed is shorter than 80 bits (16 base32 characters)");
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(key.data());
  return SecretBytes(bytes, bytes + key.size());
}

}  // namespace strongroom::model::internal
