// Unpadded base64url (RFC 4648 section 5) decoding, for API keys and list cursors.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace strongroom::vault::internal {

// The 6-bit value of a base64url character, -1 for any other character.
int Base64UrlValue(char c);

// Decodes unpadded base64url; nullopt on any non-canonical input.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace strongroom::vault::internal
