// SQLite dialect of the schema (see migrations.h). Times are Unix milliseconds.
//
// Tables are STRICT so a value of the wrong type is an error, not a silent
// conversion. identities uses AUTOINCREMENT so an id is never reused after a
// delete: caches keyed by identity id (unwrapped KEKs) can never serve a
// deleted identity's key to a new one. credentials is a rowid table with its
// (identity_id, name) key as a unique index rather than WITHOUT ROWID, because
// rows can reach tens of KiB and WITHOUT ROWID suits small rows; ciphertext and
// wrapped_dek come last so listing summaries never reads their overflow pages.
#include "store/internal/migrations.h"

namespace strongroom::store::internal {

const std::vector<Migration>& SqliteMigrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "identities, api_keys, credentials",
       {
           R"sql(CREATE TABLE identities (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  wrapped_kek BLOB NOT NULL,
  kek_version INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT)sql",
           R"sql(CREATE TABLE api_keys (
  key_id TEXT NOT NULL PRIMARY KEY,
  identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  key_hash BLOB NOT NULL,
  scopes INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  created_at INTEGER NOT NULL
) STRICT)sql",
           "CREATE INDEX api_keys_by_identity ON api_keys (identity_id)",
           R"sql(CREATE TABLE credentials (
  identity_id INTEGER NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  type TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  last_rotated_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  kek_version INTEGER NOT NULL,
  ciphertext BLOB NOT NULL,
  wrapped_dek BLOB NOT NULL,
  PRIMARY KEY (identity_id, name)
) STRICT)sql",
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
      // SPEC 12: one hash chain per server; rows are only ever inserted, and
      // triggers refuse UPDATE and DELETE so no code path can rewrite them.
      {3,
       "audit_events, audit_checkpoints",
       {
           R"sql(CREATE TABLE audit_events (
  server TEXT NOT NULL,
  seq INTEGER NOT NULL,
  event_time TEXT NOT NULL,
  request_id TEXT,
  action TEXT NOT NULL,
  identity_name TEXT,
  key_id TEXT,
  credential_name TEXT,
  credential_id TEXT,
  version INTEGER,
  status INTEGER NOT NULL,
  remote TEXT,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (server, seq)
) STRICT, WITHOUT ROWID)sql",
           R"sql(CREATE TABLE audit_checkpoints (
  server TEXT NOT NULL,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  checkpoint_time TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (server, seq)
) STRICT, WITHOUT ROWID)sql",
           "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events"
           " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
           "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
           " BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
           "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints"
           " BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
           "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints"
           " BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END",
       }},
      // --- data (AAD) ---
      // The AAD layout each envelope was sealed with (model::kCurrentAadVersion).
      // Rows written before this step used layout 1; the vault reseals them
      // to the current layout (Vault::ResealLegacyRows) and the index finds
      // the ones left cheaply at every start-up.
      {4,
       "credentials.aad_version",
       {
           "ALTER TABLE credentials ADD COLUMN aad_version INTEGER NOT NULL DEFAULT 1",
           "CREATE INDEX credentials_by_aad_version ON credentials (aad_version)",
       }},
      // --- keys ---
      // Key state (SPEC 11): which master key wraps each KEK, the KEK a
      // rotation is replacing, and the master keys' states. Existing KEKs get
      // an empty label, filled with the configured hsm.master_key_label when
      // the key state is seeded (vault/key_rotation.h): nothing re-encrypted.
      {5,
       "master key state, KEK labels and rotation",
       {
           "ALTER TABLE identities ADD COLUMN master_key_label TEXT NOT NULL DEFAULT ''",
           "ALTER TABLE identities ADD COLUMN previous_wrapped_kek BLOB",
           "ALTER TABLE identities ADD COLUMN previous_kek_version INTEGER",
           "ALTER TABLE identities ADD COLUMN previous_master_key_label TEXT",
           R"sql(CREATE TABLE master_keys (
  label TEXT NOT NULL PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('active', 'previous', 'retired')),
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  retired_at INTEGER
) STRICT)sql",
       }},
  };
  return kMigrations;
}

}  // namespace strongroom::store::internal
