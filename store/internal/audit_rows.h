// The audit log's SQL (SPEC 12) and its row mapping, shared by both backends
// like rows.h. Columns avoid words some dialect reserves (time, identity).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "store/credential_store.h"

namespace strongroom::store::internal {

#define SR_STORE_AUDIT_COLUMNS                                                            \
  "server, seq, event_time, request_id, action, identity_name, key_id, credential_name, " \
  "credential_id, version, status, remote, prev, hash"

inline constexpr char kLastAuditEventSql[] = "SELECT " SR_STORE_AUDIT_COLUMNS
                                             " FROM audit_events WHERE server = ?"
                                             " ORDER BY seq DESC LIMIT 1";
inline constexpr char kInsertAuditEventSql[] =
    "INSERT INTO audit_events (" SR_STORE_AUDIT_COLUMNS
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// Parameters: server filter twice ('' = all), since, after_server twice, after_seq, limit.
inline constexpr char kListAuditEventsSql[] =
    "SELECT " SR_STORE_AUDIT_COLUMNS
    " FROM audit_events WHERE (? = '' OR server = ?) AND seq >= ?"
    " AND (server > ? OR (server = ? AND seq > ?)) ORDER BY server, seq LIMIT ?";
inline constexpr char kInsertAuditCheckpointSql[] =
    "INSERT INTO audit_checkpoints (server, seq, hash, checkpoint_time, signature)"
    " VALUES (?, ?, ?, ?, ?)";
inline constexpr char kListAuditCheckpointsSql[] =
    "SELECT server, seq, hash, checkpoint_time, signature FROM audit_checkpoints"
    " ORDER BY server, seq";

template <typename Row>
AuditRecord DecodeAuditRecord(const Row& row) {
  AuditRecord r;
  r.server = row.Text(0);
  r.seq = row.Int64(1);
  r.time = row.Text(2);
  r.request_id = row.OptText(3);
  r.action = row.Text(4);
  r.identity = row.OptText(5);
  r.key_id = row.OptText(6);
  r.credential = row.OptText(7);
  r.credential_id = row.OptText(8);
  r.version = row.OptInt64(9);
  r.status = row.Int64(10);
  r.remote = row.OptText(11);
  r.prev = row.Text(12);
  r.hash = row.Text(13);
  return r;
}

template <typename Row>
AuditCheckpointRecord DecodeAuditCheckpoint(const Row& row) {
  return AuditCheckpointRecord{row.Text(0), row.Int64(1), row.Text(2), row.Text(3), row.Text(4)};
}

template <typename Binder>
void BindAuditRecord(Binder& b, const AuditRecord& r) {
  b.BindText(1, r.server);
  b.BindInt64(2, r.seq);
  b.BindText(3, r.time);
  b.BindOptText(4, r.request_id);
  b.BindText(5, r.action);
  b.BindOptText(6, r.identity);
  b.BindOptText(7, r.key_id);
  b.BindOptText(8, r.credential);
  b.BindOptText(9, r.credential_id);
  b.BindOptInt64(10, r.version);
  b.BindInt64(11, r.status);
  b.BindOptText(12, r.remote);
  b.BindText(13, r.prev);
  b.BindText(14, r.hash);
}

template <typename Binder>
void BindAuditQuery(Binder& b, const AuditQuery& q) {
  b.BindText(1, q.server);
  b.BindText(2, q.server);
  b.BindInt64(3, q.since);
  b.BindText(4, q.after_server);
  b.BindText(5, q.after_server);
  b.BindInt64(6, q.after_seq);
  b.BindInt64(7, q.limit);
}

template <typename Binder>
void BindAuditCheckpoint(Binder& b, const AuditCheckpointRecord& c) {
  b.BindText(1, c.server);
  b.BindInt64(2, c.seq);
  b.BindText(3, c.hash);
  b.BindText(4, c.time);
  b.BindText(5, c.signature);
}

}  // namespace strongroom::store::internal
