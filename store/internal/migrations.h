// Versioned schema migrations, shared shape for every backend.
//
// Each backend keeps its own dialect list (SqliteMigrations() here, MysqlMigrations()
// in mysql_db.h) with the SAME version numbers: version N means the same
// logical schema everywhere, so data can be moved between backends and the
// "newer than this build" refusal means the same thing for both. A backend
// applies each step in its own transaction (where its DDL is transactional),
// records it in schema_migrations(version, applied_at), skips steps already
// recorded, and refuses a database whose highest recorded version is above
// kSchemaVersion.
//
// Adding a migration: append version kSchemaVersion + 1 to EVERY dialect list
// and bump kSchemaVersion. Never edit or reorder a released step.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace strongroom::store::internal {

// The schema version this build writes and understands.
inline constexpr std::int64_t kSchemaVersion = 5;

struct Migration {
  std::int64_t version;
  std::string_view description;
  // Run in order; one statement each (MySQL's driver runs one at a time).
  std::vector<std::string_view> statements;
};

// The SQLite dialect list: versions 1..kSchemaVersion in order.
const std::vector<Migration>& SqliteMigrations();

// INTERNAL unless `migrations` holds exactly versions 1..kSchemaVersion in
// order, each with at least one statement (a build defect, caught at open).
Status CheckMigrationList(const std::vector<Migration>& migrations);

// The refusal for a database written by a newer build:
// FAILED_PRECONDITION "schema_too_new".
Status SchemaTooNewError(std::int64_t database_version);

}  // namespace strongroom::store::internal
