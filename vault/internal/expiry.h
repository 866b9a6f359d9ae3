// Expiry of credentials (SPEC 5): after expiresAt, reads answer
// FAILED_PRECONDITION [expired] (the faces make it 410); lists still show them.
#pragma once

#include "base/clock.h"
#include "base/status.h"
#include "model/credential.h"

namespace strongroom::vault::internal {

inline Status ExpiredError() {
  return FailedPreconditionError("credential has expired", "expired");
}

// OK unless `row` has expired at `now`.
inline Status CheckNotExpired(const model::StoredCredential& row, UnixMillis now) {
  if (row.expires_at && *row.expires_at <= now) return ExpiredError();
  return Status::Ok();
}

}  // namespace strongroom::vault::internal
