#include "api/vault_service.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/internal/api_key.h"
#include "base/random.h"
#include "base/secret.h"
#include "kms/key_manager.h"
#include "model/credential.h"
#include "model/redaction.h"
#include "model/totp.h"
#include "model/validation.h"
#include "store/credential_store.h"

namespace strongroom::api {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

constexpr int kDefaultListLimit = 100;
constexpr int kMaxListLimit = 1000;
constexpr char kBadKeyMessage[] = "invalid or missing API key";

Status Unauthenticated() { return UnauthenticatedError(kBadKeyMessage); }

Status RequireScope(const Principal& principal, std::uint32_t scope) {
  if ((principal.scopes & scope) == 0) {
    return PermissionDeniedError(std::string("API key lacks the ") + model::ScopeNames(scope) +
                                 " scope");
  }
  return Status::Ok();
}

ordered_json TimeOrNull(const std::optional<UnixMillis>& t) {
  if (!t) return nullptr;
  return FormatRfc3339(*t);
}

// Summary fields in SPEC 5 order.
ordered_json Summary(const model::StoredCredential& c) {
  ordered_json out;
  out["credentialId"] = c.credential_id;
  out["name"] = c.name;
  out["type"] = std::string(model::TypeName(c.type));
  ordered_json metadata = ordered_json::parse(c.metadata_json, nullptr, /*allow_exceptions=*/false);
  out["metadata"] = metadata.is_object() ? std::move(metadata) : ordered_json(nullptr);
  out["expiresAt"] = TimeOrNull(c.expires_at);
  out["lastUsedAt"] = TimeOrNull(c.last_used_at);
  out["lastRotatedAt"] = TimeOrNull(c.last_rotated_at);
  out["createdAt"] = FormatRfc3339(c.created_at);
  out["updatedAt"] = FormatRfc3339(c.updated_at);
  out["version"] = c.version;
  return out;
}

// --- The same summaries as JSON text, without a DOM (GET /v0/vault) ---
// Each Append* writes exactly what Summary(c).dump(-1, ' ', false, replace)
// writes for its part; VaultServiceTest.ListTextIsListDumped holds them to it.

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
  out->append(ordered_json(value).dump(-1, ' ', false, json::error_handler_t::replace));
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
// as null, as Summary does. Only a row edited behind the server's back with
// non-canonical spacing or escapes would render differently (still valid JSON).
void AppendMetadata(std::string* out, std::string_view stored) {
  if (!stored.empty() && stored.front() == '{' && json::accept(stored.begin(), stored.end())) {
    out->append(stored);
  } else {
    out->append("null");
  }
}

// Summary(c) as text, SPEC 5 field order.
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

std::string AadFor(const model::StoredCredential& c) {
  return kms::CredentialAad(c.identity_id, c.name, model::TypeName(c.type), c.version);
}

// The key manager reports an unreachable HSM as UNAVAILABLE with a generic
// error code; name the HSM so clients and operators see which dependency failed.
Status TagHsm(const Status& status) {
  if (status.code() == StatusCode::kUnavailable) {
    return UnavailableError(status.message(), "hsm_unavailable");
  }
  return status;
}

// A decrypt failure is an integrity error whatever the key manager called it,
// except when the HSM itself is unreachable (then the data may be fine).
Status MapOpenError(const Status& status) {
  if (status.code() == StatusCode::kUnavailable) return TagHsm(status);
  if (status.code() == StatusCode::kDataLoss) return status;
  return DataLossError("stored credential failed its integrity check");
}

}  // namespace

class VaultService::Impl {
 public:
  Impl(store::CredentialStore* store, kms::KeyManager* keys, const Clock* clock,
       VaultServiceOptions options)
      : store_(*store), keys_(*keys), clock_(*clock), options_(options) {
    flusher_ = std::thread([this] { FlushLoop(); });
  }

  ~Impl() { Shutdown(); }

  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
    FlushTouches();
  }

  // --- authentication ---

  // The token of a "Bearer <key>" header (scheme case-insensitive) and its key id.
  struct Bearer {
    std::string_view token;
    std::string key_id;
  };
  static std::optional<Bearer> ParseBearer(std::string_view header) {
    constexpr std::string_view kScheme = "bearer ";
    if (header.size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
    }
    std::string_view token = header.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    std::optional<std::string> key_id = internal::ParseApiKeyId(token);
    if (!key_id) return std::nullopt;
    return Bearer{token, std::move(*key_id)};
  }

  // The principal of `record` if `token` is its key (constant-time hash
  // comparison) and it is neither revoked nor expired at `now`.
  static Result<Principal> CheckKey(const model::ApiKeyRecord& record, std::string_view token,
                                    UnixMillis now) {
    std::vector<std::uint8_t> hash = internal::HashApiKey(token);
    const auto& stored = record.key_hash;
    bool match = hash.size() == stored.size() && !hash.empty() &&
                 ConstantTimeEquals(
                     std::string_view(reinterpret_cast<const char*>(hash.data()), hash.size()),
                     std::string_view(reinterpret_cast<const char*>(stored.data()), stored.size()));
    if (!match) return Unauthenticated();
    if (record.revoked_at && *record.revoked_at <= now) return Unauthenticated();
    if (record.expires_at && *record.expires_at <= now) return Unauthenticated();
    return Principal{record.identity_id, record.key_id, record.scopes};
  }

  Result<Principal> Authenticate(std::string_view header) {
    std::optional<Bearer> bearer = ParseBearer(header);
    if (!bearer) return Unauthenticated();
    Result<model::ApiKeyRecord> record = store_.GetApiKey(bearer->key_id);
    if (!record.ok()) {
      if (record.status().code() == StatusCode::kNotFound) return Unauthenticated();
      return record.status();
    }
    return CheckKey(*record, bearer->token, clock_.NowMillis());
  }

  // --- use cases ---

  // One page of summaries (rows overlaid with pending uses) and whether more follow.
  struct Page {
    std::vector<model::StoredCredential> rows;
    bool more = false;
  };

  Result<Page> ListPage(const Principal& principal, std::optional<std::string_view> limit_text,
                        std::optional<std::string_view> cursor) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeRead));
    int limit = kDefaultListLimit;
    if (limit_text) {
      const char* first = limit_text->data();
      const char* last = first + limit_text->size();
      auto [ptr, ec] = std::from_chars(first, last, limit);
      bool digits_only = !limit_text->empty() && (*limit_text)[0] != '-' && (*limit_text)[0] != '+';
      if (!digits_only || ec != std::errc() || ptr != last || limit < 1 || limit > kMaxListLimit) {
        return InvalidArgumentError("limit must be an integer from 1 to 1000", "invalid_limit");
      }
    }
    std::string after;
    if (cursor) {
      std::optional<std::string> decoded = internal::Base64UrlDecode(*cursor);
      if (!decoded || decoded->empty() || !model::ValidateName(*decoded).ok()) {
        return InvalidArgumentError("cursor is not a nextCursor from a previous page",
                                    "invalid_cursor");
      }
      after = std::move(*decoded);
    }
    Page page;
    SR_ASSIGN_OR_RETURN(page.rows, store_.ListCredentials(principal.identity_id, after, limit + 1));
    page.more = page.rows.size() > static_cast<std::size_t>(limit);
    if (page.more) page.rows.resize(static_cast<std::size_t>(limit));
    for (auto& row : page.rows) OverlayTouch(&row);
    return page;
  }

  Result<ordered_json> List(const Principal& principal, std::optional<std::string_view> limit_text,
                            std::optional<std::string_view> cursor) {
    SR_ASSIGN_OR_RETURN(Page page, ListPage(principal, limit_text, cursor));
    ordered_json items = ordered_json::array();
    for (const auto& row : page.rows) items.push_back(Summary(row));
    ordered_json out;
    out["credentials"] = std::move(items);
    out["count"] = page.rows.size();
    out["nextCursor"] = page.more && !page.rows.empty()
                            ? ordered_json(Base64UrlEncode(page.rows.back().name))
                            : ordered_json(nullptr);
    return out;
  }

  Result<std::string> ListText(const Principal& principal,
                               std::optional<std::string_view> limit_text,
                               std::optional<std::string_view> cursor) {
    SR_ASSIGN_OR_RETURN(Page page, ListPage(principal, limit_text, cursor));
    std::string out;
    out.reserve(64 + page.rows.size() * 384);
    out.append("{\"credentials\":[");
    for (std::size_t i = 0; i < page.rows.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendSummary(&out, page.rows[i]);
    }
    out.append("],\"count\":");
    out.append(std::to_string(page.rows.size()));
    out.append(",\"nextCursor\":");
    if (page.more && !page.rows.empty()) {
      AppendString(&out, Base64UrlEncode(page.rows.back().name));
    } else {
      out.append("null");
    }
    out.push_back('}');
    return out;
  }

  Result<ordered_json> Get(const Principal& principal, std::string_view name) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeRead));
    UnixMillis now = clock_.NowMillis();
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, LoadLive(principal, name, now));
    SR_ASSIGN_OR_RETURN(json data, Decrypt(row));
    Touch(row.identity_id, row.credential_id, now);
    row.last_used_at = std::max(row.last_used_at.value_or(now), now);
    ordered_json out = Summary(row);
    out["data"] = model::RedactData(row.type, data);
    return out;
  }

  // Authenticate(header) + RequireScope(read) + LoadLive(name) in one store
  // read (CredentialStore::GetCredentialWithKey), with the same errors in the
  // same order. `*now` gets the request's time.
  Result<model::StoredCredential> LoadLiveForKey(std::string_view header, std::string_view name,
                                                 UnixMillis* now) {
    std::optional<Bearer> bearer = ParseBearer(header);
    if (!bearer) return Unauthenticated();
    Result<store::CredentialStore::KeyedCredential> read =
        store_.GetCredentialWithKey(bearer->key_id, name);
    if (!read.ok()) {
      if (read.status().code() == StatusCode::kNotFound) return Unauthenticated();
      return read.status();
    }
    *now = clock_.NowMillis();
    SR_ASSIGN_OR_RETURN(Principal principal, CheckKey(read->key, bearer->token, *now));
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeRead));
    SR_RETURN_IF_ERROR(read->credential_status);  // a corrupt row, only after 401/403
    if (!read->credential) return NotFoundError("credential not found");
    model::StoredCredential& row = *read->credential;
    if (row.expires_at && *row.expires_at <= *now) return Expired();
    OverlayTouch(&row);
    return std::move(row);
  }

  // Authenticate + Get in one store read, rendered as text (see vault_service.h).
  Result<std::string> GetText(std::string_view header, std::string_view name) {
    UnixMillis now = 0;
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, LoadLiveForKey(header, name, &now));
    SR_ASSIGN_OR_RETURN(SecretBytes plain, OpenRow(row));
    Touch(row.identity_id, row.credential_id, now);
    row.last_used_at = std::max(row.last_used_at.value_or(now), now);
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

  Result<ordered_json> Put(const Principal& principal, std::string_view name, const json& body) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeWrite));
    SR_RETURN_IF_ERROR(model::ValidateName(name));
    UnixMillis now = clock_.NowMillis();
    SR_ASSIGN_OR_RETURN(model::CredentialInput input, model::ParseCredentialInput(body, now));
    SR_ASSIGN_OR_RETURN(auto identity, LoadIdentity(principal.identity_id));
    // Generated outside the transaction: Mutate may run `fn` more than once.
    SR_ASSIGN_OR_RETURN(std::string random_hex, RandomHex(12));
    const std::string new_id = "cred_" + random_hex;
    const std::string name_str(name);

    store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
        -> Result<model::StoredCredential> {
      model::StoredCredential row;
      row.identity_id = principal.identity_id;
      row.name = name_str;
      row.type = input.type;
      row.metadata_json = input.metadata_json;
      row.expires_at = input.expires_at;
      row.updated_at = now;
      row.kek_version = identity->kek_version;
      if (existing) {
        row.credential_id = existing->credential_id;
        row.created_at = existing->created_at;
        row.version = existing->version + 1;
        row.last_rotated_at = now;
        row.last_used_at = existing->last_used_at;
      } else {
        row.credential_id = new_id;
        row.created_at = now;
        row.version = 1;
      }
      kms::KekRef kek{identity->id, identity->kek_version, &identity->wrapped_kek};
      Result<kms::Envelope> envelope = keys_.Seal(
          kek, std::string_view(input.data_json.data(), input.data_json.size()), AadFor(row));
      if (!envelope.ok()) return TagHsm(envelope.status());
      row.ciphertext = std::move(envelope->ciphertext);
      row.wrapped_dek = std::move(envelope->wrapped_dek);
      return row;
    };
    SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                        store_.Mutate(principal.identity_id, name, fn));
    OverlayTouch(&outcome.written);
    ordered_json out = Summary(outcome.written);
    out["created"] = outcome.created;
    return out;
  }

  Status Delete(const Principal& principal, std::string_view name) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeWrite));
    // Uses are keyed by credential_id: one recorded before the delete can
    // never land on a credential re-created under the same name afterwards.
    return store_.DeleteCredential(principal.identity_id, name);
  }

  Result<ordered_json> Totp(const Principal& principal, std::string_view name) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeRead));
    UnixMillis now = clock_.NowMillis();
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, LoadLive(principal, name, now));
    return TotpOf(row, now);
  }

  Result<ordered_json> TotpWithKey(std::string_view header, std::string_view name) {
    UnixMillis now = 0;
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, LoadLiveForKey(header, name, &now));
    return TotpOf(row, now);
  }

  // The current code of a live credential loaded for an authorised reader.
  Result<ordered_json> TotpOf(const model::StoredCredential& row, UnixMillis now) {
    SR_ASSIGN_OR_RETURN(json data, Decrypt(row));
    SR_ASSIGN_OR_RETURN(SecretString seed, model::FindTotpSeed(row.type, data));
    json metadata = json::parse(row.metadata_json, nullptr, /*allow_exceptions=*/false);
    model::TotpParams params = model::TotpParams::FromMetadata(metadata);
    SR_ASSIGN_OR_RETURN(model::TotpCode code, model::GenerateTotp(seed.view(), params, now));
    Touch(row.identity_id, row.credential_id, now);
    ordered_json out;
    out["code"] = code.code;
    out["remaining"] = code.remaining;
    out["backupCodesRemaining"] = model::UnusedBackupCodeCount(data);
    out["digits"] = params.digits;
    out["period"] = params.period;
    return out;
  }

  Result<ordered_json> PopBackupCode(const Principal& principal, std::string_view name) {
    SR_RETURN_IF_ERROR(RequireScope(principal, model::kScopeWrite));
    UnixMillis now = clock_.NowMillis();
    SR_ASSIGN_OR_RETURN(auto identity, LoadIdentity(principal.identity_id));
    model::BackupPop popped;
    store::MutateFn fn = [&](const std::optional<model::StoredCredential>& existing)
        -> Result<model::StoredCredential> {
      if (!existing) return NotFoundError("credential not found");
      if (existing->expires_at && *existing->expires_at <= now) return Expired();
      model::StoredCredential row = *existing;
      SR_ASSIGN_OR_RETURN(json data, Decrypt(row));
      SR_ASSIGN_OR_RETURN(popped, model::PopBackupCode(row.type, data));
      row.version = existing->version + 1;
      row.updated_at = now;
      row.last_used_at = std::max(existing->last_used_at.value_or(now), now);
      row.kek_version = identity->kek_version;
      std::string plain = data.dump();
      kms::KekRef kek{identity->id, identity->kek_version, &identity->wrapped_kek};
      Result<kms::Envelope> envelope = keys_.Seal(kek, plain, AadFor(row));
      SecureWipe(plain.data(), plain.size());
      if (!envelope.ok()) return TagHsm(envelope.status());
      row.ciphertext = std::move(envelope->ciphertext);
      row.wrapped_dek = std::move(envelope->wrapped_dek);
      return row;
    };
    SR_ASSIGN_OR_RETURN(store::MutateOutcome outcome,
                        store_.Mutate(principal.identity_id, name, fn));
    if (outcome.created) {
      // fn never creates; a store that says otherwise broke its contract.
      return InternalError("backup pop created a row");
    }
    ordered_json out;
    out["code"] = popped.code;
    out["remaining"] = popped.remaining;
    out["backupCodesRemaining"] = popped.remaining;
    return out;
  }

  bool Ready(ordered_json* body) {
    Status store_status = store_.Ping();
    Status hsm_status = keys_.CheckHsm();
    if (!store_status.ok()) spdlog::warn("readiness: store: {}", store_status.ToString());
    if (!hsm_status.ok()) spdlog::warn("readiness: hsm: {}", hsm_status.ToString());
    bool ready = store_status.ok() && hsm_status.ok();
    ordered_json out;
    out["status"] = ready ? "ready" : "unavailable";
    out["store"] = store_status.ok() ? "ok" : "unavailable";
    out["hsm"] = hsm_status.ok() ? "ok" : "unavailable";
    *body = std::move(out);
    return ready;
  }

  std::uint64_t HsmOperations() const { return keys_.hsm_operations(); }

  // --- lastUsedAt batching ---

  void FlushTouches() {
    std::lock_guard<std::mutex> flush_lock(flush_mu_);
    {
      // O(1) under mu_: requests (which take mu_ to record and overlay uses)
      // never wait for a copy of the batch.
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.empty()) return;
      in_flight_.swap(pending_);  // in_flight_ is empty between flushes
    }
    // Only this function (serialised by flush_mu_) modifies in_flight_, so
    // reading it without mu_ races with nothing but other readers.
    std::vector<store::CredentialStore::Touch> touches;
    touches.reserve(in_flight_.size());
    for (const auto& [key, at] : in_flight_) touches.push_back({key.identity_id, key.name, at});
    // In key order: neighbouring rows share B-tree pages.
    std::sort(touches.begin(), touches.end(), [](const auto& a, const auto& b) {
      return std::tie(a.identity_id, a.credential_id) < std::tie(b.identity_id, b.credential_id);
    });
    Status status = store_.TouchLastUsed(touches);
    TouchMap done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      done.swap(in_flight_);
      if (!status.ok()) {
        // Keep them for the next round; last_used_at is max(old, at), so a retry is harmless.
        for (const auto& [key, at] : done) {
          UnixMillis& slot = pending_[key];
          slot = std::max(slot, at);
        }
      }
    }
    if (!status.ok()) {
      spdlog::warn("recording lastUsedAt failed ({} pending): {}", done.size(), status.ToString());
    }
    // `done` is freed here, outside mu_.
  }

 private:
  struct TouchKey {
    std::int64_t identity_id;
    std::string name;  // the credential_id
    bool operator==(const TouchKey& other) const = default;
  };
  struct TouchKeyHash {
    std::size_t operator()(const TouchKey& key) const noexcept {
      return std::hash<std::string>()(key.name) ^
             (std::hash<std::int64_t>()(key.identity_id) * 0x9e3779b97f4a7c15ULL);
    }
  };
  using TouchMap = std::unordered_map<TouchKey, UnixMillis, TouchKeyHash>;

  static Status Expired() {
    return Status(StatusCode::kExpired, "credential has expired", "expired");
  }

  void FlushLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    auto last_sweep = std::chrono::steady_clock::now();
    while (!stopping_) {
      cv_.wait_for(lock, options_.touch_flush_interval, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      FlushTouches();
      if (std::chrono::steady_clock::now() - last_sweep >= options_.identity_sweep_interval) {
        ForgetDeletedIdentities();
        last_sweep = std::chrono::steady_clock::now();
      }
      lock.lock();
    }
  }

 public:
  // Identities deleted by another process (the admin CLI, another server):
  // drop them here and wipe their cached KEKs and DEKs (crypto-shredding in
  // this process too). Cheap: one identity listing.
  void ForgetDeletedIdentities() {
    std::vector<std::int64_t> cached;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, identity] : identities_) cached.push_back(id);
    }
    if (cached.empty()) return;
    Result<std::vector<model::Identity>> all = store_.ListIdentities();
    if (!all.ok()) return;  // try again next round
    std::vector<std::int64_t> live;
    live.reserve(all->size());
    for (const model::Identity& identity : *all) live.push_back(identity.id);
    std::sort(live.begin(), live.end());
    for (std::int64_t id : cached) {
      if (std::binary_search(live.begin(), live.end(), id)) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        identities_.erase(id);
      }
      keys_.Evict(id);
      spdlog::info("identity {} was deleted: its cached keys are wiped", id);
    }
  }

 private:
  void Touch(std::int64_t identity_id, const std::string& name, UnixMillis at) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = pending_.try_emplace(TouchKey{identity_id, name}, at);
    if (!inserted) it->second = std::max(it->second, at);
  }

  // Applies uses not yet written to the store (pending or being written).
  void OverlayTouch(model::StoredCredential* row) {
    std::lock_guard<std::mutex> lock(mu_);
    TouchKey key{row->identity_id, row->credential_id};
    for (const auto* map : {&pending_, &in_flight_}) {
      auto it = map->find(key);
      if (it != map->end() && (!row->last_used_at || *row->last_used_at < it->second)) {
        row->last_used_at = it->second;
      }
    }
  }

  // The credential, if it exists, belongs to the principal and has not expired.
  Result<model::StoredCredential> LoadLive(const Principal& principal, std::string_view name,
                                           UnixMillis now) {
    Result<model::StoredCredential> row = store_.GetCredential(principal.identity_id, name);
    if (!row.ok()) {
      if (row.status().code() == StatusCode::kNotFound) {
        return NotFoundError("credential not found");
      }
      return row.status();
    }
    if (row->expires_at && *row->expires_at <= now) return Expired();
    OverlayTouch(&*row);
    return row;
  }

  Result<std::shared_ptr<const model::Identity>> LoadIdentity(std::int64_t identity_id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = identities_.find(identity_id);
      if (it != identities_.end()) return it->second;
    }
    Result<model::Identity> identity = store_.GetIdentity(identity_id);
    if (!identity.ok()) {
      // The key authenticated a moment ago; its identity vanishing means it was deleted.
      if (identity.status().code() == StatusCode::kNotFound) return Unauthenticated();
      return identity.status();
    }
    auto shared = std::make_shared<const model::Identity>(std::move(identity).value());
    std::lock_guard<std::mutex> lock(mu_);
    return identities_.try_emplace(identity_id, std::move(shared)).first->second;
  }

  // The decrypted data text of `row`; failures mapped as MapOpenError.
  Result<SecretBytes> OpenRow(const model::StoredCredential& row) {
    SR_ASSIGN_OR_RETURN(auto identity, LoadIdentity(row.identity_id));
    kms::KekRef kek{identity->id, row.kek_version, &identity->wrapped_kek};
    kms::Envelope envelope{row.ciphertext, row.wrapped_dek};
    Result<SecretBytes> plain = keys_.Open(kek, envelope, AadFor(row));
    if (!plain.ok()) {
      Status status = MapOpenError(plain.status());
      spdlog::error("decrypting credential {} of identity {} failed: {}", row.credential_id,
                    row.identity_id, plain.status().ToString());
      return status;
    }
    return plain;
  }

  Result<json> Decrypt(const model::StoredCredential& row) {
    SR_ASSIGN_OR_RETURN(SecretBytes plain, OpenRow(row));
    json data = json::parse(plain.begin(), plain.end(), nullptr, /*allow_exceptions=*/false);
    if (!data.is_object()) return DataLossError("stored credential is not a JSON object");
    return data;
  }

  store::CredentialStore& store_;
  kms::KeyManager& keys_;
  const Clock& clock_;
  const VaultServiceOptions options_;

  std::mutex flush_mu_;  // serialises flushes with deletes; taken before mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  TouchMap pending_;
  TouchMap in_flight_;
  std::map<std::int64_t, std::shared_ptr<const model::Identity>> identities_;
  std::thread flusher_;
};

VaultService::VaultService(store::CredentialStore* store, kms::KeyManager* keys, const Clock* clock,
                           VaultServiceOptions options)
    : impl_(std::make_unique<Impl>(store, keys, clock, options)) {}
VaultService::~VaultService() = default;

Result<Principal> VaultService::Authenticate(std::string_view authorization_header) {
  return impl_->Authenticate(authorization_header);
}
Result<ordered_json> VaultService::List(const Principal& principal,
                                        std::optional<std::string_view> limit,
                                        std::optional<std::string_view> cursor) {
  return impl_->List(principal, limit, cursor);
}

Result<std::string> VaultService::ListText(const Principal& principal,
                                           std::optional<std::string_view> limit,
                                           std::optional<std::string_view> cursor) {
  return impl_->ListText(principal, limit, cursor);
}
Result<ordered_json> VaultService::Get(const Principal& principal, std::string_view name) {
  return impl_->Get(principal, name);
}
Result<std::string> VaultService::GetText(std::string_view authorization_header,
                                          std::string_view name) {
  return impl_->GetText(authorization_header, name);
}
Result<ordered_json> VaultService::Put(const Principal& principal, std::string_view name,
                                       const json& body) {
  return impl_->Put(principal, name, body);
}
Status VaultService::Delete(const Principal& principal, std::string_view name) {
  return impl_->Delete(principal, name);
}
Result<ordered_json> VaultService::Totp(const Principal& principal, std::string_view name) {
  return impl_->Totp(principal, name);
}
Result<ordered_json> VaultService::TotpWithKey(std::string_view authorization_header,
                                               std::string_view name) {
  return impl_->TotpWithKey(authorization_header, name);
}
Result<ordered_json> VaultService::PopBackupCode(const Principal& principal,
                                                 std::string_view name) {
  return impl_->PopBackupCode(principal, name);
}
bool VaultService::Ready(ordered_json* body) { return impl_->Ready(body); }
std::uint64_t VaultService::HsmOperations() const { return impl_->HsmOperations(); }
void VaultService::ForgetDeletedIdentities() { impl_->ForgetDeletedIdentities(); }
void VaultService::FlushTouches() { impl_->FlushTouches(); }
void VaultService::Shutdown() { impl_->Shutdown(); }

Status ParsePutBody(std::string_view content_type, std::string_view body,
                    std::size_t max_body_bytes, json* out) {
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
    return Status(StatusCode::kUnsupportedMedia, "request body must be application/json",
                  "unsupported_media_type");
  }
  if (body.size() > max_body_bytes) {
    return Status(StatusCode::kResourceExhausted,
                  "request body exceeds " + std::to_string(max_body_bytes) + " bytes",
                  "payload_too_large");
  }
  json parsed = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgumentError("body is not valid JSON", "invalid_json");
  *out = std::move(parsed);
  return Status::Ok();
}

}  // namespace strongroom::api
