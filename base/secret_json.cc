#include "base/secret_json.h"

namespace strongroom {
namespace {

template <class Json>
void WipeStrings(Json& value) noexcept {
  if (value.is_string()) {
    auto& s = value.template get_ref<std::string&>();
    SecureWipe(s.data(), s.size());
  } else if (value.is_structured()) {
    for (Json& child : value) WipeStrings(child);
  }
}

template <class Json>
SecretStdString Dump(const Json& value) {
  SecretStdString out;
  nlohmann::detail::serializer<Json> s(nlohmann::detail::output_adapter<char, SecretStdString>(out),
                                       ' ', Json::error_handler_t::strict);
  s.dump(value, /*pretty_print=*/false, /*ensure_ascii=*/false, /*indent_step=*/0);
  return out;
}

}  // namespace

void WipeJsonStrings(nlohmann::json& value) noexcept { WipeStrings(value); }
void WipeJsonStrings(nlohmann::ordered_json& value) noexcept { WipeStrings(value); }

SecretStdString DumpToSecret(const nlohmann::json& value) { return Dump(value); }
SecretStdString DumpToSecret(const nlohmann::ordered_json& value) { return Dump(value); }

}  // namespace strongroom
