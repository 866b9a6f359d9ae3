#include "api/internal/put_body.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace strongroom::api::internal {

Status CheckPutBody(std::string_view content_type, std::string_view body,
                    std::size_t max_body_bytes) {
  // media-type = type "/" subtype *( OWS ";" OWS parameter ), case-insensitive (RFC 9110 8.3.1).
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
  constexpr std::string_view kJson = "application/json";
  bool is_json = media.size() == kJson.size() &&
                 std::equal(media.begin(), media.end(), kJson.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == b;
                 });
  if (!is_json) {
    return InvalidArgumentError("request body must be application/json", "unsupported_media_type");
  }
  if (body.size() > max_body_bytes) {
    return Status(StatusCode::kResourceExhausted,
                  "request body exceeds " + std::to_string(max_body_bytes) + " bytes",
                  "payload_too_large");
  }
  return Status::Ok();
}

}  // namespace strongroom::api::internal
