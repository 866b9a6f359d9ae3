// ParseCredentialInput, continued: metadata rules (SPEC 3), TOTP fields,
// expiresAt and the otpauth:// import (issue 3).
#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "model/validation.h"
#include "tests/model/validation_test_util.h"

namespace strongroom::model {
namespace {

using nlohmann::json;
using validation_test::Card;
using validation_test::DataOf;
using validation_test::ExpectError;
using validation_test::ExpectOk;
using validation_test::kNow;
using validation_test::kSeed;
using validation_test::kSentinel;
using validation_test::S;

TEST(ParseCredentialInputTest, InvalidMetadata) {
  json data = {{"password", S("p")}};
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", "x"}}, "invalid_metadata");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {1, 2}}}, "invalid_metadata");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{"a", {{"b", "c"}}}}}},
              "invalid_metadata");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{"a", json()}}}},
              "invalid_metadata");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{"a", {"x", 1}}}}},
              "invalid_metadata");
}

TEST(ParseCredentialInputTest, SecretInMetadata) {
  json data = {{"password", S("p")}};
  for (const char* key :
       {"password", "key", "secret", "totp", "privateKey", "passphrase", "accessToken",
        "refreshToken", "connectionString", "secretAccessKey", "sessionToken", "backupCodes",
        "Password", "private_key", "ACCESS-TOKEN"}) {
    ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{key, S("v")}}}},
                "secret_in_metadata");
  }
}

// SPEC 3's full list, each name as written, in upper and lower case, and mixed.
TEST(ParseCredentialInputTest, EverySecretFieldNameRefusedAsMetadataInAnyCase) {
  auto upper = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const json data = {{"password", S("p")}};
  for (const std::string name :
       {"password", "key", "secret", "totp", "privateKey", "passphrase", "accessToken",
        "refreshToken", "connectionString", "secretAccessKey", "sessionToken", "backupCodes",
        "usedBackupCodes", "otpauthUri", "token", "cvc", "clientSecret"}) {
    for (const std::string& key : {name, upper(name), lower(name)}) {
      for (const char* type : {"LOGIN", "CUSTOM", "CARD", "SHIPPING_ADDRESS"}) {
        json body = {{"type", type}, {"metadata", {{key, S("v")}}}};
        body["data"] =
            std::string(type) == "CARD" ? Card("4111111111111111", "1", "30")["data"] : data;
        SCOPED_TRACE(key + " on " + type);
        ExpectError(body, "secret_in_metadata");
      }
    }
  }
  for (const char* key :
       {"OtpAuthUri", "TOKEN", "Token", "cVc", "Client_Secret", "otpauth-uri", "UsedBackupCodes"}) {
    ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{key, S("v")}}}},
                "secret_in_metadata");
  }
  // Names that merely contain a secret word stay display fields.
  ExpectOk({{"type", "LOGIN"},
            {"data", {{"password", "p"}}},
            {"metadata", {{"tokenType", "bearer"}, {"clientId", "c"}, {"cvcChecked", true}}}});
}

TEST(ParseCredentialInputTest, NumberIsASecretMetadataNameOnACardOnly) {
  for (const char* key : {"number", "Number", "NUMBER", "num_ber"}) {
    ExpectError({{"type", "CARD"},
                 {"data", Card("4111111111111111", "1", "30")["data"]},
                 {"metadata", {{key, S("4111111111111111")}}}},
                "secret_in_metadata");
  }
  for (const char* type : {"LOGIN", "CUSTOM", "SHIPPING_ADDRESS", "DATABASE"}) {
    json data = {{"password", "p"}};
    if (std::string(type) == "SHIPPING_ADDRESS") {
      data = {{"name", "n"}, {"line1", "l"}, {"city", "c"}, {"postcode", "p"}, {"country", "US"}};
    } else if (std::string(type) == "CUSTOM") {
      data = {{"a", "b"}};
    }
    CredentialInput input =
        ExpectOk({{"type", type}, {"data", data}, {"metadata", {{"number", "42"}, {"Number", 7}}}});
    EXPECT_EQ(json::parse(input.metadata_json), json({{"number", "42"}, {"Number", 7}})) << type;
  }
}

TEST(ParseCredentialInputTest, OtpauthUriInAnyMetadataStringRefused) {
  const std::string uri = "otpauth://totp/Svc:me?secret=" + kSeed;
  const json data = {{"password", S("p")}};
  const json kBad[] = {
      uri,
      "OTPAUTH://totp/Svc:me?secret=" + kSeed,
      "OtpAuth://hotp/x",
      "  " + uri,
      "backup: " + uri,
      json::array({"a", uri}),
      json::array({"OTPAUTH://TOTP/x?secret=" + kSeed}),
  };
  for (const json& value : kBad) {
    for (const char* type : {"LOGIN", "TOTP"}) {
      json body = {{"type", type}, {"metadata", {{"note", value}}}};
      body["data"] = std::string(type) == "TOTP" ? json{{"secret", kSeed}} : data;
      SCOPED_TRACE(value.dump() + " on " + type);
      ExpectError(body, "secret_in_metadata");
    }
  }
  // An otpauth import whose issuer is itself an otpauth:// URI would put one
  // in metadata: refused as well.
  ExpectError({{"type", "TOTP"},
               {"data",
                {{"otpauthUri", "otpauth://totp/a?secret=" + kSeed +
                                    "&issuer=otpauth%3A%2F%2Ftotp%2Fx%3Fsecret%3D" + kSeed}}}},
              "secret_in_metadata");
  // Other schemes and the word alone are display values.
  ExpectOk({{"type", "LOGIN"},
            {"data", {{"password", "p"}}},
            {"metadata",
             {{"uri", "https://example.com/otpauth"},
              {"kind", "otpauth"},
              {"tags", {"otpauth:", "totp"}}}}});
  // Names that merely contain a secret word are display fields.
  ExpectOk({{"type", "LOGIN"},
            {"data", {{"password", "p"}}},
            {"metadata", {{"passwordHint", "h"}, {"keyType", "rsa"}, {"accessKeyId", "A"}}}});
}

// Issue 12: metadata.otpauthUri holding secret= was stored in plaintext and
// listed to read-only keys, and metadata.token was accepted. Both are refused
// under any spelling, and so is a seed carried by a percent-encoded otpauth
// URI or by any URI's secret= parameter in any metadata string.
TEST(ParseCredentialInputTest, SeedCarryingMetadataRefused) {
  const json data = {{"password", S("p")}};
  for (const char* key : {"otpauthUri", "otpauth_uri", "OTPAUTHURI", "token", "Token", "TO-KEN"}) {
    for (const std::string& value :
         {"otpauth://totp/Svc:me?secret=" + kSeed, "secret=" + kSeed, std::string("x")}) {
      SCOPED_TRACE(std::string(key) + " = " + value);
      ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{key, value}}}},
                  "secret_in_metadata");
    }
  }
  const json kBad[] = {
      "otpauth%3A%2F%2Ftotp%2FSvc%3Ame%3Fsecret%3D" + kSeed,
      "https://example.com/2fa?secret=" + kSeed,
      "https://example.com/2fa?issuer=x&SECRET=" + kSeed,
      "secret=" + kSeed,
      json::array({"ok", "totp/x?secret=" + kSeed}),
  };
  for (const json& value : kBad) {
    SCOPED_TRACE(value.dump());
    ExpectError({{"type", "LOGIN"}, {"data", data}, {"metadata", {{"uri", value}}}},
                "secret_in_metadata");
  }
  // The word in other places stays a display value.
  ExpectOk(
      {{"type", "LOGIN"},
       {"data", data},
       {"metadata", {{"note", "rotate the secret= monthly"}, {"uri", "https://x/?nosecret=1"}}}});
}

TEST(ParseCredentialInputTest, InvalidTotpSecret) {
  const std::string kBad[] = {
      S("not-base32!"),     // alphabet
      "JBSWY3DPEHPK3PX",    // 15 chars: 75 bits
      "JBSWY3DPEHPK3PX1",   // '1' is not base32
      "JBSWY3DP=EHPK3PXP",  // padding in the middle
      "JBSWY3DPEHPK3PXPA",  // 17 chars: not whole bytes
  };
  for (const std::string& seed : kBad) {
    ExpectError({{"type", "TOTP"}, {"data", {{"secret", seed}}}}, "invalid_totp_secret");
  }
  ExpectError({{"type", "LOGIN"}, {"data", {{"password", S("p")}, {"totp", "ABC"}}}},
              "invalid_totp_secret");
  ExpectError({{"type", "TOTP"}, {"data", {{"secret", kSeed}, {"totp", "AAAA"}}}},
              "invalid_totp_secret");
  ExpectError({{"type", "LOGIN"}, {"data", {{"password", S("p")}, {"totp", ""}}}},
              "invalid_totp_secret");
  // An empty TOTP secret is a missing required field, not a bad seed.
  ExpectError({{"type", "TOTP"}, {"data", {{"secret", ""}}}}, "missing_field");
}

TEST(ParseCredentialInputTest, TotpSecretIsNormalised) {
  CredentialInput input =
      ExpectOk({{"type", "TOTP"}, {"data", {{"secret", "jbsw y3dp ehpk 3pxp===="}}}});
  EXPECT_EQ(DataOf(input)["secret"], kSeed);
  input =
      ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}, {"totp", "jbswy3dpehpk3pxp"}}}});
  EXPECT_EQ(DataOf(input)["totp"], kSeed);
  EXPECT_EQ(DataOf(input)["password"], "p");
}

TEST(ParseCredentialInputTest, InvalidTotpAlgorithm) {
  json data = {{"secret", kSeed}};
  ExpectError({{"type", "TOTP"}, {"data", data}, {"metadata", {{"algorithm", "MD5"}}}},
              "invalid_totp_algorithm");
  ExpectError({{"type", "TOTP"}, {"data", data}, {"metadata", {{"algorithm", 256}}}},
              "invalid_totp_algorithm");
  ExpectError({{"type", "LOGIN"},
               {"data", {{"password", S("p")}, {"totp", kSeed}}},
               {"metadata", {{"algorithm", "SHA-1"}}}},
              "invalid_totp_algorithm");
  CredentialInput input =
      ExpectOk({{"type", "TOTP"}, {"data", data}, {"metadata", {{"algorithm", "sha512"}}}});
  EXPECT_EQ(json::parse(input.metadata_json)["algorithm"], "SHA512");
}

TEST(ParseCredentialInputTest, InvalidTotpDigits) {
  json data = {{"secret", kSeed}};
  for (json digits : {json(7), json(0), json(6.5), json("6"), json(-6)}) {
    ExpectError({{"type", "TOTP"}, {"data", data}, {"metadata", {{"digits", digits}}}},
                "invalid_totp_digits");
  }
  ExpectOk({{"type", "TOTP"}, {"data", data}, {"metadata", {{"digits", 6}}}});
  ExpectOk({{"type", "TOTP"}, {"data", data}, {"metadata", {{"digits", 8}}}});
}

TEST(ParseCredentialInputTest, InvalidTotpPeriod) {
  json data = {{"secret", kSeed}};
  for (json period : {json(0), json(-30), json(30.5), json(3601), json("30")}) {
    ExpectError({{"type", "TOTP"}, {"data", data}, {"metadata", {{"period", period}}}},
                "invalid_totp_period");
  }
  CredentialInput input =
      ExpectOk({{"type", "TOTP"}, {"data", data}, {"metadata", {{"period", 60.0}}}});
  EXPECT_EQ(input.metadata_json, R"({"period":60})");
}

TEST(ParseCredentialInputTest, TotpMetadataOnlyCheckedWhereThereIsASeed) {
  ExpectOk({{"type", "CUSTOM"},
            {"data", {{"pin", "1234"}}},
            {"metadata", {{"digits", 4}, {"algorithm", "AES"}, {"period", 0}}}});
}

TEST(ParseCredentialInputTest, ExpiresAt) {
  json data = {{"password", S("p")}};
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"expiresAt", 1767225600}}, "invalid_expires_at");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"expiresAt", "tomorrow"}}, "invalid_expires_at");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"expiresAt", "2026-13-01T00:00:00Z"}},
              "invalid_expires_at");
  ExpectError({{"type", "LOGIN"}, {"data", data}, {"expiresAt", "2026-01-01"}},
              "invalid_expires_at");

  CredentialInput none = ExpectOk({{"type", "LOGIN"}, {"data", data}, {"expiresAt", nullptr}});
  EXPECT_EQ(none.expires_at, std::nullopt);
  CredentialInput set =
      ExpectOk({{"type", "LOGIN"}, {"data", data}, {"expiresAt", "2026-01-01T01:00:00+01:00"}});
  EXPECT_EQ(set.expires_at, kNow);
  // Already past: accepted, the credential is simply expired.
  CredentialInput past =
      ExpectOk({{"type", "LOGIN"}, {"data", data}, {"expiresAt", "2020-01-01T00:00:00Z"}});
  EXPECT_LT(*past.expires_at, kNow);
}

// --- otpauth:// import (issue 3) ---

TEST(OtpauthImportTest, AllParameters) {
  CredentialInput input =
      ExpectOk({{"type", "TOTP"},
                {"data",
                 {{"otpauthUri", "otpauth://totp/ACME%20Co:alice@example.com?secret=" + kSeed +
                                     "&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60"},
                  {"backupCodes", {"a"}}}}});
  json data = DataOf(input);
  EXPECT_EQ(data, json({{"secret", kSeed}, {"backupCodes", {"a"}}}));
  EXPECT_EQ(json::parse(input.metadata_json), json({{"issuer", "ACME Co"},
                                                    {"account", "alice@example.com"},
                                                    {"algorithm", "SHA256"},
                                                    {"digits", 8},
                                                    {"period", 60}}));
}

TEST(OtpauthImportTest, PercentEncodedLabelAndNormalisedSecret) {
  CredentialInput input =
      ExpectOk({{"type", "TOTP"},
                {"data",
                 {{"otpauthUri",
                   "otpauth://totp/Example%3Aalice%40google.com?secret=jbsw%20y3dp+ehpk3pxp"}}}});
  EXPECT_EQ(DataOf(input)["secret"], kSeed);
  EXPECT_EQ(json::parse(input.metadata_json),
            json({{"issuer", "Example"}, {"account", "alice@google.com"}}));
}

TEST(OtpauthImportTest, IssuerParameterWinsOverLabel) {
  CredentialInput input = ExpectOk(
      {{"type", "TOTP"},
       {"data", {{"otpauthUri", "otpauth://totp/Old:%20bob?issuer=New&secret=" + kSeed}}}});
  json metadata = json::parse(input.metadata_json);
  EXPECT_EQ(metadata["issuer"], "New");
  EXPECT_EQ(metadata["account"], "bob");
}

TEST(OtpauthImportTest, CallerMetadataWins) {
  CredentialInput input =
      ExpectOk({{"type", "TOTP"},
                {"data", {{"otpauthUri", "otpauth://TOTP/Svc:me?secret=" + kSeed + "&digits=8"}}},
                {"metadata", {{"issuer", "Mine"}, {"digits", 6}}}});
  json metadata = json::parse(input.metadata_json);
  EXPECT_EQ(metadata["issuer"], "Mine");
  EXPECT_EQ(metadata["digits"], 6);
  EXPECT_EQ(metadata["account"], "me");
}

TEST(OtpauthImportTest, LabelWithoutIssuer) {
  CredentialInput input = ExpectOk(
      {{"type", "TOTP"}, {"data", {{"otpauthUri", "otpauth://totp/bob?secret=" + kSeed}}}});
  EXPECT_EQ(json::parse(input.metadata_json), json({{"account", "bob"}}));
}

TEST(OtpauthImportTest, BadUris) {
  const std::string kBad[] = {
      "https://example.com/?secret=" + kSeed,
      "otpauth://hotp/Svc:me?secret=" + kSeed + "&counter=1",
      "otpauth://totp",
      "otpauth://totp/Svc:me",
      "otpauth://totp/Svc:me?issuer=Svc",
      "otpauth://totp/Svc:me?secret=",
      "otpauth://totp/Svc%zz:me?secret=" + kSeed,
      "otpauth://totp/Svc%4:me?secret=" + kSeed,
      "otpauth://totp/Svc%00:me?secret=" + kSeed,
      "otpauth://totp/Svc%C3:me?secret=" + kSeed,
      "otpauth://totp/Svc:me?secret=" + kSeed + "&issuer=a%2",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&digits=7",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&digits=six",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&algorithm=MD5",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&period=0",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&period=-30",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&period=3601",
      "otpauth://totp/Svc:me?secret=" + kSeed + "&secret=" + kSeed,
      "otpauth://totp/Svc:me?secret=JBSWY3DPEHPK3PX",  // 75 bits
      "otpauth://totp/Svc:me?secret=" + std::string(kSentinel),
      "otpauth://totp/Svc:me?secret%3D" + kSeed,
  };
  for (const std::string& uri : kBad) {
    ExpectError({{"type", "TOTP"}, {"data", {{"otpauthUri", uri}}}}, "invalid_otpauth_uri");
  }
  // Both a seed and a URI: ambiguous.
  ExpectError({{"type", "TOTP"},
               {"data", {{"secret", kSeed}, {"otpauthUri", "otpauth://totp/a?secret=" + kSeed}}}},
              "invalid_otpauth_uri");
}

}  // namespace
}  // namespace strongroom::model
