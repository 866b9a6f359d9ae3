#include "model/credential.h"

#include <array>
#include <cstddef>

#include "model/internal/type_table.h"

namespace strongroom::model {
namespace {

struct ScopeName {
  Scope scope;
  std::string_view name;
};
constexpr ScopeName kScopes[] = {
    {kScopeRead, "vault:read"},
    {kScopeWrite, "vault:write"},
};

constexpr std::array<CredentialType, internal::kTypeCount> kAllTypes = [] {
  std::array<CredentialType, internal::kTypeCount> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<CredentialType>(i);
  return out;
}();

}  // namespace

std::span<const CredentialType> AllCredentialTypes() { return kAllTypes; }

std::string_view TypeName(CredentialType type) {
  // A value cast from outside the enum (a corrupt row) must not index past the table.
  if (static_cast<std::size_t>(type) >= internal::AllTypes().size()) return "UNKNOWN";
  return internal::InfoFor(type).wire_name;
}

std::optional<CredentialType> ParseType(std::string_view name) {
  for (const internal::TypeInfo& info : internal::AllTypes()) {
    if (info.wire_name == name) return info.type;
  }
  return std::nullopt;
}

std::optional<Scope> ParseScope(std::string_view name) {
  for (const ScopeName& s : kScopes) {
    if (s.name == name) return s.scope;
  }
  return std::nullopt;
}

std::string_view MasterKeyStateName(MasterKeyState state) {
  switch (state) {
    case MasterKeyState::kActive:
      return "active";
    case MasterKeyState::kPrevious:
      return "previous";
    case MasterKeyState::kRetired:
      return "retired";
  }
  return "retired";
}

std::string ScopeNames(std::uint32_t scopes) {
  std::string out;
  for (const ScopeName& s : kScopes) {
    if ((scopes & s.scope) == 0) continue;
    if (!out.empty()) out += ' ';
    out += s.name;
  }
  return out;
}

}  // namespace strongroom::model
