// `strongroom audit verify`: the offline verifier's command line (SPEC 8, 12).
// The checks and the wording are audit::RunVerifyCommand's; this prints them
// the way every subcommand does (stdout, then main's one-line error, exit 1).
#include <cstdio>

#include "app/commands.h"
#include "audit/verifier.h"

namespace strongroom::app {

Status RunAuditVerify(const AuditVerifyOptions& options) {
  const audit::VerifyCommandOutput out = audit::RunVerifyCommand(
      options.events_path, options.checkpoints_path, options.public_key_path);
  std::fwrite(out.stdout_text.data(), 1, out.stdout_text.size(), stdout);
  if (out.exit_code == 0) return Status::Ok();
  return FailedPreconditionError(out.error, "audit_verify_failed");
}

}  // namespace strongroom::app
