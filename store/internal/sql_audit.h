// Appending audit events inside a store transaction (SPEC 12), for the SQL
// store's audit methods (sql_store.h).
//
// Linking happens inside the write transaction: the newest (seq, hash) of the
// event's server is read (kAuditHead: under the transaction's write lock on
// SQLite, SELECT ... FOR UPDATE on MySQL, so two transactions of one server
// take turns), the event gets seq + 1 and prev, its hash is computed by the
// caller's AuditHashFn and the row is inserted. A rolled-back transaction
// leaves no gap, and a server restarted continues its chain from the database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/result.h"
#include "store/credential_store.h"
#include "store/internal/audit_rows.h"
#include "store/internal/sql_session.h"

namespace strongroom::store::internal {

inline Status AuditUnavailable() {
  return UnavailableError("the audit log cannot be written", "audit_unavailable");
}

// Links and inserts `records` in order inside the session's open transaction.
// Errors are the session's (the caller maps them to audit_unavailable, so that
// the backend still sees the driver's error for its retry decision).
template <typename Session>
Status InsertAuditRecords(Session& s, AuditRecord* records, std::size_t count, AuditHashFn hash) {
  std::string head_server;
  std::int64_t head_seq = 0;
  std::string head_hash;
  for (std::size_t i = 0; i < count; ++i) {
    AuditRecord& r = records[i];
    if (i == 0 || r.server != head_server) {
      SR_ASSIGN_OR_RETURN(typename Session::Statement st, s.Prepare(SqlId::kAuditHead));
      st.BindText(1, r.server);
      SR_ASSIGN_OR_RETURN(bool found, st.Step("reading the audit chain head"));
      head_server = r.server;
      head_seq = found ? st.Int64(0) : 0;
      head_hash = found ? st.Text(1) : std::string(kAuditGenesisHash);
    }
    r.seq = head_seq + 1;
    r.prev = head_hash;
    r.hash = hash(r);
    SR_ASSIGN_OR_RETURN(typename Session::Statement st, s.Prepare(SqlId::kInsertAuditEvent));
    BindAuditRecord(st, r);
    SR_RETURN_IF_ERROR(st.Execute("appending an audit event").status());
    head_seq = r.seq;
    head_hash = r.hash;
  }
  return Status::Ok();
}

}  // namespace strongroom::store::internal
