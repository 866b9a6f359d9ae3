// The schema migration runner shared by the SQL store (sql_store.h) and its
// backends, written over the session adapter and statement helpers of
// sql_session.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/result.h"
#include "store/internal/migrations.h"
#include "store/internal/sql_session.h"

namespace strongroom::store::internal {

// Applies the `migrations` `s` has not recorded yet. `run_step(step)` runs
// each step (a callable returning Status) as the backend makes it atomic or
// safe to repeat (SQLite: in its own transaction; MySQL: as it is, under the
// migration lock). The step re-reads the versions first, so two processes
// migrating one database at once do not both apply it.
template <SqlSession Session, typename RunStep>
Status MigrateSchema(Session& s, const std::vector<Migration>& migrations,
                     const char* create_migrations_table, const Clock& clock, RunStep&& run_step) {
  SR_RETURN_IF_ERROR(CheckMigrationList(migrations));
  SR_RETURN_IF_ERROR(s.Exec(create_migrations_table, "creating schema_migrations"));
  auto current_version = [&s]() -> Result<std::int64_t> {
    SR_ASSIGN_OR_RETURN(std::optional<std::int64_t> version,
                        QueryInt64(s, SqlId::kSchemaMaxVersion, "reading schema version"));
    if (!version) return InternalError("reading schema version: no result");
    if (*version > kSchemaVersion) return SchemaTooNewError(*version);
    return *version;
  };
  SR_ASSIGN_OR_RETURN(std::int64_t current, current_version());
  if (current == kSchemaVersion) return Status::Ok();
  for (const Migration& migration : migrations) {
    SR_RETURN_IF_ERROR(run_step([&]() -> Status {
      SR_RETURN_IF_ERROR(current_version().status());
      SR_ASSIGN_OR_RETURN(
          std::optional<std::int64_t> applied,
          QueryInt64(s, SqlId::kSchemaHasVersion, "reading schema_migrations", migration.version));
      if (applied) return Status::Ok();
      const std::string what = "applying schema migration " + std::to_string(migration.version);
      for (std::string_view sql : migration.statements) {
        SR_RETURN_IF_ERROR(s.Exec(std::string(sql).c_str(), what));
      }
      return ExecuteStatement(s, SqlId::kSchemaRecordVersion, "recording schema migration",
                              [&](auto& stmt) {
                                stmt.BindInt64(1, migration.version);
                                stmt.BindInt64(2, clock.NowMillis());
                              })
          .status();
    }));
  }
  return Status::Ok();
}

}  // namespace strongroom::store::internal
