// VaultService: the use cases of the vault (SPEC 4, 5), shared by every face.
//
// REST (api/http_server.cc) and MCP (later) are thin faces over this class: they
// parse a request, call one method, and render what it returns. Every method
// returns either the exact JSON body of the success response (field order as in
// SPEC 5, hence ordered_json) or a Status whose code and error_code select the
// HTTP status and the "error" string (see api/http_errors.h for the one mapping).
//
// What is protected: credential data and API keys. Authorization happens here,
// not in the faces: each method checks the principal's scope itself, and every
// credential lookup is keyed by (principal.identity_id, name) (GetText and
// TotpWithKey: by the key's own identity id inside the one joined read), so a
// foreign name is indistinguishable from a missing one (404). GetText and
// TotpWithKey read the credential row in the same statement as the key, before
// the key's secret is checked; the row is used (and a corrupt one reported)
// only after 401/403, at the cost of a microsecond-scale timing difference
// between existing and missing names, which are not secret (SPEC 3).
//
// Statuses returned (error_code in brackets):
//   UNAUTHENTICATED [unauthorized]        missing/malformed/unknown/expired/revoked key
//   PERMISSION_DENIED [insufficient_scope]
//   INVALID_ARGUMENT [invalid_name, invalid_json, invalid_limit, invalid_cursor, not_totp,
//                     and the validation codes of model/validation.h]
//   NOT_FOUND [not_found]   EXPIRED [expired]   FAILED_PRECONDITION [no_backup_codes]
//   DATA_LOSS [integrity_error]  UNAVAILABLE [store_unavailable, hsm_unavailable]
//   INTERNAL [internal_error]
// Messages are log-safe: they never contain a secret value, an API key or a body.
//
// lastUsedAt: get, totp and backup record a use. Uses are kept in memory and
// written to the store in batches (every `touch_flush_interval`, default 1 s,
// and on Shutdown); everything this service returns overlays pending uses, so
// the batching is not observable through it. Other servers sharing the store
// see a use up to one interval late, and a crash (kill -9) loses at most the
// last interval's uses. A get reports the time of that very retrieval as its
// lastUsedAt (the response describes the credential as of after the read).
//
// Thread safety: all methods are safe to call concurrently. The store, key
// manager and clock are not owned and must outlive the service.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/result.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::api {

// Who is calling: the identity an API key belongs to and what the key may do.
struct Principal {
  std::int64_t identity_id = 0;
  std::string key_id;        // public key id, safe to log
  std::uint32_t scopes = 0;  // model::Scope bits
};

struct VaultServiceOptions {
  // How often pending lastUsedAt updates are written to the store.
  std::chrono::milliseconds touch_flush_interval{1000};
  // How often identities deleted by another process are noticed and their
  // cached keys wiped (checked by the flush thread, so at that granularity).
  std::chrono::milliseconds identity_sweep_interval{10000};
};

class VaultService final {
 public:
  VaultService(store::CredentialStore* store, kms::KeyManager* keys, const Clock* clock,
               VaultServiceOptions options = {});
  // Flushes pending uses (as Shutdown).
  ~VaultService();
  VaultService(const VaultService&) = delete;
  VaultService& operator=(const VaultService&) = delete;

  // Authenticates the value of an Authorization header ("Bearer <key>"; the
  // scheme is case-insensitive). Every failure is the same UNAUTHENTICATED
  // "invalid or missing API key", so a caller learns nothing about which check
  // failed; store outages are UNAVAILABLE.
  Result<Principal> Authenticate(std::string_view authorization_header);

  // GET /v0/vault. `limit` and `cursor` are the raw query values (nullopt when
  // absent). limit: decimal 1..1000, default 100 [invalid_limit]; cursor: the
  // opaque nextCursor of a previous page [invalid_cursor]. Body:
  //   {"credentials":[summary...],"count":<items in this page>,"nextCursor":string|null}
  // Does not record a use.
  Result<nlohmann::ordered_json> List(const Principal& principal,
                                      std::optional<std::string_view> limit,
                                      std::optional<std::string_view> cursor);

  // The same body as List(...)->dump(-1, ' ', false, error_handler_t::replace),
  // byte for byte, rendered as text without building a JSON DOM (REST list).
  Result<std::string> ListText(const Principal& principal, std::optional<std::string_view> limit,
                               std::optional<std::string_view> cursor);

  // GET /v0/vault/:name -> summary + "data" (TOTP seeds "[REDACTED]"). Records a use.
  Result<nlohmann::ordered_json> Get(const Principal& principal, std::string_view name);

  // Authenticate(authorization_header) then Get(principal, name), with the same
  // errors in the same order, in one store read (CredentialStore::
  // GetCredentialWithKey: the key and the credential come from one statement),
  // rendered as Get(...)->dump(-1, ' ', false, error_handler_t::replace) byte for
  // byte without a JSON DOM unless a field needs redacting. The REST GET path.
  Result<std::string> GetText(std::string_view authorization_header, std::string_view name);

  // PUT /v0/vault/:name with an already-parsed body {"type","data","metadata"?,"expiresAt"?}.
  // -> summary + "created". Transport checks (content type, body size, JSON
  // syntax) belong to the face; see ParsePutBody for the REST one.
  Result<nlohmann::ordered_json> Put(const Principal& principal, std::string_view name,
                                     const nlohmann::json& body);

  // DELETE /v0/vault/:name. OK means 204.
  Status Delete(const Principal& principal, std::string_view name);

  // GET /v0/vault/:name/totp ->
  //   {"code","remaining","backupCodesRemaining","digits","period"}. Records a use.
  Result<nlohmann::ordered_json> Totp(const Principal& principal, std::string_view name);

  // Authenticate(authorization_header) then Totp(principal, name), with the
  // same errors in the same order, in one store read (as GetText). REST path.
  Result<nlohmann::ordered_json> TotpWithKey(std::string_view authorization_header,
                                             std::string_view name);

  // POST /v0/vault/:name/totp/backup -> {"code","remaining","backupCodesRemaining"}.
  // Atomic across servers sharing a store (one Mutate transaction); the data is
  // resealed under a fresh DEK at version + 1. Records a use.
  Result<nlohmann::ordered_json> PopBackupCode(const Principal& principal, std::string_view name);

  // GET /readyz: true when the store answers and the HSM session is usable.
  // `body` gets {"status":"ready"|"unavailable","store":"ok"|"unavailable","hsm":...}.
  bool Ready(nlohmann::ordered_json* body);

  // HSM (PKCS#11) operations since start (kms::KeyManager::hsm_operations()):
  // KEK unwraps of cold identities and the CheckHsm probe of every Ready call.
  // A warm request makes none. Reading it costs no HSM call. For GET /metrics.
  std::uint64_t HsmOperations() const;

  // Writes pending uses to the store now (tests; Shutdown).
  void FlushTouches();
  // Forgets identities that no longer exist in the store (deleted by the admin
  // CLI or another server) and wipes their cached KEKs and DEKs
  // (kms::KeyManager::Evict). Runs every `identity_sweep_interval`; public for tests.
  void ForgetDeletedIdentities();
  // Stops the background flusher and flushes. Idempotent.
  void Shutdown();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// REST transport checks for a PUT body, in this order: content type must be
// application/json, parameters allowed [415 unsupported_media_type]; at most
// `max_body_bytes` [413 payload_too_large]; syntactically valid JSON [400
// invalid_json]. On success `*out` holds the parsed body.
Status ParsePutBody(std::string_view content_type, std::string_view body,
                    std::size_t max_body_bytes, nlohmann::json* out);

}  // namespace strongroom::api
