// Fuzzes TOTP seed parsing (model/internal/base32.h): any input either fails with
// invalid_totp_secret or normalises to a canonical seed that is a fixed point,
// decodes to at least 80 bits, and decodes to the same key as the input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "fuzz/fuzz_util.h"
#include "model/internal/base32.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using strongroom::model::internal::DecodeTotpSeed;
  using strongroom::model::internal::NormalizeTotpSeed;
  std::string_view seed(reinterpret_cast<const char*>(data), size);
  auto normal = NormalizeTotpSeed(seed);
  if (!normal.ok()) {
    FUZZ_CHECK(normal.status().error_code() == "invalid_totp_secret");
    return 0;
  }
  auto again = NormalizeTotpSeed(normal->view());
  FUZZ_CHECK(again.ok() && again->view() == normal->view());
  auto key = DecodeTotpSeed(seed);
  auto key_of_normal = DecodeTotpSeed(normal->view());
  FUZZ_CHECK(key.ok() && key_of_normal.ok());
  FUZZ_CHECK(key->size() >= 10);
  FUZZ_CHECK(*key == *key_of_normal);
  return 0;
}
