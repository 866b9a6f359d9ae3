// The SPEC 5 response bodies, rendered from the vault's domain values: the one
// place their field order and shapes are written down. REST sends them; MCP
// tool results carry the same bodies as structuredContent and text.
//
// Two renderings of the hot bodies: JSON documents (DOM, for MCP and tests)
// and text built without a DOM (REST list and GET). The text of each is
// DumpBody() of its document byte for byte (tests/api/render_test.cc holds
// them to it).
//
// Secrets: CredentialJson/CredentialText hold decrypted data (TOTP seeds
// redacted, model/redaction.h); callers wipe them when done (SecureWipe,
// WipeJsonStrings).
//
// Thread safety: stateless.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/result.h"
#include "model/credential.h"
#include "vault/vault.h"

namespace strongroom::api {

// json::dump(-1, ' ', false, replace): the serialisation of every body.
std::string DumpBody(const nlohmann::ordered_json& body);

// {"credentialId","name","type","metadata","expiresAt","lastUsedAt",
//  "lastRotatedAt","createdAt","updatedAt","version"}
nlohmann::ordered_json SummaryJson(const model::StoredCredential& credential);
// Summary + "created".
nlohmann::ordered_json PutJson(const vault::PutOutcome& outcome);
// {"credentials":[summary...],"count":N,"nextCursor":string|null}
nlohmann::ordered_json ListJson(const vault::Page& page);
// Summary + "data" (seeds "[REDACTED]"). DATA_LOSS if the data is not a JSON object.
Result<nlohmann::ordered_json> CredentialJson(const vault::OpenedCredential& opened);
// {"code","remaining","backupCodesRemaining","digits","period"}
nlohmann::ordered_json TotpJson(const vault::TotpReading& reading);
// {"code","remaining","backupCodesRemaining"}
nlohmann::ordered_json BackupJson(const vault::PoppedBackupCode& popped);
// {"identityId","name","displayName","email":null,"type":"AGENT","purpose":null,
//  "scopes":[...],"keyId","keyExpiresAt","createdAt","wallet":null} (SPEC 4)
nlohmann::ordered_json WhoamiJson(const vault::CallerIdentity& caller);
// {"status":"ready"|"unavailable","store":"ok"|"unavailable","hsm":...}
nlohmann::ordered_json ReadinessJson(const vault::Readiness& readiness);

// The same over a use case's result: its body, or its Status.
Result<nlohmann::ordered_json> ToJson(const Result<vault::CallerIdentity>& result);
Result<nlohmann::ordered_json> ToJson(const Result<vault::PutOutcome>& result);
Result<nlohmann::ordered_json> ToJson(const Result<vault::Page>& result);
Result<nlohmann::ordered_json> ToJson(const Result<vault::OpenedCredential>& result);
Result<nlohmann::ordered_json> ToJson(const Result<vault::TotpReading>& result);
Result<nlohmann::ordered_json> ToJson(const Result<vault::PoppedBackupCode>& result);

// DumpBody(ListJson(page)), without a DOM.
std::string ListText(const vault::Page& page);
// DumpBody(*CredentialJson(opened)), without a DOM unless a field needs
// redacting; the text is in one allocation, never reallocated, so no freed
// buffer holds secret text. DATA_LOSS as CredentialJson.
Result<std::string> CredentialText(const vault::OpenedCredential& opened);

}  // namespace strongroom::api
