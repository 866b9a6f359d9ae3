#include "audit/internal/json_line.h"

#include <algorithm>
#include <limits>
#include <set>
#include <utility>

namespace strongroom::audit::internal {

using nlohmann::json;

Result<JsonLine> JsonLine::Parse(std::string_view line, std::span<const std::string_view> keys,
                                 std::string_view what) {
  const JsonLine error_only(json(), what);
  std::set<std::string> seen;
  bool repeated = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 &&
        !seen.insert(parsed.get<std::string>()).second) {
      repeated = true;
    }
    return true;
  };
  json value = json::parse(line.begin(), line.end(), cb, /*allow_exceptions=*/false);
  if (value.is_discarded()) return error_only.Invalid("not valid JSON");
  if (!value.is_object()) return error_only.Invalid("not a JSON object");
  if (repeated) return error_only.Invalid("repeated key");
  for (const auto& item : value.items()) {
    if (std::find(keys.begin(), keys.end(), item.key()) == keys.end()) {
      return error_only.Invalid("unknown key");
    }
  }
  for (std::string_view key : keys) {
    if (!value.contains(std::string(key))) {
      return error_only.Invalid("missing key " + std::string(key));
    }
  }
  return JsonLine(std::move(value), what);
}

Status JsonLine::Invalid(std::string reason) const {
  return InvalidArgumentError(what_ + ": " + std::move(reason), "invalid_audit_record");
}

Result<std::string> JsonLine::String(std::string_view key) const {
  const json& v = At(key);
  if (!v.is_string()) return Invalid(std::string(key) + " must be a string");
  return v.get<std::string>();
}

Result<std::optional<std::string>> JsonLine::OptionalString(std::string_view key) const {
  if (At(key).is_null()) return std::optional<std::string>();
  SR_ASSIGN_OR_RETURN(std::string v, String(key));
  return std::optional<std::string>(std::move(v));
}

Result<std::int64_t> JsonLine::Int(std::string_view key) const {
  const json& v = At(key);
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const bool fits =
      v.is_number_integer() && (!v.is_number_unsigned() || v.get<std::uint64_t>() <= kMax);
  if (!fits) return Invalid(std::string(key) + " must be an integer");
  return v.get<std::int64_t>();
}

Result<std::optional<std::int64_t>> JsonLine::OptionalInt(std::string_view key) const {
  if (At(key).is_null()) return std::optional<std::int64_t>();
  SR_ASSIGN_OR_RETURN(std::int64_t v, Int(key));
  return std::optional<std::int64_t>(v);
}

}  // namespace strongroom::audit::internal
