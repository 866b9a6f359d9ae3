#include "app/audit_setup.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "audit/event.h"
#include "store/credential_store.h"

namespace strongroom::app {
namespace {

std::string HostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

vault::AuditMode ModeOf(const config::Config& config) {
  return vault::ParseAuditMode(config.audit.mode).value_or(vault::AuditMode::kSync);
}

}  // namespace

vault::AuditOptions ServerAuditOptions(const config::Config& config, std::uint16_t port) {
  vault::AuditOptions options;
  options.mode = ModeOf(config);
  options.server_id = config.audit.server_id.empty() ? HostName() + ":" + std::to_string(port)
                                                     : config.audit.server_id;
  return options;
}

vault::AuditOptions AdminAuditOptions(const config::Config& config) {
  return vault::AuditOptions{ModeOf(config), "admin@" + HostName()};
}

std::optional<std::string> CheckpointFilePath(const config::Config& config) {
  if (!config.audit.checkpoint_file.empty()) return config.audit.checkpoint_file;
  if (config.store.backend != "sqlite") return std::nullopt;
  return (std::filesystem::path(config.store.path).parent_path() / "audit-checkpoints.jsonl")
      .string();
}

Status ExportAuditEvents(store::CredentialStore& store, const std::string& server,
                         std::int64_t since) {
  store::AuditQuery query;
  query.server = server;
  query.since = since;
  while (true) {
    SR_ASSIGN_OR_RETURN(std::vector<store::AuditRecord> page, store.ListAuditEvents(query));
    for (const store::AuditRecord& record : page) {
      const std::string line = audit::EventJsonLine(vault::AuditEventOf(record));
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
    if (page.size() < static_cast<std::size_t>(query.limit)) break;
    query.after_server = page.back().server;
    query.after_seq = page.back().seq;
  }
  return std::fflush(stdout) == 0 ? Status::Ok() : UnavailableError("cannot write to stdout");
}

Status ExportAuditCheckpoints(store::CredentialStore& store) {
  SR_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpointRecord> stored,
                      store.ListAuditCheckpoints());
  for (const store::AuditCheckpointRecord& c : stored) {
    const std::string line =
        audit::CheckpointJsonLine(audit::Checkpoint{c.server, c.seq, c.hash, c.time, c.signature});
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
  }
  return std::fflush(stdout) == 0 ? Status::Ok() : UnavailableError("cannot write to stdout");
}

}  // namespace strongroom::app
