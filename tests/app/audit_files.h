// Audit files for the `audit verify` tests: a chain of events of one server,
// exported as `admin audit export` does, and checkpoints signed by a signer
// (the HSM's or a software one), as audit.checkpoint_file holds them.
#pragma once

#include <fstream>
#include <string>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/event.h"

namespace strongroom::app::testing {

struct AuditFiles {
  std::string events;       // JSON lines
  std::string checkpoints;  // JSON lines
  int checkpoint_count = 0;
};

inline constexpr char kAuditServer[] = "host:8443";

// `count` reads by "alice" of "db/N"; a checkpoint after every `every` events.
// Empty events on failure.
inline AuditFiles MakeAuditFiles(audit::CheckpointSigner& signer, int count, int every) {
  AuditFiles files;
  Result<std::unique_ptr<audit::Chain>> chain = audit::Chain::Open(kAuditServer);
  if (!chain.ok()) return files;
  for (int i = 1; i <= count; ++i) {
    audit::Event event;
    event.time = "2026-12-03T08:00:00.123Z";
    event.request_id = "req-" + std::to_string(i);
    event.action = std::string(audit::action::kVaultGet);
    event.identity = "alice";
    event.key_id = "k1";
    event.credential = "db/" + std::to_string(i);
    event.credential_id = "c" + std::to_string(i);
    event.version = 1;
    event.status = 200;
    event.remote = "127.0.0.1";
    files.events += audit::EventJsonLine((*chain)->Append(std::move(event))) + "\n";
    if (i % every != 0) continue;
    Result<audit::Checkpoint> checkpoint =
        audit::MakeCheckpoint(signer, kAuditServer, (*chain)->Head(), "2026-12-03T08:00:01.000Z");
    if (!checkpoint.ok()) return AuditFiles{};
    files.checkpoints += audit::CheckpointJsonLine(*checkpoint) + "\n";
    ++files.checkpoint_count;
  }
  return files;
}

inline void WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// `events` with one byte of event `seq`'s line changed (its identity "alice"
// becomes "alicf").
inline std::string TamperEvent(std::string events, int seq) {
  const std::size_t line = events.find("{\"seq\":" + std::to_string(seq) + ",");
  const std::size_t at = events.find("\"alice\"", line);
  if (line != std::string::npos && at != std::string::npos) events[at + 5] = 'f';
  return events;
}

}  // namespace strongroom::app::testing
