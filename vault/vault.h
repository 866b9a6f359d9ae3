// Vault: the use cases of the vault (SPEC 4, 5), shared by every face.
//
// The faces (api/: REST and MCP) parse a request, call one method here and
// render what it returns. Methods return domain values (a credential row and
// its opened data, a page of summaries, a TOTP code, a popped backup code) or
// a Status with a canonical code and a reason; they render nothing: no JSON
// text, no HTTP status (the faces in api/ map Statuses to their protocols).
//
// What is protected: credential data and API keys. Authentication and
// authorization happen here, not in the faces: every use case checks the
// caller's scope itself (Authorize below is the one place scopes are
// interpreted), and every credential lookup is keyed by (identity id, name),
// so a foreign name is indistinguishable from a missing one (NOT_FOUND).
//
// Errors, canonical code [reason]:
//   UNAUTHENTICATED [unauthorized]  missing/malformed/unknown/expired/revoked key
//   PERMISSION_DENIED [insufficient_scope]
//   INVALID_ARGUMENT [invalid_name, invalid_json, invalid_limit, invalid_cursor, not_totp,
//                     and the validation reasons of model/validation.h]
//   NOT_FOUND [not_found]  FAILED_PRECONDITION [expired, no_backup_codes]
//   DATA_LOSS [integrity_error]  UNAVAILABLE [store_unavailable, hsm_unavailable]
//   INTERNAL [internal_error]
// Messages are log-safe: they never contain a secret value, an API key or a body.
//
// lastUsedAt: Get, Totp and PopBackupCode record a use of the credential read
// (by identity and credentialId). Uses are written to the store in batches
// (every `touch_flush_interval`, and on Shutdown); every row returned here
// overlays pending uses, so the batching is not observable through this class.
// A Get reports the time of that very retrieval as its lastUsedAt.
//
// Thread safety: all methods are safe to call concurrently. The store, key
// manager and clock are not owned and must outlive the vault.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "base/secret.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "vault/api_key.h"
#include "vault/audit.h"

namespace strongroom::kms {
class HsmObserver;
class KeyManager;
}  // namespace strongroom::kms

namespace strongroom::vault {

namespace internal {
struct AuditFacts;
class AuditSink;
class IdentityCache;
class Maintenance;
class TouchBatcher;
}  // namespace internal

// The use cases, for authorization.
enum class Operation { kList, kGet, kTotp, kPut, kDelete, kPopBackupCode };

// The one scope check (SPEC 4): vault:read for list, get and totp, vault:write
// for put, delete and backup pops. PERMISSION_DENIED [insufficient_scope]
// otherwise. Every use case calls it; a face may call it to refuse early
// (before reading a body), so the order of errors stays 401, 403, then the rest.
Status Authorize(const Principal& principal, Operation operation);
// Whether Authorize would pass (e.g. which MCP tools to list).
bool Allows(const Principal& principal, Operation operation);

// Who asks for a read: a principal already authenticated, or the value of an
// Authorization header not yet checked. With a header, Get and Totp check the
// key in the same store read as the credential (the fast path of REST GET).
// The request context (for the audit event) is the principal's, or the one
// given with the header; it must outlive the Caller.
class Caller final {
 public:
  // Implicit on purpose: a Principal is the common caller.
  Caller(const Principal& principal)  // NOLINT
      : principal_(&principal), context_(&principal.context) {}
  static Caller WithAuthorization(std::string_view authorization_header,
                                  const RequestContext& context = NoContext()) {
    return Caller(authorization_header, context);
  }
  const Principal* principal() const { return principal_; }
  std::string_view authorization_header() const { return header_; }
  const RequestContext& context() const { return *context_; }

 private:
  static const RequestContext& NoContext() {
    static const RequestContext kNone;
    return kNone;
  }
  Caller(std::string_view header, const RequestContext& context)
      : header_(header), context_(&context) {}
  const Principal* principal_ = nullptr;
  std::string_view header_;
  const RequestContext* context_;
};

// A credential read for its owner: the stored row (summary fields; the
// envelope is left as stored) and its decrypted data, the JSON object text as
// sealed, unredacted (redaction is the renderer's: model/redaction.h).
struct OpenedCredential {
  model::StoredCredential credential;
  SecretBytes data;
};

// What Put wrote, and whether it created the credential (or replaced one).
struct PutOutcome {
  model::StoredCredential credential;  // the envelope is not meaningful here
  bool created = false;
};

// One page of a listing, in name order; rows carry no envelope.
struct Page {
  std::vector<model::StoredCredential> credentials;
  std::optional<std::string> next_cursor;  // opaque; nullopt on the last page
};

struct TotpReading {
  std::string code;   // zero-padded to `digits`
  int remaining = 0;  // seconds left in the current time step
  std::size_t backup_codes_remaining = 0;
  int digits = 6;
  int period = 30;
};

struct PoppedBackupCode {
  std::string code;
  std::size_t remaining = 0;  // unused codes left after this one
};

// Who the caller is (GET /v0/whoami): the identity of the presenting key and
// that key's record. Neither holds anything secret: the identity's wrapped KEK
// and the key's hash are cleared.
struct CallerIdentity {
  model::Identity identity;
  model::ApiKeyRecord key;
};

struct Readiness {
  bool store_ok = false;
  bool hsm_ok = false;
  bool ready() const { return store_ok && hsm_ok; }
};

struct VaultOptions {
  // How often pending lastUsedAt updates are written to the store.
  std::chrono::milliseconds touch_flush_interval{1000};
  // How often identities deleted by another process are noticed and their
  // cached keys wiped, and KEKs rotated by another process re-read (checked
  // by the flush thread, so at that granularity).
  std::chrono::milliseconds identity_sweep_interval{10000};
  // The audit log (SPEC 12); off unless the server configures it.
  AuditOptions audit;
  // How often the database's key state is read, so that a master key made
  // active by `master-key rotate` wraps this process's new KEKs (SPEC 11:
  // within 10 s).
  std::chrono::milliseconds key_state_poll_interval{2000};
};

class Vault final {
 public:
  Vault(store::CredentialStore* store, kms::KeyManager* keys, const Clock* clock,
        VaultOptions options = {});
  // Flushes pending uses (as Shutdown).
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  // Authenticates the value of an Authorization header ("Bearer <key>"; the
  // scheme is case-insensitive). Every failure is the same UNAUTHENTICATED
  // "invalid or missing API key" (and an auth.failed event); store outages
  // are UNAVAILABLE. The principal carries `context` for later events.
  Result<Principal> Authenticate(std::string_view authorization_header,
                                 const RequestContext& context = {});

  // Audit log (SPEC 12): every use case below records one event for the
  // request (auth.failed for a 401), with the status it answers. In sync mode
  // a use case whose event cannot be written fails with UNAVAILABLE
  // "audit_unavailable" instead, and changes nothing.
  //
  // Records the event of `operation` on `name` (may be empty) refused by the
  // face before the use case ran (scope checked early, body refused) and
  // returns `why`, or the audit error.
  Status Refuse(const Principal& principal, Operation operation, std::string_view name, Status why);

  // The identity and key record of the caller's key. Any valid key, whatever
  // its scopes; store outages are UNAVAILABLE.
  Result<CallerIdentity> Whoami(const Caller& caller);

  // Summaries in name order. `limit` and `cursor` are the raw query values
  // (nullopt when absent). limit: decimal 1..1000 [invalid_limit], one page of
  // at most `limit` with a next_cursor when more follow; without a limit every
  // credential (after the cursor, if one is given) and no next_cursor. The
  // store is read in chunks of 1000 either way. cursor: the next_cursor of a
  // previous page [invalid_cursor]. Records no use.
  Result<Page> List(const Principal& principal, std::optional<std::string_view> limit,
                    std::optional<std::string_view> cursor);

  // The credential `name` with its data opened. Records a use; lastUsedAt is
  // this read's time. With an unchecked header the key and the credential come
  // from one store read (CredentialStore::GetCredentialWithKey), which checks
  // the key before it looks the name up: a wrong key takes the same path and
  // gets the same answer whether the name exists or not (SPEC 4). Errors come
  // in the same order either way: 401, 403, then a corrupt row (including
  // clear fields edited in the database: integrity_error), 404, 410.
  Result<OpenedCredential> Get(const Caller& caller, std::string_view name);

  // Creates or replaces `name` from a PUT body (JSON text {"type","data",
  // "metadata"?,"expiresAt"?}), checked in this order: scope, JSON syntax
  // [invalid_json], name [invalid_name], the body (model/validation.h). Data is
  // sealed under a fresh DEK. Transport checks (media type, size) are the face's.
  Result<PutOutcome> Put(const Principal& principal, std::string_view name,
                         std::string_view body_json);

  // Deletes `name`. NOT_FOUND if absent.
  Status Delete(const Principal& principal, std::string_view name);

  // The current TOTP code of `name` (not_totp without a seed). Records a use.
  // Callers as for Get, with the same error order.
  Result<TotpReading> Totp(const Caller& caller, std::string_view name);

  // Moves the first unused backup code to usedBackupCodes and returns it.
  // Atomic across servers sharing a store (one Mutate transaction); the data
  // is resealed under a fresh DEK at version + 1. Records a use.
  Result<PoppedBackupCode> PopBackupCode(const Principal& principal, std::string_view name);

  // Reseals every credential still sealed with an older AAD layout
  // (model::kCurrentAadVersion; envelope.h) under its identity's current KEK
  // and a fresh DEK, one row per store transaction, keeping its version and
  // times. Runs once on the maintenance thread at start-up (again on the next
  // tick if the store or HSM was unavailable); public for tests and tools.
  // Rows that fail to open are logged by credential id and left as they are
  // (reads report them as integrity_error); rows of identities deleted
  // meanwhile are skipped. Returns how many rows were resealed.
  struct ResealCounts {
    std::int64_t resealed = 0;
    std::int64_t failed = 0;
  };
  Result<ResealCounts> ResealLegacyRows();

  // Whether the store answers and the HSM session is usable (one HSM call).
  Readiness CheckReadiness();

  // HSM (PKCS#11) operations since start (kms::KeyManager::hsm_operations()).
  // A warm request makes none. Reading it costs no HSM call.
  std::uint64_t HsmOperations() const;

  // Key-cache counters of the key manager (kms::KeyManager::cache_counts), for
  // metrics: the faces see the key manager only through the vault.
  struct KeyCacheCounts {
    std::uint64_t kek_hits = 0;
    std::uint64_t kek_misses = 0;
    std::uint64_t dek_hits = 0;
    std::uint64_t dek_misses = 0;
  };
  KeyCacheCounts KeyCacheStatistics() const;
  // Calls `observe(seconds)` after every HSM call the key manager makes
  // (kms::KeyManager::set_hsm_observer); an empty function stops it. Must be
  // set before requests run and cleared before `observe`'s target dies.
  void ObserveHsmCalls(std::function<void(double seconds)> observe);

  // Writes pending uses to the store now (tests; Shutdown).
  void FlushTouches();
  // Forgets identities that no longer exist in the store and wipes their
  // cached keys; re-reads identities whose KEKs another process rotated.
  // Runs every `identity_sweep_interval`; public for tests.
  void ForgetDeletedIdentities();
  // Reads the database's key state (seeding it on a fresh database) and
  // makes the key manager wrap new KEKs under its active master key
  // (vault/key_rotation.h SyncMasterKeys). Runs at construction and every
  // `key_state_poll_interval`; public for tests. Failures are logged and
  // returned; the next poll tries again.
  Status SyncKeyState();
  // Stops the background flusher and flushes. Idempotent.
  void Shutdown();

 private:
  Result<model::StoredCredential> Load(const Caller& caller, std::string_view name, UnixMillis* now,
                                       internal::AuditFacts* facts);
  Result<model::StoredCredential> LoadForKey(std::string_view header, std::string_view name,
                                             UnixMillis* now, internal::AuditFacts* facts);
  struct ResealCursor {
    std::int64_t identity_id = 0;
    std::string name;
  };
  Result<bool> ResealRow(std::int64_t identity_id, const std::string& name);
  Result<bool> ResealBatch(ResealCursor* cursor, ResealCounts* counts);
  void ResealOnStartup();
  // The row's data, re-reading the identity once if its cached KEKs are stale
  // (KekRotatedError if even the fresh read lacks the row's KEK version).
  Result<SecretBytes> Open(const model::StoredCredential& row);
  // Load + Open, reading the row again once if it was rewrapped meanwhile.
  Result<OpenedCredential> LoadAndOpen(const Caller& caller, std::string_view name, UnixMillis* now,
                                       internal::AuditFacts* facts);
  // store_.Mutate(identity_id, name, fn) with `*identity` (which `fn` seals
  // with) the cached identity, and once more with a fresh read if the store
  // or key manager found its KEKs stale ("kek_rotated": a KEK rotation ran).
  // With `record`, the write's audit event commits in the same transaction.
  Result<store::MutateOutcome> MutateSealed(std::int64_t identity_id, std::string_view name,
                                            const store::MutateFn& fn,
                                            std::shared_ptr<const model::Identity>* identity,
                                            store::AuditRecord* record = nullptr);

  // The use cases before their audit events (see Refuse); `facts` learns what
  // the event needs as they go, `record` (sync mode, writes) is the event
  // committed in the write's transaction.
  Result<Principal> AuthenticateUnaudited(std::string_view authorization_header);
  Result<CallerIdentity> WhoamiUnaudited(const Caller& caller, internal::AuditFacts* facts);
  Result<Page> ListUnaudited(const Principal& principal, std::optional<std::string_view> limit,
                             std::optional<std::string_view> cursor);
  Result<OpenedCredential> GetUnaudited(const Caller& caller, std::string_view name,
                                        UnixMillis* now, internal::AuditFacts* facts);
  Result<TotpReading> TotpUnaudited(const Caller& caller, std::string_view name, UnixMillis* now,
                                    internal::AuditFacts* facts);
  Result<PutOutcome> PutUnaudited(const Principal& principal, std::string_view name,
                                  std::string_view body_json, internal::AuditFacts* facts,
                                  store::AuditRecord* record);
  Status DeleteUnaudited(const Principal& principal, std::string_view name,
                         store::AuditRecord* record);
  Result<PoppedBackupCode> PopUnaudited(const Principal& principal, std::string_view name,
                                        internal::AuditFacts* facts, store::AuditRecord* record);

  // Audit helpers (vault_audit.cc).
  internal::AuditFacts FactsOf(const Caller& caller, std::string_view action,
                               std::string_view name) const;
  store::AuditRecord MakeAuditRecord(const internal::AuditFacts& facts, const Status& outcome,
                                     int ok_status);
  // Records the event of a finished use case; OK, or the audit error.
  Status Emit(const internal::AuditFacts& facts, const Status& outcome, int ok_status);
  // The event to commit with a write (sync mode only).
  std::optional<store::AuditRecord> TransactionRecord(const internal::AuditFacts& facts,
                                                      int ok_status);
  // After a write: its event if it was not committed with it; the result, or
  // the audit error.
  Status FinishWrite(const internal::AuditFacts& facts, const Status& outcome, bool committed,
                     int ok_status);

  store::CredentialStore& store_;
  kms::KeyManager& keys_;
  const Clock& clock_;
  std::unique_ptr<internal::TouchBatcher> touches_;
  std::unique_ptr<internal::IdentityCache> identities_;
  std::unique_ptr<internal::Maintenance> maintenance_;
  std::unique_ptr<internal::AuditSink> audit_;
  std::unique_ptr<internal::Maintenance> audit_flusher_;  // async mode only
  std::unique_ptr<kms::HsmObserver> hsm_observer_;
  struct {
    ResealCursor cursor;
    ResealCounts counts;
    bool done = false;
  } startup_reseal_;  // used by the maintenance thread only
  std::mutex active_label_mu_;
  std::string active_label_;  // guarded by active_label_mu_; for the log line
};

}  // namespace strongroom::vault
