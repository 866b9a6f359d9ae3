// The hot bodies (REST list and GET) as JSON text without a DOM. Each Append*
// writes exactly what DumpBody() writes for its part of the document render.cc
// builds; tests/api/render_test.cc holds them to it.
#include <algorithm>
#include <string_view>

#include "api/render.h"
#include "model/redaction.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

void AppendString(std::string* out, std::string_view value) {
  // Printable ASCII other than '"' and '\\' is written unescaped by every JSON
  // serializer (RFC 8259 section 7), nlohmann's included; names, ids and
  // timestamps always are. Anything else goes through nlohmann's serializer,
  // so the escaping and UTF-8 replacement are exactly those of the DOM path.
  bool plain = std::all_of(value.begin(), value.end(),
                           [](char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
  if (plain) {
    out->push_back('"');
    out->append(value);
    out->push_back('"');
    return;
  }
  out->append(DumpBody(ordered_json(value)));
}

void AppendTimeOrNull(std::string* out, const std::optional<UnixMillis>& t) {
  if (t) {
    AppendString(out, FormatRfc3339(*t));
  } else {
    out->append("null");
  }
}

// The stored metadata text is what model::ParseCredentialInput wrote with
// json::dump() (an object or "null"), which re-parsing and dumping reproduces
// byte for byte, so it is appended as stored once it is known to be one valid
// JSON object (json::accept: syntax and UTF-8, no DOM); anything else renders
// as null, as SummaryJson does. Only a row edited behind the server's back with
// non-canonical spacing or escapes would render differently (still valid JSON).
void AppendMetadata(std::string* out, std::string_view stored) {
  if (!stored.empty() && stored.front() == '{' && json::accept(stored.begin(), stored.end())) {
    out->append(stored);
  } else {
    out->append("null");
  }
}

// SummaryJson(c) as text, SPEC 5 field order.
void AppendSummary(std::string* out, const model::StoredCredential& c) {
  out->append("{\"credentialId\":");
  AppendString(out, c.credential_id);
  out->append(",\"name\":");
  AppendString(out, c.name);
  out->append(",\"type\":");
  AppendString(out, model::TypeName(c.type));
  out->append(",\"metadata\":");
  AppendMetadata(out, c.metadata_json);
  out->append(",\"expiresAt\":");
  AppendTimeOrNull(out, c.expires_at);
  out->append(",\"lastUsedAt\":");
  AppendTimeOrNull(out, c.last_used_at);
  out->append(",\"lastRotatedAt\":");
  AppendTimeOrNull(out, c.last_rotated_at);
  out->append(",\"createdAt\":");
  AppendString(out, FormatRfc3339(c.created_at));
  out->append(",\"updatedAt\":");
  AppendString(out, FormatRfc3339(c.updated_at));
  out->append(",\"version\":");
  out->append(std::to_string(c.version));
  out->push_back('}');
}

}  // namespace

std::string ListText(const vault::Page& page) {
  std::string out;
  out.reserve(64 + page.credentials.size() * 384);
  out.append("{\"credentials\":[");
  for (std::size_t i = 0; i < page.credentials.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendSummary(&out, page.credentials[i]);
  }
  out.append("],\"count\":");
  out.append(std::to_string(page.credentials.size()));
  out.append(",\"nextCursor\":");
  if (page.next_cursor) {
    AppendString(&out, *page.next_cursor);
  } else {
    out.append("null");
  }
  out.push_back('}');
  return out;
}

Result<std::string> CredentialText(const vault::OpenedCredential& opened) {
  const model::StoredCredential& row = opened.credential;
  const SecretBytes& plain = opened.data;
  std::string out;
  AppendSummary(&out, row);
  out.pop_back();  // the summary's closing brace: "data" comes last
  // One allocation for the rest, so no buffer holding secret text is ever
  // reallocated (and freed unwiped): redaction grows the text by at most
  // three "[REDACTED]" values (33 bytes).
  out.reserve(out.size() + 9 + plain.size() + 64);
  out.append(",\"data\":");
  const std::string_view text(reinterpret_cast<const char*>(plain.data()), plain.size());
  if (!model::AppendRedactedData(&out, row.type, text)) {
    return DataLossError("stored credential is not a JSON object");
  }
  out.push_back('}');
  return out;
}

}  // namespace strongroom::api
