// SqlCredentialStore: every CredentialStore method, written once over the
// session adapter of sql_session.h and the shared SQL of rows.h.
//
// What differs between databases lives in the Backend the store is instantiated
// with (its shape: sql_session.h). No Status built here contains a bound value.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "store/credential_store.h"
#include "store/internal/migrations.h"
#include "store/internal/rows.h"
#include "store/internal/sql_audit.h"
#include "store/internal/sql_key_state.h"
#include "store/internal/sql_migrate.h"
#include "store/internal/sql_session.h"

namespace strongroom::store::internal {

// A borrowed callable Result<MutateOutcome>(Session&) (absl::FunctionRef
// shape): no allocation; the callable must outlive the call it is passed to.
template <typename Session>
class MutationRef {
 public:
  template <typename F>
  explicit MutationRef(F& f)
      : obj_(&f), call_([](void* obj, Session& s) { return (*static_cast<F*>(obj))(s); }) {}
  Result<MutateOutcome> operator()(Session& s) const { return call_(obj_, s); }

 private:
  void* obj_;
  Result<MutateOutcome> (*call_)(void*, Session&);
};

template <typename Backend>
class SqlCredentialStore final : public CredentialStore {
 public:
  using Session = typename Backend::Session;
  using Statement = typename Session::Statement;
  static_assert(SqlSession<Session>);

  // `clock` must outlive the store; `args` construct the backend.
  template <typename... Args>
  explicit SqlCredentialStore(const Clock& clock, Args&&... args)
      : clock_(clock), backend_(std::forward<Args>(args)...), keys_(backend_) {}

  Backend& backend() { return backend_; }

  Result<model::Identity> CreateIdentity(const model::Identity& identity) override {
    model::Identity row = identity;
    Status status = backend_.Write("creating identity", [&](Session& s) -> Status {
      row.created_at = clock_.NowMillis();
      SR_RETURN_IF_ERROR(
          ExecuteStatement(s, SqlId::kInsertIdentity, "creating identity", [&](Statement& st) {
            BindIdentityInsert(st, row);
          }).status());
      SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> id,
                          QueryInt64(s, SqlId::kLastInsertId, "creating identity"));
      if (!id) return InternalError("creating identity: no insert id");
      row.id = *id;
      return Status::Ok();
    });
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("an identity with this name already exists", "identity_exists");
    }
    SR_RETURN_IF_ERROR(status);
    return row;
  }

  Result<model::Identity> GetIdentity(std::int64_t id) override {
    return ReadOne<model::Identity>(
        SqlId::kGetIdentity, "reading identity", "identity not found",
        [&](Statement& st) { st.BindInt64(1, id); }, kDecodeIdentity);
  }

  Result<model::Identity> GetIdentityByName(std::string_view name) override {
    return ReadOne<model::Identity>(
        SqlId::kGetIdentityByName, "reading identity", "identity not found",
        [&](Statement& st) { st.BindText(1, name); }, kDecodeIdentity);
  }

  Result<std::vector<model::Identity>> ListIdentities() override {
    return ReadAll<model::Identity>(
        SqlId::kListIdentities, "listing identities", [](Statement&) {}, kDecodeIdentity);
  }

  Status DeleteIdentity(std::string_view name) override {
    // One statement, one implicit transaction; ON DELETE CASCADE removes the
    // identity's API keys and credentials with it. Then the backend scrubs
    // what the database files still hold of them (SQLite: the WAL).
    SR_RETURN_IF_ERROR(WriteOne(SqlId::kDeleteIdentity, "deleting identity", "identity not found",
                                [&](Statement& st) { st.BindText(1, name); }));
    return backend_.ShredDeleted();
  }

  Status CreateApiKey(const model::ApiKeyRecord& key) override {
    Status status = backend_.Write("creating API key", [&](Session& s) {
      return ExecuteStatement(s, SqlId::kInsertApiKey, "creating API key",
                              [&](Statement& st) { BindApiKeyInsert(st, key); })
          .status();
    });
    if (status.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError("an API key with this id already exists", "api_key_exists");
    }
    if (status.code() == StatusCode::kNotFound) return NotFoundError("identity not found");
    return status;
  }

  Result<model::ApiKeyRecord> GetApiKey(std::string_view key_id) override {
    return ReadOne<model::ApiKeyRecord>(
        SqlId::kGetApiKey, "reading API key", "API key not found",
        [&](Statement& st) { st.BindText(1, key_id); }, kDecodeApiKey);
  }

  Result<std::vector<model::ApiKeyRecord>> ListApiKeys(std::int64_t identity_id) override {
    return ReadAll<model::ApiKeyRecord>(
        SqlId::kListApiKeys, "listing API keys",
        [&](Statement& st) { st.BindInt64(1, identity_id); }, kDecodeApiKey);
  }

  Status RevokeApiKey(std::string_view key_id, UnixMillis now) override {
    // Both backends count matched rows, so re-revoking still finds the key.
    return WriteOne(SqlId::kRevokeApiKey, "revoking API key", "API key not found",
                    [&](Statement& st) {
                      st.BindInt64(1, now);
                      st.BindText(2, key_id);
                    });
  }

  Result<model::StoredCredential> GetCredential(std::int64_t identity_id,
                                                std::string_view name) override {
    return ReadOne<model::StoredCredential>(
        SqlId::kGetCredential, "reading credential", "credential not found",
        [&](Statement& st) { BindCredentialKey(st, identity_id, name); }, kDecodeFull);
  }

  Result<KeyedCredential> GetCredentialWithKey(std::string_view key_id, std::string_view name,
                                               const KeyCheck& check) override {
    constexpr std::string_view kWhat = "reading API key and credential";
    std::optional<KeyedCredential> out;
    Status check_status;
    SR_RETURN_IF_ERROR(backend_.Read(kWhat, [&](Session& s) -> Status {
      out.reset();
      {
        SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kGetApiKey));
        st.BindText(1, key_id);
        SR_ASSIGN_OR_RETURN(bool found, st.Step(kWhat));
        if (!found) return Status::Ok();
        out.emplace(KeyedCredential{DecodeApiKey(st), std::nullopt, Status::Ok()});
      }
      // Nothing about `name` has been looked at yet.
      check_status = check(out->key);
      if (!check_status.ok()) return Status::Ok();
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kGetCredential));
      BindCredentialKey(st, out->key.identity_id, name);
      SR_ASSIGN_OR_RETURN(bool found, st.Step(kWhat));
      if (!found) return Status::Ok();
      Result<model::StoredCredential> c = kDecodeFull(st);
      if (c.ok()) {
        out->credential = std::move(c).value();
      } else {
        out->credential_status = c.status();
      }
      return Status::Ok();
    }));
    if (!out) return NotFoundError("API key not found");
    SR_RETURN_IF_ERROR(check_status);
    return std::move(*out);
  }

  Result<std::vector<model::StoredCredential>> ListLegacyAadCredentials(
      std::int32_t aad_version, std::int64_t after_identity_id, std::string_view after_name,
      int limit) override {
    if (limit <= 0) return InvalidArgumentError("list limit must be positive");
    return ReadAll<model::StoredCredential>(
        SqlId::kListLegacyAad, "listing credentials to reseal",
        [&](Statement& st) {
          st.BindInt64(1, aad_version);
          st.BindInt64(2, after_identity_id);
          st.BindInt64(3, after_identity_id);
          st.BindText(4, after_name);
          st.BindInt64(5, limit);
        },
        [](const Statement& st) {
          model::StoredCredential c;
          c.identity_id = st.Int64(0);
          c.name = st.Text(1);
          return c;
        });
  }

  Result<std::vector<model::StoredCredential>> ListCredentials(std::int64_t identity_id,
                                                               std::string_view after_name,
                                                               int limit) override {
    if (limit <= 0) return InvalidArgumentError("list limit must be positive");
    return ReadAll<model::StoredCredential>(
        SqlId::kListCredentials, "listing credentials",
        [&](Statement& st) {
          st.BindInt64(1, identity_id);
          st.BindText(2, after_name);
          st.BindInt64(3, limit);
        },
        kDecodeSummary);
  }

  Result<std::int64_t> CountCredentials(std::int64_t identity_id) override {
    Result<std::optional<std::int64_t>> count = Read("counting credentials", [&](Session& s) {
      return QueryInt64(s, SqlId::kCountCredentials, "counting credentials", identity_id);
    });
    if (!count.ok()) return count.status();
    if (!*count) return InternalError("counting credentials: no result");
    return **count;
  }

  Result<MutateOutcome> Mutate(std::int64_t identity_id, std::string_view name,
                               const MutateFn& fn) override {
    return MutateAudited(identity_id, name, fn, AuditWrite{});
  }

  Result<MutateOutcome> MutateAudited(std::int64_t identity_id, std::string_view name,
                                      const MutateFn& fn, AuditWrite audit) override {
    // `fn` is the caller's code: an exception from it (or from the mapping
    // around it) must not unwind through the backend's transaction and batch
    // bookkeeping (SQLite's group-commit leader would stay elected and every
    // later write would wait forever). It fails this mutation alone.
    auto apply = [&](Session& s) -> Result<MutateOutcome> {
      try {
        SR_ASSIGN_OR_RETURN(MutateOutcome outcome, ApplyMutation(s, identity_id, name, fn));
        SR_RETURN_IF_ERROR(AppendAudit(s, audit));
        return outcome;
      } catch (...) {
        return InternalError("applying a credential mutation failed");
      }
    };
    return backend_.Mutate(MutationRef<Session>(apply));
  }

  Status DeleteCredential(std::int64_t identity_id, std::string_view name) override {
    return WriteOne(SqlId::kDeleteCredential, "deleting credential", "credential not found",
                    [&](Statement& st) { BindCredentialKey(st, identity_id, name); });
  }

  Status DeleteCredentialAudited(std::int64_t identity_id, std::string_view name,
                                 AuditWrite audit) override {
    auto apply = [&](Session& s) -> Result<MutateOutcome> {
      SR_ASSIGN_OR_RETURN(
          std::int64_t deleted,
          ExecuteStatement(s, SqlId::kDeleteCredential, "deleting credential",
                           [&](Statement& st) { BindCredentialKey(st, identity_id, name); }));
      if (deleted == 0) return NotFoundError("credential not found");
      SR_RETURN_IF_ERROR(AppendAudit(s, audit));
      return MutateOutcome{};
    };
    return backend_.Mutate(MutationRef<Session>(apply)).status();
  }

  Status AppendAuditEvents(std::vector<AuditRecord>* records, AuditHashFn hash) override {
    if (records->empty()) return Status::Ok();
    // Through the backend's write path for Mutate: on SQLite, one group commit
    // with concurrent writes; on MySQL, one transaction for the batch.
    auto apply = [&](Session& s) -> Result<MutateOutcome> {
      if (!InsertAuditRecords(s, records->data(), records->size(), hash).ok()) {
        return AuditUnavailable();
      }
      return MutateOutcome{};
    };
    Result<MutateOutcome> done = backend_.Mutate(MutationRef<Session>(apply));
    return done.ok() ? Status::Ok() : AuditUnavailable();
  }

  Result<std::optional<AuditRecord>> LastAuditEvent(std::string_view server) override {
    Result<AuditRecord> last = ReadOne<AuditRecord>(
        SqlId::kLastAuditEvent, "reading the audit log", "no audit event",
        [&](Statement& st) { st.BindText(1, server); }, kDecodeAudit);
    if (last.status().code() == StatusCode::kNotFound) return std::optional<AuditRecord>();
    if (!last.ok()) return last.status();
    return std::optional<AuditRecord>(std::move(*last));
  }

  Result<std::vector<AuditRecord>> ListAuditEvents(const AuditQuery& query) override {
    if (query.limit <= 0) return InvalidArgumentError("list limit must be positive");
    return ReadAll<AuditRecord>(
        SqlId::kListAuditEvents, "reading the audit log",
        [&](Statement& st) { BindAuditQuery(st, query); }, kDecodeAudit);
  }

  Status AppendAuditCheckpoint(const AuditCheckpointRecord& checkpoint) override {
    return backend_.Write("storing an audit checkpoint", [&](Session& s) {
      return ExecuteStatement(s, SqlId::kInsertAuditCheckpoint, "storing an audit checkpoint",
                              [&](Statement& st) { BindAuditCheckpoint(st, checkpoint); })
          .status();
    });
  }

  Result<std::vector<AuditCheckpointRecord>> ListAuditCheckpoints() override {
    return ReadAll<AuditCheckpointRecord>(
        SqlId::kListAuditCheckpoints, "reading audit checkpoints", [](Statement&) {},
        [](const Statement& st) { return DecodeAuditCheckpoint(st); });
  }

  Status TouchLastUsed(const std::vector<Touch>& touches) override {
    if (touches.empty()) return Status::Ok();
    // Rows in key order, so two concurrent batches lock them in the same
    // order and cannot deadlock each other.
    std::vector<const Touch*> sorted;
    sorted.reserve(touches.size());
    for (const Touch& t : touches) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](const Touch* a, const Touch* b) {
      return std::tie(a->identity_id, a->credential_id) <
             std::tie(b->identity_id, b->credential_id);
    });
    // One transaction: one sync for the whole batch.
    return backend_.InTransaction("recording last use", [&](Session& s) -> Status {
      for (const Touch* touch : sorted) {
        SR_RETURN_IF_ERROR(
            ExecuteStatement(s, SqlId::kTouchCredential, "recording last use", [&](Statement& st) {
              st.BindInt64(1, touch->at);
              st.BindInt64(2, touch->identity_id);
              st.BindText(3, touch->credential_id);
            }).status());
      }
      return Status::Ok();
    });
  }

  Result<std::vector<model::MasterKeyRecord>> ListMasterKeys() override {
    return keys_.ListMasterKeys();
  }
  Status SeedMasterKey(std::string_view label, UnixMillis now) override {
    return keys_.SeedMasterKey(label, now);
  }
  Status ActivateMasterKey(std::string_view label, UnixMillis now) override {
    return keys_.ActivateMasterKey(label, now);
  }
  Status RetireMasterKey(std::string_view label, UnixMillis now) override {
    return keys_.RetireMasterKey(label, now);
  }
  Status UpdateIdentityKeks(const model::Identity& expected,
                            const model::Identity& updated) override {
    return keys_.UpdateIdentityKeks(expected, updated);
  }
  Status FinishKekRotation(std::int64_t identity_id, std::int32_t previous_kek_version) override {
    return keys_.FinishKekRotation(identity_id, previous_kek_version);
  }

  Status Ping() override {
    return Read("pinging database",
                [](Session& s) -> Result<bool> {
                  SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> row,
                                      QueryInt64(s, SqlId::kPing, "pinging database"));
                  if (!row) return InternalError("pinging database: no result");
                  return true;
                })
        .status();
  }

 private:
  // Row decoders (lambdas, not function pointers: inlined into the row loops).
  static constexpr auto kDecodeIdentity = [](const Statement& st) { return DecodeIdentity(st); };
  static constexpr auto kDecodeApiKey = [](const Statement& st) { return DecodeApiKey(st); };
  static constexpr auto kDecodeFull = [](const Statement& st) {
    return DecodeCredential(st, /*with_envelope=*/true);
  };
  static constexpr auto kDecodeSummary = [](const Statement& st) {
    return DecodeCredential(st, /*with_envelope=*/false);
  };
  static constexpr auto kDecodeAudit = [](const Statement& st) { return DecodeAuditRecord(st); };

  // Appends a write's audit event, if any, in the write's transaction.
  static Status AppendAudit(Session& s, AuditWrite audit) {
    if (audit.record == nullptr) return Status::Ok();
    if (!InsertAuditRecords(s, audit.record, 1, audit.hash).ok()) return AuditUnavailable();
    return Status::Ok();
  }
  static void BindCredentialKey(Statement& st, std::int64_t identity_id, std::string_view name) {
    st.BindInt64(1, identity_id);
    st.BindText(2, name);
  }

  // Runs `body(Session&) -> Result<T>` as a read and returns what it returned.
  template <typename Body>
  std::invoke_result_t<Body&, Session&> Read(std::string_view what, Body&& body) {
    std::optional<std::invoke_result_t<Body&, Session&>> out;
    SR_RETURN_IF_ERROR(backend_.Read(what, [&](Session& s) -> Status {
      out.emplace(body(s));
      return out->status();
    }));
    return std::move(*out);
  }

  // At most one row of `id`, decoded; NOT_FOUND `not_found` if none. The
  // GET hot path: the row is decoded straight into `out`, moved once more
  // into the result.
  template <typename T, typename Bind, typename Decode>
  Result<T> ReadOne(SqlId id, std::string_view what, const char* not_found, Bind&& bind,
                    Decode&& decode) {
    std::optional<T> out;
    SR_RETURN_IF_ERROR(backend_.Read(what, [&](Session& s) -> Status {
      out.reset();
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(id));
      bind(st);
      SR_ASSIGN_OR_RETURN(bool found, st.Step(what));
      if (!found) return Status::Ok();
      if constexpr (std::is_same_v<decltype(decode(st)), T>) {
        out.emplace(decode(st));
      } else {
        SR_ASSIGN_OR_RETURN(out, decode(st));
      }
      return Status::Ok();
    }));
    if (!out) return NotFoundError(not_found);
    return std::move(*out);
  }

  // Every row of `id`, decoded.
  template <typename T, typename Bind, typename Decode>
  Result<std::vector<T>> ReadAll(SqlId id, std::string_view what, Bind&& bind, Decode&& decode) {
    return Read(what, [&](Session& s) -> Result<std::vector<T>> {
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(id));
      bind(st);
      std::vector<T> out;
      while (true) {
        SR_ASSIGN_OR_RETURN(bool found, st.Step(what));
        if (!found) break;
        if constexpr (std::is_same_v<decltype(decode(st)), T>) {
          out.push_back(decode(st));
        } else {
          SR_ASSIGN_OR_RETURN(T value, decode(st));
          out.push_back(std::move(value));
        }
      }
      return out;
    });
  }

  // One autocommit statement that must touch a row; NOT_FOUND `not_found` if none.
  template <typename Bind>
  Status WriteOne(SqlId id, std::string_view what, const char* not_found, Bind&& bind) {
    std::int64_t affected = 0;
    SR_RETURN_IF_ERROR(backend_.Write(what, [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(affected, ExecuteStatement(s, id, what, bind));
      return Status::Ok();
    }));
    if (affected == 0) return NotFoundError(not_found);
    return Status::Ok();
  }

  // Mutate's body, run by the backend inside its write transaction.
  static Result<MutateOutcome> ApplyMutation(Session& s, std::int64_t identity_id,
                                             std::string_view name, const MutateFn& fn) {
    std::optional<model::StoredCredential> existing;
    {
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kLockCredential));
      BindCredentialKey(st, identity_id, name);
      SR_ASSIGN_OR_RETURN(bool found, st.Step("reading credential"));
      if (found) {
        SR_ASSIGN_OR_RETURN(existing, kDecodeFull(st));
      }
    }
    const bool created = !existing.has_value();
    SR_ASSIGN_OR_RETURN(model::StoredCredential row, fn(existing));
    row.identity_id = identity_id;
    row.name = std::string(name);
    if (CredentialTypeToDb(row.type).empty()) {
      return InvalidArgumentError("credential type is not valid", "invalid_type");
    }
    // Sealed under the identity's current KEK, or not at all (SPEC 11: a KEK
    // rotation must see every row written under the KEK it replaces).
    SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> kek_version,
                        QueryInt64(s, SqlId::kIdentityKekVersion, "reading identity", identity_id));
    if (!kek_version) return NotFoundError("identity not found");
    if (*kek_version != row.kek_version) {
      return FailedPreconditionError("the identity's KEK was rotated", "kek_rotated");
    }
    Result<std::int64_t> written = ExecuteStatement(
        s, created ? SqlId::kInsertCredential : SqlId::kUpdateCredential, "writing credential",
        [&](Statement& st) { BindCredentialWrite(st, row); });
    if (written.status().code() == StatusCode::kNotFound) {
      return NotFoundError("identity not found");  // the foreign key
    }
    SR_RETURN_IF_ERROR(written.status());
    return MutateOutcome{std::move(row), created};
  }

  const Clock& clock_;
  Backend backend_;
  SqlKeyState<Backend> keys_;
};

}  // namespace strongroom::store::internal
