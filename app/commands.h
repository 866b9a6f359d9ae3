// The subcommands of the `strongroom` binary (SPEC 8). main.cc parses the
// command line with CLI11 and calls one of these; each returns a Status that
// main turns into the exit code (UsageError -> 2, other errors -> 1) and a
// one-line reason on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace strongroom::app {

// A usage error (exit code 2): bad or missing arguments found after parsing.
Status UsageError(std::string message);
bool IsUsageError(const Status& status);

// Where `admin` and `serve` find the vault: a config file or a dev data dir.
struct Target {
  std::string config_path;  // --config
  std::string data_dir;     // --data-dir
};

struct ServeOptions {
  Target target;
  bool dev = false;
  std::string listen;          // --listen; empty: from config (or 127.0.0.1:8700 in dev mode)
  int threads = 0;             // --threads; 0: from config
  std::string mcp_tool_names;  // --mcp-tool-names; empty: from config ("dotted")
};
// Runs the server until SIGINT or SIGTERM. SIGINT and SIGTERM must already be
// blocked in every thread (main does it before anything else starts).
Status RunServe(const ServeOptions& options);

struct AdminOptions {
  Target target;
  std::vector<std::string> command;  // e.g. {"identity", "create"}, {"audit", "public-key"}
  std::string name;                  // identity name or key id (positional)
  std::string identity;              // --identity
  std::vector<std::string> scopes;   // --scope
  std::string ttl;                   // --ttl
  std::string audit_server;          // audit export --server
  std::int64_t audit_since = 1;      // audit export --since
  std::string new_label;             // master-key rotate --new-label
  bool dry_run = false;              // master-key rotate --dry-run
  bool destroy = false;              // master-key retire --destroy
};
Status RunAdmin(const AdminOptions& options);

// `strongroom audit verify` (SPEC 12): offline, no database, no HSM. Prints
// "verified N events, M checkpoints" on stdout when everything holds; otherwise
// an error (exit 1) naming the server, seq and what failed.
struct AuditVerifyOptions {
  std::string events_path;       // --events ("-": standard input)
  std::string checkpoints_path;  // --checkpoints
  std::string public_key_path;   // --public-key (the PEM of `admin audit public-key`)
};
Status RunAuditVerify(const AuditVerifyOptions& options);

}  // namespace strongroom::app
