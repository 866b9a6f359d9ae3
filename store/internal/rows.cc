#include "store/internal/rows.h"

namespace strongroom::store::internal {

// The stored type name is the wire name, so the one table in model/ serves both.
std::string_view CredentialTypeToDb(model::CredentialType type) {
  const std::string_view name = model::TypeName(type);
  // An out-of-range enum value has no wire name: empty makes the write fail loudly.
  return model::ParseType(name).has_value() ? name : std::string_view{};
}

std::optional<model::CredentialType> CredentialTypeFromDb(std::string_view text) {
  return model::ParseType(text);
}

}  // namespace strongroom::store::internal
