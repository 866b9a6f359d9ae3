// Progress of a rotation (vault/key_rotation.h): one place that counts a
// rewrap, reports it and applies the tests' stop hook.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "vault/key_rotation.h"

namespace strongroom::vault::internal {

// Counts one rewrap in `*done` and reports (done, total); ABORTED once
// options.stop_after is reached (tests simulate an interruption with it).
inline Status CountRewrap(const RotationOptions& options, std::int64_t* done, std::int64_t total) {
  ++*done;
  if (options.progress) options.progress(*done, total);
  if (options.stop_after >= 0 && *done >= options.stop_after) {
    return AbortedError("stopped after " + std::to_string(*done) + " rewraps (test hook)");
  }
  return Status::Ok();
}

}  // namespace strongroom::vault::internal
