#include "store/internal/migrations.h"

#include <string>

namespace strongroom::store::internal {

Status CheckMigrationList(const std::vector<Migration>& migrations) {
  if (static_cast<std::int64_t>(migrations.size()) != kSchemaVersion) {
    return InternalError("migration list does not end at schema version " +
                         std::to_string(kSchemaVersion));
  }
  for (std::size_t i = 0; i < migrations.size(); ++i) {
    const Migration& m = migrations[i];
    if (m.version != static_cast<std::int64_t>(i) + 1 || m.statements.empty()) {
      return InternalError("migration list is not dense at version " + std::to_string(i + 1));
    }
  }
  return Status::Ok();
}

Status SchemaTooNewError(std::int64_t database_version) {
  return FailedPreconditionError("database schema version " + std::to_string(database_version) +
                                     " is newer than this build supports (" +
                                     std::to_string(kSchemaVersion) + "); run a newer strongroom",
                                 "schema_too_new");
}

}  // namespace strongroom::store::internal
