// REST transport checks of a PUT body (SPEC 5), before the vault sees it.
#pragma once

#include <cstddef>
#include <string_view>

#include "base/status.h"

namespace strongroom::api::internal {

// In this order: the content type must be application/json, parameters
// allowed (INVALID_ARGUMENT [unsupported_media_type], 415); the body at most
// `max_body_bytes` (RESOURCE_EXHAUSTED [payload_too_large], 413). JSON syntax
// is the vault's to check (vault::Vault::Put, [invalid_json]).
Status CheckPutBody(std::string_view content_type, std::string_view body,
                    std::size_t max_body_bytes);

}  // namespace strongroom::api::internal
