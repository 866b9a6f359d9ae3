// The key-state half of the SQL store (SPEC 11): master key states and the
// KEK columns of identities, written once over the Backend and Session shapes
// of sql_store.h / sql_session.h. SqlCredentialStore's key-state methods
// delegate here; their contracts are in store/credential_store.h.
//
// Concurrency. Each operation is one transaction (or one statement). The
// guard that keeps a KEK rotation safe is in Mutate (sql_store.h): a
// credential is written only under its identity's current KEK version, read
// in the writing transaction (MySQL: with a shared lock on the identity row),
// so FinishKekRotation's UPDATE, which needs that row exclusively, sees every
// row written under the previous version.
//
// No Status built here contains a bound value (labels are not secret, but
// stay out of messages all the same, except in the in-use count).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "model/credential.h"
#include "store/internal/rows.h"
#include "store/internal/sql_session.h"

namespace strongroom::store::internal {

inline std::optional<model::MasterKeyState> MasterKeyStateFromDb(std::string_view text) {
  if (text == "active") return model::MasterKeyState::kActive;
  if (text == "previous") return model::MasterKeyState::kPrevious;
  if (text == "retired") return model::MasterKeyState::kRetired;
  return std::nullopt;
}

template <typename Backend>
class SqlKeyState {
 public:
  using Session = typename Backend::Session;
  using Statement = typename Session::Statement;

  explicit SqlKeyState(Backend& backend) : backend_(backend) {}

  Result<std::vector<model::MasterKeyRecord>> ListMasterKeys() {
    std::vector<model::MasterKeyRecord> out;
    SR_RETURN_IF_ERROR(backend_.Read("listing master keys", [&](Session& s) -> Status {
      out.clear();
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kListMasterKeys));
      while (true) {
        SR_ASSIGN_OR_RETURN(bool row, st.Step("listing master keys"));
        if (!row) return Status::Ok();
        std::optional<model::MasterKeyState> state = MasterKeyStateFromDb(st.Text(1));
        if (!state) return DataLossError("stored master key has an unknown state");
        out.push_back({st.Text(0), *state, st.Int64(2), st.OptInt64(3), st.OptInt64(4)});
      }
    }));
    return out;
  }

  Status SeedMasterKey(std::string_view label, UnixMillis now) {
    Status status = backend_.InTransaction("seeding key state", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> count,
                          QueryInt64(s, SqlId::kCountMasterKeys, "seeding key state"));
      if (count.value_or(0) != 0) return Status::Ok();
      SR_RETURN_IF_ERROR(InsertMasterKey(s, label, "active", now));
      return ExecuteStatement(s, SqlId::kLabelUnlabeledKeks, "seeding key state",
                              [&](Statement& st) { st.BindText(1, label); })
          .status();
    });
    // Another process seeded it at the same moment.
    if (status.code() == StatusCode::kAlreadyExists) return Status::Ok();
    return status;
  }

  Status ActivateMasterKey(std::string_view label, UnixMillis now) {
    return backend_.InTransaction("activating master key", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(std::optional<model::MasterKeyState> state, StateOf(s, label));
      if (state == model::MasterKeyState::kRetired) {
        return FailedPreconditionError("master key is retired", "master_key_retired");
      }
      if (state == model::MasterKeyState::kActive) return Status::Ok();
      SR_RETURN_IF_ERROR(ExecuteStatement(s, SqlId::kDemoteActiveMasterKeys,
                                          "activating master key",
                                          [&](Statement& st) { st.BindText(1, label); })
                             .status());
      if (!state) return InsertMasterKey(s, label, "active", now);
      return ExecuteStatement(s, SqlId::kActivateMasterKey, "activating master key",
                              [&](Statement& st) {
                                st.BindInt64(1, now);
                                st.BindText(2, label);
                              })
          .status();
    });
  }

  Status RetireMasterKey(std::string_view label, UnixMillis now) {
    return backend_.InTransaction("retiring master key", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(std::optional<model::MasterKeyState> state, StateOf(s, label));
      if (!state) return NotFoundError("master key not found");
      if (state == model::MasterKeyState::kActive) {
        return FailedPreconditionError("master key is active", "master_key_active");
      }
      SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kCountKeksUnder));
      st.BindText(1, label);
      st.BindText(2, label);
      SR_ASSIGN_OR_RETURN(bool row, st.Step("counting KEKs"));
      const std::int64_t keks = row ? st.Int64(0) : 0;
      if (keks != 0) {
        return FailedPreconditionError(
            std::to_string(keks) + " identity KEKs are still wrapped under the master key",
            "master_key_in_use");
      }
      return ExecuteStatement(s, SqlId::kRetireMasterKey, "retiring master key",
                              [&](Statement& update) {
                                update.BindInt64(1, now);
                                update.BindText(2, label);
                              })
          .status();
    });
  }

  Status UpdateIdentityKeks(const model::Identity& expected, const model::Identity& updated) {
    std::int64_t matched = 0;
    SR_RETURN_IF_ERROR(backend_.Write("updating identity KEK", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(
          matched, ExecuteStatement(s, SqlId::kUpdateIdentityKeks, "updating identity KEK",
                                    [&](Statement& st) { BindKekUpdate(st, expected, updated); }));
      return Status::Ok();
    }));
    if (matched != 0) return Status::Ok();
    SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> exists, PreviousKekVersion(expected.id));
    if (!exists) return NotFoundError("identity not found");
    return Status(StatusCode::kAborted, "the identity's KEK changed meanwhile", "identity_changed");
  }

  Status FinishKekRotation(std::int64_t identity_id, std::int32_t previous_kek_version) {
    std::int64_t matched = 0;
    SR_RETURN_IF_ERROR(backend_.Write("finishing KEK rotation", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(matched, ExecuteStatement(s, SqlId::kFinishKekRotation,
                                                    "finishing KEK rotation", [&](Statement& st) {
                                                      st.BindInt64(1, identity_id);
                                                      st.BindInt64(2, previous_kek_version);
                                                      st.BindInt64(3, identity_id);
                                                      st.BindInt64(4, previous_kek_version);
                                                    }));
      return Status::Ok();
    }));
    if (matched != 0) return Status::Ok();
    SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> previous, PreviousKekVersion(identity_id));
    if (!previous) return NotFoundError("identity not found");
    if (*previous != previous_kek_version) return Status::Ok();
    return FailedPreconditionError("credentials still name the previous KEK",
                                   "kek_rotation_incomplete");
  }

 private:
  static Status InsertMasterKey(Session& s, std::string_view label, std::string_view state,
                                UnixMillis now) {
    return ExecuteStatement(s, SqlId::kInsertMasterKey, "recording master key",
                            [&](Statement& st) {
                              st.BindText(1, label);
                              st.BindText(2, state);
                              st.BindInt64(3, now);
                              st.BindOptInt64(4, now);
                              st.BindOptInt64(5, std::nullopt);
                            })
        .status();
  }

  static Result<std::optional<model::MasterKeyState>> StateOf(Session& s, std::string_view label) {
    SR_ASSIGN_OR_RETURN(Statement st, s.Prepare(SqlId::kMasterKeyState));
    st.BindText(1, label);
    SR_ASSIGN_OR_RETURN(bool row, st.Step("reading master key state"));
    if (!row) return std::optional<model::MasterKeyState>();
    std::optional<model::MasterKeyState> state = MasterKeyStateFromDb(st.Text(0));
    if (!state) return DataLossError("stored master key has an unknown state");
    return state;
  }

  static void BindKekUpdate(Statement& st, const model::Identity& expected,
                            const model::Identity& updated) {
    auto opt_version = [](std::int32_t v) {
      return v == 0 ? std::nullopt : std::optional<std::int64_t>(v);
    };
    st.BindBlob(1, updated.wrapped_kek);
    st.BindInt64(2, updated.kek_version);
    st.BindText(3, updated.master_key_label);
    st.BindBlob(4, updated.previous_wrapped_kek);
    st.BindOptInt64(5, opt_version(updated.previous_kek_version));
    st.BindText(6, updated.previous_master_key_label);
    st.BindInt64(7, expected.id);
    st.BindInt64(8, expected.kek_version);
    st.BindText(9, expected.master_key_label);
    st.BindInt64(10, expected.previous_kek_version);
    st.BindText(11, expected.previous_master_key_label);
  }

  // The identity's previous KEK version (0: none); nullopt if it is gone.
  Result<std::optional<std::int64_t>> PreviousKekVersion(std::int64_t identity_id) {
    std::optional<std::int64_t> out;
    SR_RETURN_IF_ERROR(backend_.Read("reading identity", [&](Session& s) -> Status {
      SR_ASSIGN_OR_RETURN(
          out, QueryInt64(s, SqlId::kPreviousKekVersion, "reading identity", identity_id));
      return Status::Ok();
    }));
    return out;
  }

  Backend& backend_;
};

}  // namespace strongroom::store::internal
