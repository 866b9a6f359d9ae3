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

namespace strongroom::kms {
class HsmObserver;
class KeyManager;
}  // namespace strongroom::kms

namespace strongroom::vault {

namespace internal {
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
class Caller final {
 public:
  // Implicit on purpose: a Principal is the common caller.
  Caller(const Principal& principal) : principal_(&principal) {}  // NOLINT
  static Caller WithAuthorization(std::string_view authorization_header) {
    return Caller(authorization_header);
  }
  const Principal* principal() const { return principal_; }
  std::string_view authorization_header() const { return header_; }

 private:
  explicit Caller(std::string_view header) : header_(header) {}
  const Principal* principal_ = nullptr;
  std::string_view header_;
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
  // "invalid or missing API key"; store outages are UNAVAILABLE.
  Result<Principal> Authenticate(std::string_view authorization_header);

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
  // from one store read (CredentialStore::GetCredentialWithKey); errors come in
  // the same order either way: 401, 403, then a corrupt row, 404, 410. A name
  // that exists and one that does not cost the same until the key is checked,
  // give or take a microsecond (names are not secret).
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
  Result<model::StoredCredential> LoadLive(const Caller& caller, std::string_view name,
                                           UnixMillis* now);
  Result<model::StoredCredential> LoadLiveForKey(std::string_view header, std::string_view name,
                                                 UnixMillis* now);
  // The row's data, re-reading the identity once if its cached KEKs are stale
  // (KekRotatedError if even the fresh read lacks the row's KEK version).
  Result<SecretBytes> Open(const model::StoredCredential& row);
  // LoadLive + Open, reading the row again once if it was rewrapped meanwhile.
  Result<OpenedCredential> LoadAndOpen(const Caller& caller, std::string_view name,
                                       UnixMillis* now);
  // store_.Mutate(identity_id, name, fn) with `*identity` (which `fn` seals
  // with) the cached identity, and once more with a fresh read if the store
  // or key manager found its KEKs stale ("kek_rotated": a KEK rotation ran).
  Result<store::MutateOutcome> MutateSealed(std::int64_t identity_id, std::string_view name,
                                            const store::MutateFn& fn,
                                            std::shared_ptr<const model::Identity>* identity);

  store::CredentialStore& store_;
  kms::KeyManager& keys_;
  const Clock& clock_;
  std::unique_ptr<internal::TouchBatcher> touches_;
  std::unique_ptr<internal::IdentityCache> identities_;
  std::unique_ptr<internal::Maintenance> maintenance_;
  std::unique_ptr<kms::HsmObserver> hsm_observer_;
  std::mutex active_label_mu_;
  std::string active_label_;  // guarded by active_label_mu_; for the log line
};

}  // namespace strongroom::vault
