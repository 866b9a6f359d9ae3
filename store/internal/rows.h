// Row <-> struct mapping shared by the SQLite and MySQL backends.
//
// Both backends select the same column lists in the same order and bind write
// parameters in the same order, so the mapping lives here once, as templates
// over a small backend adapter:
//
//   Row (one result row, columns 0-based in the order of the lists below):
//     std::int64_t Int64(int col) const;
//     std::optional<std::int64_t> OptInt64(int col) const;   // nullopt for NULL
//     std::string Text(int col) const;
//     std::vector<std::uint8_t> Blob(int col) const;
//   Binder (statement parameters, 1-based, as in both C APIs):
//     void BindInt64(int idx, std::int64_t v);
//     void BindOptInt64(int idx, std::optional<std::int64_t> v);  // NULL for nullopt
//     void BindText(int idx, std::string_view v);
//     void BindBlob(int idx, const std::vector<std::uint8_t>& v);
//
// The SQL below is the portable subset both dialects accept. Names compare
// bytewise (SQLite BINARY; MySQL must declare name columns with a _bin
// collation) so ordering and uniqueness are case-sensitive everywhere.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "model/credential.h"
#include "store/credential_store.h"

namespace strongroom::store::internal {

// The type as stored in credentials.type. Pinned here, not taken from the wire
// names in model/, because it is an on-disk format.
std::string_view CredentialTypeToDb(model::CredentialType type);
std::optional<model::CredentialType> CredentialTypeFromDb(std::string_view text);

// --- identities ---
// Columns 0..4, then the key state (SPEC 11): the master key label and, while
// a KEK rotation runs, the KEK it replaces (version 0: none).
#define SR_STORE_IDENTITY_COLUMNS                                     \
  "id, name, wrapped_kek, kek_version, created_at, master_key_label," \
  " COALESCE(previous_kek_version, 0), previous_wrapped_kek, previous_master_key_label"

template <typename Row>
model::Identity DecodeIdentity(const Row& row) {
  model::Identity identity;
  identity.id = row.Int64(0);
  identity.name = row.Text(1);
  identity.wrapped_kek = row.Blob(2);
  identity.kek_version = static_cast<std::int32_t>(row.Int64(3));
  identity.created_at = row.Int64(4);
  identity.master_key_label = row.Text(5);
  identity.previous_kek_version = static_cast<std::int32_t>(row.Int64(6));
  if (identity.previous_kek_version != 0) {
    identity.previous_wrapped_kek = row.Blob(7);
    identity.previous_master_key_label = row.Text(8);
  }
  return identity;
}

// INSERT parameters 1..5 (id is assigned by the database).
#define SR_STORE_INSERT_IDENTITY                                                          \
  "INSERT INTO identities (name, wrapped_kek, kek_version, created_at, master_key_label)" \
  " VALUES (?, ?, ?, ?, ?)"

template <typename Binder>
void BindIdentityInsert(Binder& b, const model::Identity& identity) {
  b.BindText(1, identity.name);
  b.BindBlob(2, identity.wrapped_kek);
  b.BindInt64(3, identity.kek_version);
  b.BindInt64(4, identity.created_at);
  b.BindText(5, identity.master_key_label);
}

// --- API keys ---
#define SR_STORE_API_KEY_COLUMNS \
  "key_id, identity_id, key_hash, scopes, expires_at, revoked_at, created_at"

template <typename Row>
model::ApiKeyRecord DecodeApiKey(const Row& row) {
  model::ApiKeyRecord key;
  key.key_id = row.Text(0);
  key.identity_id = row.Int64(1);
  key.key_hash = row.Blob(2);
  key.scopes = static_cast<std::uint32_t>(row.Int64(3));
  key.expires_at = row.OptInt64(4);
  key.revoked_at = row.OptInt64(5);
  key.created_at = row.Int64(6);
  return key;
}

#define SR_STORE_INSERT_API_KEY \
  "INSERT INTO api_keys (" SR_STORE_API_KEY_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?)"

template <typename Binder>
void BindApiKeyInsert(Binder& b, const model::ApiKeyRecord& key) {
  b.BindText(1, key.key_id);
  b.BindInt64(2, key.identity_id);
  b.BindBlob(3, key.key_hash);
  b.BindInt64(4, static_cast<std::int64_t>(key.scopes));
  b.BindOptInt64(5, key.expires_at);
  b.BindOptInt64(6, key.revoked_at);
  b.BindInt64(7, key.created_at);
}

// --- credentials ---
// Summary columns 0..11; the full row adds the envelope as columns 12..14.
#define SR_STORE_CREDENTIAL_SUMMARY_COLUMNS                                           \
  "identity_id, name, credential_id, type, metadata_json, expires_at, last_used_at, " \
  "last_rotated_at, created_at, updated_at, version, kek_version"
#define SR_STORE_CREDENTIAL_COLUMNS \
  SR_STORE_CREDENTIAL_SUMMARY_COLUMNS ", ciphertext, wrapped_dek, aad_version"

// DATA_LOSS if the stored type is not one this build knows (a corrupt or
// foreign row; never guessed).
template <typename Row>
Result<model::StoredCredential> DecodeCredential(const Row& row, bool with_envelope) {
  model::StoredCredential c;
  c.identity_id = row.Int64(0);
  c.name = row.Text(1);
  c.credential_id = row.Text(2);
  std::optional<model::CredentialType> type = CredentialTypeFromDb(row.Text(3));
  if (!type) return DataLossError("stored credential has an unknown type");
  c.type = *type;
  c.metadata_json = row.Text(4);
  c.expires_at = row.OptInt64(5);
  c.last_used_at = row.OptInt64(6);
  c.last_rotated_at = row.OptInt64(7);
  c.created_at = row.Int64(8);
  c.updated_at = row.Int64(9);
  c.version = row.Int64(10);
  c.kek_version = static_cast<std::int32_t>(row.Int64(11));
  if (with_envelope) {
    c.ciphertext = row.Blob(12);
    c.wrapped_dek = row.Blob(13);
    c.aad_version = static_cast<std::int32_t>(row.Int64(14));
  }
  return c;
}

// INSERT and UPDATE take the same parameters in the same order (1..15), so one
// binder serves both: the written fields, then the key (identity_id, name).
#define SR_STORE_INSERT_CREDENTIAL                                                           \
  "INSERT INTO credentials (credential_id, type, metadata_json, expires_at, last_used_at, "  \
  "last_rotated_at, created_at, updated_at, version, kek_version, ciphertext, wrapped_dek, " \
  "aad_version, identity_id, name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define SR_STORE_UPDATE_CREDENTIAL                                                          \
  "UPDATE credentials SET credential_id = ?, type = ?, metadata_json = ?, expires_at = ?, " \
  "last_used_at = ?, last_rotated_at = ?, created_at = ?, updated_at = ?, version = ?, "    \
  "kek_version = ?, ciphertext = ?, wrapped_dek = ?, aad_version = ? "                      \
  "WHERE identity_id = ? AND name = ?"

template <typename Binder>
void BindCredentialWrite(Binder& b, const model::StoredCredential& c) {
  b.BindText(1, c.credential_id);
  b.BindText(2, CredentialTypeToDb(c.type));
  b.BindText(3, c.metadata_json);
  b.BindOptInt64(4, c.expires_at);
  b.BindOptInt64(5, c.last_used_at);
  b.BindOptInt64(6, c.last_rotated_at);
  b.BindInt64(7, c.created_at);
  b.BindInt64(8, c.updated_at);
  b.BindInt64(9, c.version);
  b.BindInt64(10, c.kek_version);
  b.BindBlob(11, c.ciphertext);
  b.BindBlob(12, c.wrapped_dek);
  b.BindInt64(13, c.aad_version);
  b.BindInt64(14, c.identity_id);
  b.BindText(15, c.name);
}

// Statements whose SQL is the same in the SQLite and MySQL dialects.
inline constexpr char kSchemaMaxVersionSql[] =
    "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
inline constexpr char kSchemaHasVersionSql[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
inline constexpr char kSchemaRecordVersionSql[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)";
inline constexpr char kGetIdentitySql[] =
    "SELECT " SR_STORE_IDENTITY_COLUMNS " FROM identities WHERE id = ?";
inline constexpr char kGetIdentityByNameSql[] =
    "SELECT " SR_STORE_IDENTITY_COLUMNS " FROM identities WHERE name = ?";
inline constexpr char kListIdentitiesSql[] =
    "SELECT " SR_STORE_IDENTITY_COLUMNS " FROM identities ORDER BY name";
inline constexpr char kDeleteIdentitySql[] = "DELETE FROM identities WHERE name = ?";
inline constexpr char kGetApiKeySql[] =
    "SELECT " SR_STORE_API_KEY_COLUMNS " FROM api_keys WHERE key_id = ?";
inline constexpr char kListApiKeysSql[] =
    "SELECT " SR_STORE_API_KEY_COLUMNS
    " FROM api_keys WHERE identity_id = ? ORDER BY created_at, key_id";
inline constexpr char kRevokeApiKeySql[] =
    "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE key_id = ?";
inline constexpr char kGetCredentialSql[] =
    "SELECT " SR_STORE_CREDENTIAL_COLUMNS " FROM credentials WHERE identity_id = ? AND name = ?";
// Every stored name is non-empty, so `name > ''` starts from the beginning.
inline constexpr char kListCredentialsSql[] = "SELECT " SR_STORE_CREDENTIAL_SUMMARY_COLUMNS
                                              " FROM credentials WHERE identity_id = ? AND name > ?"
                                              " ORDER BY name LIMIT ?";
inline constexpr char kCountCredentialsSql[] =
    "SELECT COUNT(*) FROM credentials WHERE identity_id = ?";
inline constexpr char kDeleteCredentialSql[] =
    "DELETE FROM credentials WHERE identity_id = ? AND name = ?";
// Keys of rows sealed with an AAD layout older than ?1, after (?2, ?3) in key
// order, at most ?4 (ResealLegacyRows).
inline constexpr char kListLegacyAadSql[] =
    "SELECT identity_id, name FROM credentials WHERE aad_version < ?"
    " AND (identity_id > ? OR (identity_id = ? AND name > ?)) ORDER BY identity_id, name LIMIT ?";

// --- key state (SPEC 11; store/internal/sql_key_state.h) ---
#define SR_STORE_MASTER_KEY_COLUMNS "label, state, created_at, activated_at, retired_at"
inline constexpr char kListMasterKeysSql[] =
    "SELECT " SR_STORE_MASTER_KEY_COLUMNS " FROM master_keys ORDER BY created_at, label";
inline constexpr char kCountMasterKeysSql[] = "SELECT COUNT(*) FROM master_keys";
inline constexpr char kInsertMasterKeySql[] =
    "INSERT INTO master_keys (" SR_STORE_MASTER_KEY_COLUMNS ") VALUES (?, ?, ?, ?, ?)";
inline constexpr char kLabelUnlabeledKeksSql[] =
    "UPDATE identities SET master_key_label = ? WHERE master_key_label = ''";
inline constexpr char kMasterKeyStateSql[] = "SELECT state FROM master_keys WHERE label = ?";
inline constexpr char kDemoteActiveMasterKeysSql[] =
    "UPDATE master_keys SET state = 'previous' WHERE state = 'active' AND label <> ?";
inline constexpr char kActivateMasterKeySql[] =
    "UPDATE master_keys SET state = 'active', activated_at = ? WHERE label = ?";
inline constexpr char kRetireMasterKeySql[] =
    "UPDATE master_keys SET state = 'retired', retired_at = COALESCE(retired_at, ?)"
    " WHERE label = ?";
inline constexpr char kCountKeksUnderSql[] =
    "SELECT COUNT(*) FROM identities WHERE master_key_label = ? OR previous_master_key_label = ?";
// Compare-and-set of an identity's KEK columns: parameters 1..6 the new
// values, 7..11 the expected ones (id, kek_version, master_key_label,
// previous_kek_version or 0, previous_master_key_label or '').
inline constexpr char kUpdateIdentityKeksSql[] =
    "UPDATE identities SET wrapped_kek = ?, kek_version = ?, master_key_label = ?,"
    " previous_wrapped_kek = ?, previous_kek_version = ?, previous_master_key_label = ?"
    " WHERE id = ? AND kek_version = ? AND master_key_label = ?"
    " AND COALESCE(previous_kek_version, 0) = ? AND COALESCE(previous_master_key_label, '') = ?";
// Parameters: 1 = identity id, 2 = previous KEK version (also 3, 4 below).
inline constexpr char kFinishKekRotationSql[] =
    "UPDATE identities SET previous_wrapped_kek = NULL, previous_kek_version = NULL,"
    " previous_master_key_label = NULL WHERE id = ? AND previous_kek_version = ?"
    " AND NOT EXISTS (SELECT 1 FROM credentials WHERE identity_id = ? AND kek_version = ?)";
inline constexpr char kPreviousKekVersionSql[] =
    "SELECT COALESCE(previous_kek_version, 0) FROM identities WHERE id = ?";

}  // namespace strongroom::store::internal
