// MySQL/MariaDB dialect of the schema (see migrations.h). Times are Unix
// milliseconds in BIGINT, as in SQLite.
//
// InnoDB for transactions, row locks and foreign keys (ON DELETE CASCADE
// removes an identity's keys and credentials). Names and key ids are
// VARBINARY so comparison, uniqueness and ORDER BY are bytewise, exactly as
// SQLite's BINARY collation (no PAD SPACE, no case folding). Ciphertext and
// wrapped keys are BLOBs; metadata is utf8mb4 text. AUTO_INCREMENT ids are not
// reused after a delete (InnoDB persists the counter since MariaDB 10.2.4 and
// MySQL 8.0). DDL is not transactional in MySQL, so a step cut short by a
// crash is simply re-run: tables are IF NOT EXISTS, and an index that exists
// already is accepted by the migration runner (MySQL 8 has no CREATE INDEX IF
// NOT EXISTS).
#include "store/internal/mysql_db.h"

namespace strongroom::store::internal {

const std::vector<Migration>& MysqlMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "identities, api_keys, credentials",
       {
           R"sql(CREATE TABLE IF NOT EXISTS identities (
  id BIGINT NOT NULL AUTO_INCREMENT,
  name VARBINARY(255) NOT NULL,
  wrapped_kek BLOB NOT NULL,
  kek_version INT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY identities_by_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
           R"sql(CREATE TABLE IF NOT EXISTS api_keys (
  key_id VARBINARY(64) NOT NULL,
  identity_id BIGINT NOT NULL,
  key_hash VARBINARY(64) NOT NULL,
  scopes BIGINT NOT NULL,
  expires_at BIGINT NULL,
  revoked_at BIGINT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (key_id),
  KEY api_keys_by_identity (identity_id),
  CONSTRAINT api_keys_identity FOREIGN KEY (identity_id) REFERENCES identities (id)
    ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
           R"sql(CREATE TABLE IF NOT EXISTS credentials (
  identity_id BIGINT NOT NULL,
  name VARBINARY(255) NOT NULL,
  credential_id VARCHAR(64) NOT NULL,
  type VARCHAR(32) NOT NULL,
  metadata_json MEDIUMTEXT NOT NULL,
  expires_at BIGINT NULL,
  last_used_at BIGINT NULL,
  last_rotated_at BIGINT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL,
  kek_version INT NOT NULL,
  ciphertext MEDIUMBLOB NOT NULL,
  wrapped_dek BLOB NOT NULL,
  PRIMARY KEY (identity_id, name),
  CONSTRAINT credentials_identity FOREIGN KEY (identity_id) REFERENCES identities (id)
    ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
       }},
      // TouchLastUsed updates by (identity_id, credential_id): a use recorded
      // for a credential deleted and re-created under its name must not land
      // on the new row. Not UNIQUE: the vault's ids are unique by
      // construction, and an index build must not fail on old data.
      {2,
       "index credentials by credential_id",
       {
           "CREATE INDEX credentials_by_credential_id ON credentials (identity_id, credential_id)",
       }},
      // --- audit ---
      // SPEC 12: one hash chain per server (servers sharing the database have
      // distinct server ids); rows are only ever inserted. Free-text fields are
      // TEXT so a long hostile name cannot make the insert fail.
      {3,
       "audit_events, audit_checkpoints",
       {
           R"sql(CREATE TABLE IF NOT EXISTS audit_events (
  server VARCHAR(255) NOT NULL,
  seq BIGINT NOT NULL,
  event_time VARCHAR(64) NOT NULL,
  request_id TEXT NULL,
  action VARCHAR(64) NOT NULL,
  identity_name TEXT NULL,
  key_id TEXT NULL,
  credential_name TEXT NULL,
  credential_id TEXT NULL,
  version BIGINT NULL,
  status BIGINT NOT NULL,
  remote TEXT NULL,
  prev CHAR(64) NOT NULL,
  hash CHAR(64) NOT NULL,
  PRIMARY KEY (server, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
           R"sql(CREATE TABLE IF NOT EXISTS audit_checkpoints (
  server VARCHAR(255) NOT NULL,
  seq BIGINT NOT NULL,
  hash CHAR(64) NOT NULL,
  checkpoint_time VARCHAR(64) NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (server, seq)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
       }},
      // --- data (AAD) ---
      // The AAD layout each envelope was sealed with (model::kCurrentAadVersion).
      // Rows written before this step used layout 1; the vault reseals them
      // to the current layout (Vault::ResealLegacyRows) and the index finds
      // the ones left cheaply at every start-up.
      {4,
       "credentials.aad_version",
       {
           "ALTER TABLE credentials ADD COLUMN aad_version INT NOT NULL DEFAULT 1",
           "CREATE INDEX credentials_by_aad_version ON credentials (aad_version)",
       }},
      // --- keys ---
      // Key state (SPEC 11), as in SQLite. One ALTER TABLE (atomic in InnoDB);
      // re-run after a crash, its duplicate-column error is accepted.
      {5,
       "master key state, KEK labels and rotation",
       {
           "ALTER TABLE identities ADD COLUMN master_key_label VARBINARY(255) NOT NULL DEFAULT '',"
           " ADD COLUMN previous_wrapped_kek BLOB NULL, ADD COLUMN previous_kek_version INT NULL,"
           " ADD COLUMN previous_master_key_label VARBINARY(255) NULL",
           R"sql(CREATE TABLE IF NOT EXISTS master_keys (
  label VARBINARY(255) NOT NULL,
  state VARCHAR(16) NOT NULL,
  created_at BIGINT NOT NULL,
  activated_at BIGINT NULL,
  retired_at BIGINT NULL,
  PRIMARY KEY (label)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin)sql",
       }},
  };
  return kMigrations;
}

}  // namespace strongroom::store::internal
