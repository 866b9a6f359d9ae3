// Small helpers shared by the model's .cc files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/secret.h"

namespace strongroom::model::internal {

// The value of a JSON number that is a whole number in int64 range (30, 30.0);
// nullopt for anything else (strings, 30.5, 1e300, booleans).
std::optional<std::int64_t> IntegerValue(const nlohmann::json& value);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Compact serialisation straight into wiping memory, so the encoded secrets do
// not pass through an ordinary std::string (whose growth would leave copies in
// freed heap). Uses nlohmann's serializer with our string type, as json::dump does.
SecretStdString DumpToSecret(const nlohmann::json& value);

// Overwrites every string in `value` before it is destroyed: `data` copies hold
// plaintext secrets in ordinary std::strings.
void WipeStrings(nlohmann::json& value);

// Runs WipeStrings on `value` when the scope ends.
class WipeOnExit final {
 public:
  explicit WipeOnExit(nlohmann::json& value) : value_(value) {}
  WipeOnExit(const WipeOnExit&) = delete;
  WipeOnExit& operator=(const WipeOnExit&) = delete;
  ~WipeOnExit();

 private:
  nlohmann::json& value_;
};

}  // namespace strongroom::model::internal
