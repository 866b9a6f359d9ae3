// Fuzzes PUT body validation (model/validation.h) the way vault::Vault::Put
// feeds it: JSON text parsed without exceptions, then ParseCredentialInput.
// A body that is accepted is rebuilt from the normalised result (type, data,
// metadata, expiresAt) and must validate again to exactly the same result: the
// normal form is a fixed point, so a stored credential re-PUT is unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/secret_json.h"
#include "fuzz/fuzz_util.h"
#include "model/credential.h"
#include "model/validation.h"

namespace {

constexpr strongroom::UnixMillis kNow = 1'767'225'600'000;  // 2026-01-01

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using nlohmann::json;
  namespace model = strongroom::model;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  strongroom::SecretJson body(json::parse(text, nullptr, /*allow_exceptions=*/false));
  if (body->is_discarded()) return 0;
  auto input = model::ParseCredentialInput(*body, kNow);
  if (!input.ok()) {
    FUZZ_CHECK(!input.status().error_code().empty());
    return 0;
  }
  FUZZ_CHECK(model::ParseType(model::TypeName(input->type)) == input->type);

  strongroom::SecretJson rebuilt(json::object());
  (*rebuilt)["type"] = std::string(model::TypeName(input->type));
  (*rebuilt)["data"] = json::parse(input->data_json, nullptr, false);
  FUZZ_CHECK((*rebuilt)["data"].is_object());
  json metadata = json::parse(input->metadata_json, nullptr, false);
  FUZZ_CHECK(metadata.is_object() || metadata.is_null());
  (*rebuilt)["metadata"] = metadata;
  if (input->expires_at) {
    (*rebuilt)["expiresAt"] = strongroom::FormatRfc3339(*input->expires_at);
  }
  auto again = model::ParseCredentialInput(*rebuilt, kNow);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->type == input->type);
  FUZZ_CHECK(again->data_json == input->data_json);
  FUZZ_CHECK(again->metadata_json == input->metadata_json);
  FUZZ_CHECK(again->expires_at == input->expires_at);
  return 0;
}
