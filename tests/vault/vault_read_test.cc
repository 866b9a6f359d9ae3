// vault::Vault: expiry, integrity, outages, TOTP and backup codes, the keyed
// fast path of Get and Totp (same answers, same errors in the same order), and
// the deleted-identity sweep.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "tests/vault/vault_fixture.h"
#include "vault/vault.h"

namespace strongroom::vault {
namespace {

using nlohmann::json;
using testing::ExpectError;

class VaultReadTest : public testing::VaultFixture {
 protected:
  static json Data(const OpenedCredential& opened) {
    return json::parse(opened.data.begin(), opened.data.end());
  }
  static Caller WithKey(const std::string& header) { return Caller::WithAuthorization(header); }
};

TEST_F(VaultReadTest, ExpiredCredentialsAnswer410ButAreListed) {
  json body = TotpBody({"one"});
  body["expiresAt"] = FormatRfc3339(clock_.NowMillis() + 60'000);
  Put(alice_, "otp", body);
  EXPECT_TRUE(vault_->Get(alice_, "otp").ok());
  clock_.Advance(60'000);
  ExpectError(vault_->Get(alice_, "otp").status(), StatusCode::kFailedPrecondition, "expired");
  ExpectError(vault_->Totp(alice_, "otp").status(), StatusCode::kFailedPrecondition, "expired");
  ExpectError(vault_->PopBackupCode(alice_, "otp").status(), StatusCode::kFailedPrecondition,
              "expired");
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_EQ(listed->credentials.size(), 1u);
  EXPECT_EQ(FormatRfc3339(*listed->credentials[0].expires_at),
            body["expiresAt"].get<std::string>());
}

TEST_F(VaultReadTest, TamperedCiphertextIsAnIntegrityError) {
  Put(alice_, "stripe", ApiKeyBody());
  Put(alice_, "other", ApiKeyBody("sk_other"));
  // Move "other"'s envelope onto "stripe": the AAD binds the name, so it must not open.
  auto other = store_->inner().GetCredential(alice_.identity_id, "other");
  ASSERT_TRUE(other.ok());
  auto moved = store_->inner().Mutate(alice_.identity_id, "stripe",
                                      [&](const std::optional<model::StoredCredential>& existing)
                                          -> Result<model::StoredCredential> {
                                        model::StoredCredential row = *existing;
                                        row.ciphertext = other->ciphertext;
                                        row.wrapped_dek = other->wrapped_dek;
                                        return row;
                                      });
  ASSERT_TRUE(moved.ok());
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kDataLoss, "integrity_error");
  ExpectError(vault_->Totp(alice_, "stripe").status(), StatusCode::kDataLoss, "integrity_error");
}

TEST_F(VaultReadTest, DependencyOutagesAreUnavailable) {
  Put(alice_, "stripe", ApiKeyBody());
  keys_.Fail(UnavailableError("HSM session open failed: CKR_DEVICE_ERROR"));
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kUnavailable, "hsm_unavailable");
  ExpectError(TryPut(alice_, "x", ApiKeyBody()).status(), StatusCode::kUnavailable,
              "hsm_unavailable");
  Readiness ready = vault_->CheckReadiness();
  EXPECT_FALSE(ready.ready());
  EXPECT_TRUE(ready.store_ok);
  EXPECT_FALSE(ready.hsm_ok);
  keys_.Fail(std::nullopt);
  ready = vault_->CheckReadiness();
  EXPECT_TRUE(ready.ready());
  EXPECT_TRUE(ready.store_ok);
  EXPECT_TRUE(ready.hsm_ok);
  store_->Fail(UnavailableError("disk gone", "store_unavailable"));
  ExpectError(vault_->Get(alice_, "stripe").status(), StatusCode::kUnavailable,
              "store_unavailable");
  ready = vault_->CheckReadiness();
  EXPECT_FALSE(ready.ready());
  EXPECT_FALSE(ready.store_ok);
}

TEST_F(VaultReadTest, TotpCodeMatchesRfc6238) {
  Put(alice_, "otp", TotpBody({"a1", "b2"}));
  clock_.Set(59'000);  // RFC 6238 appendix B: T = 59 s, SHA1, 8 digits -> 94287082
  auto code = vault_->Totp(alice_, "otp");
  ASSERT_TRUE(code.ok()) << code.status().ToString();
  EXPECT_EQ(code->code, "94287082");
  EXPECT_EQ(code->remaining, 1);
  EXPECT_EQ(code->backup_codes_remaining, 2u);
  EXPECT_EQ(code->digits, 8);
  EXPECT_EQ(code->period, 30);
  Put(alice_, "plain", ApiKeyBody());
  ExpectError(vault_->Totp(alice_, "plain").status(), StatusCode::kInvalidArgument, "not_totp");
  ExpectError(vault_->PopBackupCode(alice_, "plain").status(), StatusCode::kInvalidArgument,
              "not_totp");
  // The opened data is as stored; the renderers redact seeds (render_test.cc).
  auto got = vault_->Get(alice_, "otp");
  EXPECT_EQ(Data(*got)["secret"], "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST_F(VaultReadTest, BackupCodesPopInOrderUntilNoneLeft) {
  PutOutcome put = Put(alice_, "otp", TotpBody({"first", "second"}));
  clock_.Advance(1000);
  auto one = vault_->PopBackupCode(alice_, "otp");
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(one->code, "first");
  EXPECT_EQ(one->remaining, 1u);
  auto two = vault_->PopBackupCode(alice_, "otp");
  EXPECT_EQ(two->code, "second");
  EXPECT_EQ(two->remaining, 0u);
  ExpectError(vault_->PopBackupCode(alice_, "otp").status(), StatusCode::kFailedPrecondition,
              "no_backup_codes");
  auto got = vault_->Get(alice_, "otp");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->credential.version, 3);
  EXPECT_EQ(got->credential.created_at, put.credential.created_at);
  EXPECT_FALSE(got->credential.last_rotated_at.has_value());
  EXPECT_EQ(Data(*got)["usedBackupCodes"], (json{"first", "second"}));
  EXPECT_EQ(Data(*got)["backupCodes"], json::array());
  ExpectError(vault_->PopBackupCode(alice_, "missing").status(), StatusCode::kNotFound,
              "not_found");
}

// Get with an unchecked header (the REST GET path: key and credential in one
// store read) answers what Authenticate + Get answers, and records the use.
TEST_F(VaultReadTest, GetWithKeyIsAuthenticatePlusGet) {
  const std::string key = Key("alice", model::kScopeRead | model::kScopeWrite);
  Put(alice_, "stripe", ApiKeyBody());
  Put(alice_, "otp", TotpBody({"11111111"}));
  for (const std::string name : {"stripe", "otp"}) {
    clock_.Advance(1000);
    auto expected = vault_->Get(alice_, name);
    ASSERT_TRUE(expected.ok()) << name;
    auto got = vault_->Get(WithKey("Bearer " + key), name);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().ToString();
    EXPECT_EQ(got->credential.credential_id, expected->credential.credential_id);
    EXPECT_EQ(got->credential.last_used_at, expected->credential.last_used_at);
    EXPECT_EQ(Data(*got), Data(*expected));
  }
  clock_.Advance(1000);
  auto got = vault_->Get(WithKey("Bearer " + key), "stripe");
  ASSERT_TRUE(got.ok());
  vault_->FlushTouches();
  auto listed = vault_->List(alice_, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok());
  for (const auto& item : listed->credentials) {
    if (item.name == "stripe") {
      EXPECT_EQ(item.last_used_at, got->credential.last_used_at);
    }
  }
}

TEST_F(VaultReadTest, GetWithKeyErrorsInAuthenticateThenGetOrder) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  const std::string revoked = Key("alice", model::kScopeRead);
  ASSERT_TRUE(RevokeApiKey(*store_, revoked.substr(3, 16), clock_).ok());
  const std::string expiring = Key("alice", model::kScopeRead, 1);
  Put(alice_, "stripe", ApiKeyBody());
  json soon = ApiKeyBody();
  soon["expiresAt"] = FormatRfc3339(clock_.NowMillis() + 60'000);
  Put(alice_, "soon", soon);
  Put(bob_, "bobs", ApiKeyBody());
  clock_.Advance(61'000);
  const std::string wrong_secret =
      reader.substr(0, reader.size() - 1) + (reader.back() == 'A' ? "B" : "A");
  // Every bad key is the same 401, whether or not the credential exists.
  for (const std::string& header :
       {std::string(), std::string("Bearer garbage"), "Token " + reader, "Bearer " + wrong_secret,
        "Bearer sr_0000000000000000" + reader.substr(19), "Bearer " + revoked,
        "Bearer " + expiring}) {
    for (const std::string name : {"stripe", "missing"}) {
      auto result = vault_->Get(WithKey(header), name);
      ASSERT_FALSE(result.ok()) << header;
      ExpectError(result.status(), StatusCode::kUnauthenticated, "unauthorized");
      EXPECT_EQ(result.status().message(), "invalid or missing API key");
    }
  }
  // Scope before existence: a write-only key learns nothing about names.
  for (const std::string name : {"stripe", "missing"}) {
    ExpectError(vault_->Get(WithKey("Bearer " + writer), name).status(),
                StatusCode::kPermissionDenied, "insufficient_scope");
  }
  ExpectError(vault_->Get(WithKey("Bearer " + reader), "missing").status(), StatusCode::kNotFound,
              "not_found");
  // Another identity's credential of that name is not found, not leaked.
  ExpectError(vault_->Get(WithKey("Bearer " + reader), "bobs").status(), StatusCode::kNotFound,
              "not_found");
  ExpectError(vault_->Get(WithKey("Bearer " + reader), "soon").status(),
              StatusCode::kFailedPrecondition, "expired");
  EXPECT_TRUE(vault_->Get(WithKey("bearer   " + reader + " "), "stripe").ok());
  // Store outages are not disguised as 401.
  store_->Fail(UnavailableError("down", "store_unavailable"));
  ExpectError(vault_->Get(WithKey("Bearer " + reader), "stripe").status(), StatusCode::kUnavailable,
              "store_unavailable");
  store_->Fail(std::nullopt);
}

// Totp with an unchecked header (the REST TOTP path) == Authenticate + Totp, errors included.
TEST_F(VaultReadTest, TotpWithKeyIsAuthenticatePlusTotp) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  Put(alice_, "otp", TotpBody({"11111111", "22222222"}));
  Put(alice_, "stripe", ApiKeyBody());
  Put(bob_, "bobs-otp", TotpBody());
  auto expected = vault_->Totp(Auth(reader), "otp");
  ASSERT_TRUE(expected.ok());
  auto got = vault_->Totp(WithKey("Bearer " + reader), "otp");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->code, expected->code);
  EXPECT_EQ(got->remaining, expected->remaining);
  EXPECT_EQ(got->digits, expected->digits);
  EXPECT_EQ(got->period, expected->period);
  EXPECT_EQ(got->backup_codes_remaining, 2u);
  for (const std::string name : {"otp", "missing"}) {
    ExpectError(vault_->Totp(WithKey("Bearer nope"), name).status(), StatusCode::kUnauthenticated,
                "unauthorized");
    ExpectError(vault_->Totp(WithKey("Bearer " + writer), name).status(),
                StatusCode::kPermissionDenied, "insufficient_scope");
  }
  ExpectError(vault_->Totp(WithKey("Bearer " + reader), "bobs-otp").status(), StatusCode::kNotFound,
              "not_found");
  auto not_totp = vault_->Totp(WithKey("Bearer " + reader), "stripe");
  auto not_totp_expected = vault_->Totp(Auth(reader), "stripe");
  ASSERT_FALSE(not_totp.ok());
  EXPECT_EQ(not_totp.status().ToString(), not_totp_expected.status().ToString());
}

// An identity deleted behind the server's back (the admin CLI is another
// process) has its cached keys wiped here too once the sweep notices.
TEST_F(VaultReadTest, DeletedIdentitiesAreForgottenAndTheirKeysEvicted) {
  Put(alice_, "a", ApiKeyBody());
  Put(bob_, "b", ApiKeyBody());
  ASSERT_TRUE(vault_->Get(alice_, "a").ok());
  ASSERT_TRUE(vault_->Get(bob_, "b").ok());
  vault_->ForgetDeletedIdentities();
  EXPECT_TRUE(keys_.evicted.empty());  // both still exist
  ASSERT_TRUE(store_->DeleteIdentity("bob").ok());
  vault_->ForgetDeletedIdentities();
  EXPECT_EQ(keys_.evicted, std::vector<std::int64_t>{bob_.identity_id});
  vault_->ForgetDeletedIdentities();  // once only
  EXPECT_EQ(keys_.evicted.size(), 1u);
  EXPECT_TRUE(vault_->Get(alice_, "a").ok());
  // Store outages leave the caches alone.
  store_->Fail(UnavailableError("down", "store_unavailable"));
  vault_->ForgetDeletedIdentities();
  store_->Fail(std::nullopt);
  EXPECT_EQ(keys_.evicted.size(), 1u);
}

// A corrupt row (a type this build does not know) is reported only to a caller
// who passes the key and scope checks: 401 and 403 come first, as before.
TEST_F(VaultReadTest, CorruptRowIsReportedOnlyAfterKeyAndScope) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  Put(alice_, "bent", ApiKeyBody());
  sqlite3* db = nullptr;
  const std::string path = dir_.path() + "/vault.db";
  ASSERT_EQ(::sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ::sqlite3_busy_timeout(db, 5000);
  ASSERT_EQ(::sqlite3_exec(db, "UPDATE credentials SET type = 'BOGUS' WHERE name = 'bent'", nullptr,
                           nullptr, nullptr),
            SQLITE_OK);
  ::sqlite3_close(db);
  for (const std::string name : {"bent", "missing"}) {
    ExpectError(vault_->Get(WithKey("Bearer nope"), name).status(), StatusCode::kUnauthenticated,
                "unauthorized");
    ExpectError(vault_->Get(WithKey("Bearer " + writer), name).status(),
                StatusCode::kPermissionDenied, "insufficient_scope");
  }
  ExpectError(vault_->Get(WithKey("Bearer " + reader), "bent").status(), StatusCode::kDataLoss,
              "integrity_error");
  ExpectError(vault_->Totp(WithKey("Bearer " + writer), "bent").status(),
              StatusCode::kPermissionDenied, "insufficient_scope");
}

// SPEC 4: a wrong key is refused before anything about the name is looked at.
// For an existing and a missing name the vault makes the same store calls,
// the key check fails inside the one keyed read, and nothing is decrypted.
TEST_F(VaultReadTest, WrongKeyTakesTheSamePathWhetherTheNameExistsOrNot) {
  const std::string reader = Key("alice", model::kScopeRead);
  const std::string writer = Key("alice", model::kScopeWrite);
  Put(alice_, "stripe", ApiKeyBody());
  Put(alice_, "otp", TotpBody());
  const std::string wrong_secret =
      reader.substr(0, reader.size() - 1) + (reader.back() == 'A' ? "B" : "A");
  struct Trace {
    int keyed_reads, checks_passed, checks_failed, opens;
    StatusCode code;
    std::string message;
    bool operator==(const Trace&) const = default;
  };
  auto trace = [&](const std::string& header, const std::string& name, bool totp) {
    store_->keyed_reads = 0;
    store_->key_checks_passed = 0;
    store_->key_checks_failed = 0;
    keys_.opens = 0;
    Status status = totp ? vault_->Totp(WithKey(header), name).status()
                         : vault_->Get(WithKey(header), name).status();
    return Trace{
        store_->keyed_reads, store_->key_checks_passed, store_->key_checks_failed, keys_.opens,
        status.code(),       status.message()};
  };
  for (bool totp : {false, true}) {
    SCOPED_TRACE(totp ? "totp" : "get");
    const std::string existing = totp ? "otp" : "stripe";
    for (const std::string& header : {"Bearer " + wrong_secret, "Bearer " + writer}) {
      Trace hit = trace(header, existing, totp);
      Trace miss = trace(header, "missing", totp);
      EXPECT_TRUE(hit == miss) << header;
      EXPECT_EQ(hit.keyed_reads, 1);
      EXPECT_EQ(hit.checks_passed, 0);
      EXPECT_GE(hit.checks_failed, 1);
      EXPECT_EQ(hit.opens, 0);
      EXPECT_NE(hit.code, StatusCode::kOk);
    }
    EXPECT_EQ(trace("Bearer " + wrong_secret, existing, totp).code, StatusCode::kUnauthenticated);
    EXPECT_EQ(trace("Bearer " + writer, existing, totp).code, StatusCode::kPermissionDenied);
    // The right key passes the check and opens the existing credential only.
    EXPECT_EQ(trace("Bearer " + reader, existing, totp).opens, 1);
    EXPECT_EQ(trace("Bearer " + reader, "missing", totp).opens, 0);
  }
}

}  // namespace
}  // namespace strongroom::vault
