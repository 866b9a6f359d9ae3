// The offline audit verifier (SPEC 12, `strongroom audit verify`): checks exported events
// and checkpoints against the checkpoint key's public half, with no database and no HSM.
//
// Events: JSON lines (EventJsonLine), possibly several servers' chains interleaved; each
// server's chain is checked on its own: every event's hash matches its content, seqs run
// 1, 2, ... in file order, and each `prev` is the previous event's hash. Checkpoints: JSON
// lines (CheckpointJsonLine); each signature must verify, and each checkpoint's (server, seq)
// must be an event in the file whose hash is the checkpoint's, so deleting the newest events
// (or rewriting the chain) after a checkpoint is caught. Blank lines are ignored.
//
// The verdict is the FIRST failure: the events file is checked first, in line order, then the
// checkpoints in line order. Memory is O(servers + checkpoints), so large exports stream.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace strongroom::audit {

enum class FailureKind {
  kMalformed,     // a line is not a valid event or checkpoint record
  kChanged,       // an event's hash does not match its content, or the next event's prev
  kMissing,       // a gap in a server's seqs
  kReordered,     // a seq out of order: backwards, repeated, or ahead of one that comes later
  kBadSignature,  // a checkpoint's signature does not verify
  kTruncated,     // a checkpoint points past the server's last event, or to a different hash
};

// "malformed", "changed", "missing", "reordered", "bad signature",
// "truncated after a checkpoint".
std::string_view FailureKindName(FailureKind kind);

struct VerifyFailure {
  FailureKind kind = FailureKind::kMalformed;
  bool in_checkpoints = false;  // the line is in the checkpoints file (else the events file)
  std::int64_t line = 0;        // 1-based line number in that file
  std::string server;           // empty for a malformed line
  std::int64_t seq = 0;         // the first bad seq; 0 for a malformed line
  std::string detail;           // log-safe explanation, e.g. "seq 4 follows seq 2"
};

struct VerifyReport {
  std::int64_t events = 0;       // event lines read
  std::int64_t checkpoints = 0;  // checkpoint lines read
  std::optional<VerifyFailure> failure;

  bool ok() const { return !failure.has_value(); }
};

// Verifies `events` and `checkpoints` (JSON lines) against `public_key_pem` (the output of
// `admin audit public-key`). The Result is an error only when verification cannot start or
// finish: InvalidArgument for a key that is not a P-256 PEM public key, Unavailable for a
// stream that fails while reading. A broken chain is an OK Result with `failure` set.
Result<VerifyReport> Verify(std::istream& events, std::istream& checkpoints,
                            std::string_view public_key_pem);
Result<VerifyReport> Verify(std::string_view events, std::string_view checkpoints,
                            std::string_view public_key_pem);

// What `strongroom audit verify` prints and returns, so the CLI is a few lines:
//   exit 0, stdout "verified N events, M checkpoints\n" when the report is OK;
//   exit 1, error "audit verification failed: server \"S\" seq Q: KIND (DETAIL)" for a failure
//     ("... failed: events line L: malformed (DETAIL)" for a malformed line; the server is
//     JSON-quoted so a hostile name cannot forge a line);
//   exit 1, error = the Status message when verification could not run.
// The CLI prints `error` as its one-line stderr reason ("strongroom: error: ...").
struct VerifyCommandOutput {
  int exit_code = 0;
  std::string stdout_text;
  std::string error;
};
VerifyCommandOutput FormatVerifyResult(const Result<VerifyReport>& result);

// The whole command: reads the three files (events "-" means standard input), verifies and
// formats. A file that cannot be opened is an error naming the option and path, exit 1.
VerifyCommandOutput RunVerifyCommand(const std::string& events_path,
                                     const std::string& checkpoints_path,
                                     const std::string& public_key_path);

}  // namespace strongroom::audit
