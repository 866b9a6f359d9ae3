// Small helpers shared by the model's .cc files.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace strongroom::model::internal {

// The value of a JSON number that is a whole number in int64 range (30, 30.0);
// nullopt for anything else (strings, 30.5, 1e300, booleans).
std::optional<std::int64_t> IntegerValue(const nlohmann::json& value);

// ASCII case-insensitive equality.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace strongroom::model::internal
