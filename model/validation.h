// Validation of names and PUT bodies (SPEC 3, SPEC 5), shared by REST and MCP.
//
// Every failure is INVALID_ARGUMENT with a specific API error code (the "error"
// string of the REST body) and a message that names the offending field but
// never repeats a secret value. Nothing here touches storage or keys.
//
// Thread safety: stateless; safe to call concurrently.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "base/clock.h"
#include "base/result.h"
#include "base/secret.h"
#include "model/credential.h"

namespace strongroom::model {

// Names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$. Error code: invalid_name.
Status ValidateName(std::string_view name);

// A validated, normalised PUT body, ready for the vault service to encrypt.
struct CredentialInput {
  CredentialType type = CredentialType::kCustom;
  // The `data` object, compact JSON, in wiping memory. TOTP seeds are
  // normalised (uppercase base32, no spaces or padding) and a TOTP
  // `otpauthUri` has been replaced by `secret`.
  SecretStdString data_json;
  // "null" or a compact JSON object (plaintext by design).
  std::string metadata_json = "null";
  std::optional<UnixMillis> expires_at;  // nullopt: no expiry
};

// Validates a PUT body {"type","data","metadata"?,"expiresAt"?}. Unknown
// top-level keys are ignored (Loomal clients send extra fields). `now` is the
// request time; an expiresAt already in the past is accepted (the credential is
// then simply expired, SPEC 5).
//
// Error codes (all INVALID_ARGUMENT, HTTP 400):
//   invalid_request        body is not a JSON object
//   invalid_type           type missing or not one of the twelve wire names
//   invalid_data           data missing, not an object, or empty
//   invalid_field          a data value is not a non-empty-keyed string
//                          (backupCodes/usedBackupCodes: arrays of strings)
//   missing_field          a required field (SPEC 3 table) missing or ""
//   invalid_metadata       metadata not an object/null, or a value not a
//                          string, number, boolean or array of strings
//   secret_in_metadata     a metadata key names a secret field (password, key,
//                          secret, totp, privateKey, ..., token, cvc,
//                          clientSecret, otpauthUri; number on a CARD; case,
//                          '_' and '-' ignored), or a metadata string (alone
//                          or in an array) contains "otpauth://" in any case
//   invalid_card_number    CARD data.number not 12-19 digits (spaces allowed)
//   invalid_card_expiry    CARD data.expMonth not 1-12 as one or two digits,
//                          or data.expYear not 2 or 4 digits
//   invalid_totp_secret    TOTP seed (TOTP data.secret, any data.totp) not
//                          base32 or under 80 bits
//   invalid_totp_algorithm metadata.algorithm not SHA1/SHA256/SHA512
//   invalid_totp_digits    metadata.digits not 6 or 8
//   invalid_totp_period    metadata.period not an integer in 1..3600
//   invalid_otpauth_uri    TOTP data.otpauthUri unusable (issue 3)
//   invalid_expires_at     expiresAt neither null nor an RFC 3339 string
// The TOTP metadata checks apply only to credentials with a seed.
//
// otpauth import: a TOTP body may give data.otpauthUri instead of data.secret.
// The seed goes to data.secret, otpauthUri is dropped, and metadata issuer,
// account, algorithm, digits and period are filled from the URI where the
// caller did not set them (the `issuer` parameter wins over the label prefix).
// Giving both secret and otpauthUri is invalid_otpauth_uri.
Result<CredentialInput> ParseCredentialInput(const nlohmann::json& body, UnixMillis now);

}  // namespace strongroom::model
