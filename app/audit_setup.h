// The audit log's wiring (SPEC 12) for `serve` and `admin`: the chain names,
// the checkpoint signer factory and file (the timer is vault/audit_checkpointer.h),
// and `admin audit export|checkpoints`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "audit/checkpoint.h"
#include "base/clock.h"
#include "base/result.h"
#include "config/config.h"
#include "vault/audit.h"

namespace strongroom::kms {
class KeyManager;
}
namespace strongroom::store {
class CredentialStore;
}

namespace strongroom::app {

// The server's audit options: mode from audit.mode, chain audit.server_id or
// "<host name>:<listen port>" (the port actually bound, `port`).
vault::AuditOptions ServerAuditOptions(const config::Config& config, std::uint16_t port);
// The chain of admin commands: "admin@<host name>", with audit.mode.
vault::AuditOptions AdminAuditOptions(const config::Config& config);

// Where checkpoints are appended: audit.checkpoint_file, else
// audit-checkpoints.jsonl beside the SQLite database; nullopt with MySQL and
// no checkpoint_file (checkpoints are kept in the database only).
std::optional<std::string> CheckpointFilePath(const config::Config& config);

// `admin audit export`: events as JSON lines on stdout, by (server, seq);
// `server` empty for every chain, events with seq >= `since`.
Status ExportAuditEvents(store::CredentialStore& store, const std::string& server,
                         std::int64_t since);
// `admin audit checkpoints`: the stored checkpoints as JSON lines on stdout.
Status ExportAuditCheckpoints(store::CredentialStore& store);

}  // namespace strongroom::app
