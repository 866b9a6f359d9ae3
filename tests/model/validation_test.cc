#include "model/validation.h"

#include <gtest/gtest.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace strongroom::model {
namespace {

using nlohmann::json;

constexpr UnixMillis kNow = 1767225600000;  // 2026-01-01T00:00:00Z
// Every secret in the failing cases contains this, so a message that echoes a
// secret value is caught.
constexpr const char* kSentinel = "SENTINELsecret";
const std::string kSeed = "JBSWY3DPEHPK3PXP";  // 80 bits

Result<CredentialInput> Parse(const json& body) { return ParseCredentialInput(body, kNow); }

// Asserts a 400 with exactly `code`, and that no secret leaked into the message.
void ExpectError(const json& body, const std::string& code) {
  auto result = Parse(body);
  ASSERT_FALSE(result.ok()) << "accepted: " << body.dump();
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << body.dump();
  EXPECT_EQ(result.status().error_code(), code)
      << body.dump() << " -> " << result.status().ToString();
  EXPECT_FALSE(result.status().message().empty());
  EXPECT_EQ(result.status().message().find(kSentinel), std::string::npos)
      << result.status().message();
  EXPECT_EQ(result.status().message().find(kSeed), std::string::npos) << result.status().message();
}

CredentialInput ExpectOk(const json& body) {
  auto result = Parse(body);
  EXPECT_TRUE(result.ok()) << body.dump() << " -> " << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

json DataOf(const CredentialInput& input) {
  return json::parse(std::string(input.data_json.data(), input.data_json.size()));
}

std::string S(const char* prefix) { return std::string(prefix) + kSentinel; }

// --- names ---

TEST(ValidateNameTest, Valid) {
  for (std::string name : {"a", "Z", "0", "github", "A.b_c-9", "prod.db-main_1"}) {
    EXPECT_TRUE(ValidateName(name).ok()) << name;
  }
  EXPECT_TRUE(ValidateName(std::string(128, 'x')).ok());
}

TEST(ValidateNameTest, Invalid) {
  const std::string kBad[] = {
      "",    ".a",  "-a", "_a", "a b", "a/b", "a:b", "é", "a%", "a\nb", std::string(129, 'x'),
      "a@b", "../x"};
  for (const std::string& name : kBad) {
    Status s = ValidateName(name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_EQ(s.error_code(), "invalid_name") << name;
  }
  EXPECT_EQ(ValidateName(std::string_view("a\0b", 3)).error_code(), "invalid_name");
}

// --- valid bodies, all twelve types ---

TEST(ParseCredentialInputTest, ValidForEveryType) {
  const json kBodies[] = {
      {{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"metadata", {{"username", "u"}}}},
      {{"type", "LOGIN"}, {"data", {{"password", "p"}, {"totp", kSeed}}}},
      {{"type", "API_KEY"}, {"data", {{"key", "sk-123"}}}, {"metadata", {{"service", "x"}}}},
      {{"type", "API_KEY"}, {"data", {{"clientId", "id"}, {"secret", "s"}}}},
      {{"type", "OAUTH"},
       {"data", {{"accessToken", "a"}, {"refreshToken", "r"}}},
       {"metadata", {{"scopes", {"read", "write"}}, {"expiresAt", "2026-01-01T00:00:00Z"}}}},
      {{"type", "TOTP"},
       {"data",
        {{"secret", kSeed}, {"backupCodes", {"a", "b"}}, {"usedBackupCodes", json::array()}}},
       {"metadata",
        {{"issuer", "GitHub"}, {"algorithm", "SHA256"}, {"digits", 8}, {"period", 60}}}},
      {{"type", "SSH_KEY"},
       {"data", {{"privateKey", "-----BEGIN"}, {"passphrase", "x"}}},
       {"metadata", {{"keyType", "ed25519"}}}},
      {{"type", "DATABASE"}, {"data", {{"password", "p"}}}, {"metadata", {{"port", 5432}}}},
      {{"type", "DATABASE"}, {"data", {{"connectionString", "postgres://u:p@h/db"}}}},
      {{"type", "SMTP"}, {"data", {{"password", "p"}}}, {"metadata", {{"encryption", "tls"}}}},
      {{"type", "AWS"},
       {"data", {{"secretAccessKey", "s"}, {"sessionToken", "t"}}},
       {"metadata", {{"accessKeyId", "AKIA"}, {"region", "eu-west-1"}}}},
      {{"type", "CERTIFICATE"},
       {"data", {{"privateKey", "k"}}},
       {"metadata", {{"certificate", "c"}, {"chain", {"a", "b"}}}}},
      {{"type", "CARD"},
       {"data",
        {{"cardholder", "A Person"},
         {"number", "4111 1111 1111 1111"},
         {"expMonth", "09"},
         {"expYear", "2029"},
         {"cvc", "123"},
         {"zip", "94105"}}},
       {"metadata", {{"brand", "visa"}, {"last4", "1111"}}}},
      {{"type", "SHIPPING_ADDRESS"},
       {"data",
        {{"name", "A Person"},
         {"line1", "1 Main St"},
         {"line2", "Apt 2"},
         {"city", "Springfield"},
         {"state", "IL"},
         {"postcode", "62701"},
         {"country", "US"},
         {"phone", "+1 555 0100"}}},
       {"metadata", {{"label", "home"}}}},
      {{"type", "CUSTOM"}, {"data", {{"anything", "goes"}}}, {"metadata", {{"flag", true}}}},
  };
  for (const json& body : kBodies) {
    CredentialInput input = ExpectOk(body);
    EXPECT_EQ(TypeName(input.type), body["type"].get<std::string>());
    EXPECT_EQ(DataOf(input), body["data"]);
    json expected_metadata = body.contains("metadata") ? body["metadata"] : json();
    EXPECT_EQ(json::parse(input.metadata_json), expected_metadata);
    EXPECT_EQ(input.expires_at, std::nullopt);
  }
}

TEST(ParseCredentialInputTest, OutputIsCompactJson) {
  CredentialInput input = ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}}}});
  EXPECT_EQ(std::string(input.data_json.data(), input.data_json.size()), R"({"password":"p"})");
  EXPECT_EQ(input.metadata_json, "null");
  input = ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"metadata", json()}});
  EXPECT_EQ(input.metadata_json, "null");
  input = ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"metadata", {{"a", 1}}}});
  EXPECT_EQ(input.metadata_json, R"({"a":1})");
}

TEST(ParseCredentialInputTest, UnknownTopLevelKeysIgnored) {
  ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}}}, {"name", "x"}, {"tags", {1, 2}}});
}

TEST(ParseCredentialInputTest, ExtraTypedDataFieldsAllowed) {
  CredentialInput input =
      ExpectOk({{"type", "LOGIN"}, {"data", {{"password", "p"}, {"recoveryEmail", "e"}}}});
  EXPECT_EQ(DataOf(input)["recoveryEmail"], "e");
}

// --- one failing case per rule ---

TEST(ParseCredentialInputTest, InvalidRequest) {
  ExpectError(json::array({1}), "invalid_request");
  ExpectError("LOGIN", "invalid_request");
  ExpectError(json(), "invalid_request");
}

TEST(ParseCredentialInputTest, InvalidType) {
  ExpectError({{"data", {{"password", S("p")}}}}, "invalid_type");
  ExpectError({{"type", "login"}, {"data", {{"password", S("p")}}}}, "invalid_type");
  ExpectError({{"type", "PASSWORD"}, {"data", {{"password", S("p")}}}}, "invalid_type");
  ExpectError({{"type", 1}, {"data", {{"password", S("p")}}}}, "invalid_type");
}

TEST(ParseCredentialInputTest, InvalidData) {
  ExpectError({{"type", "LOGIN"}}, "invalid_data");
  ExpectError({{"type", "LOGIN"}, {"data", json::object()}}, "invalid_data");
  ExpectError({{"type", "LOGIN"}, {"data", S("p")}}, "invalid_data");
  ExpectError({{"type", "LOGIN"}, {"data", {S("p")}}}, "invalid_data");
  ExpectError({{"type", "LOGIN"}, {"data", json()}}, "invalid_data");
}

TEST(ParseCredentialInputTest, InvalidField) {
  ExpectError({{"type", "LOGIN"}, {"data", {{"password", 12345}}}}, "invalid_field");
  ExpectError({{"type", "LOGIN"}, {"data", {{"password", S("p")}, {"nested", {{"a", "b"}}}}}},
              "invalid_field");
  ExpectError({{"type", "LOGIN"}, {"data", {{"password", S("p")}, {"flag", true}}}},
              "invalid_field");
  ExpectError({{"type", "CUSTOM"}, {"data", {{"a", S("x")}, {"n", 1}}}}, "invalid_field");
  ExpectError({{"type", "CUSTOM"}, {"data", {{"", S("x")}}}}, "invalid_field");
  ExpectError({{"type", "TOTP"}, {"data", {{"secret", kSeed}, {"backupCodes", S("a")}}}},
              "invalid_field");
  ExpectError({{"type", "TOTP"}, {"data", {{"secret", kSeed}, {"backupCodes", {S("a"), 2}}}}},
              "invalid_field");
  ExpectError({{"type", "TOTP"}, {"data", {{"secret", kSeed}, {"usedBackupCodes", {""}}}}},
              "invalid_field");
  ExpectError({{"type", "TOTP"}, {"data", {{"otpauthUri", 5}}}}, "invalid_field");
  // SPEC 3: CARD fields are strings, not numbers; so are SHIPPING_ADDRESS fields.
  ExpectError(
      {{"type", "CARD"}, {"data", {{"number", S("4111")}, {"expMonth", 9}, {"expYear", "2029"}}}},
      "invalid_field");
  ExpectError(
      {{"type", "SHIPPING_ADDRESS"},
       {"data",
        {{"name", S("n")}, {"line1", "l"}, {"city", "c"}, {"postcode", 62701}, {"country", "US"}}}},
      "invalid_field");
}

TEST(ParseCredentialInputTest, MissingField) {
  const json kCases[] = {
      {{"type", "LOGIN"}, {"data", {{"username", "u"}}}},
      {{"type", "LOGIN"}, {"data", {{"password", ""}}}},
      {{"type", "API_KEY"}, {"data", {{"clientId", "id"}}}},
      {{"type", "API_KEY"}, {"data", {{"secret", S("s")}}}},
      {{"type", "API_KEY"}, {"data", {{"key", ""}, {"clientId", "id"}, {"secret", ""}}}},
      {{"type", "OAUTH"}, {"data", {{"refreshToken", S("r")}}}},
      {{"type", "TOTP"}, {"data", {{"backupCodes", {S("a")}}}}},
      {{"type", "SSH_KEY"}, {"data", {{"passphrase", S("p")}}}},
      {{"type", "DATABASE"}, {"data", {{"user", "u"}}}},
      {{"type", "SMTP"}, {"data", {{"user", "u"}}}},
      {{"type", "AWS"}, {"data", {{"sessionToken", S("t")}}}},
      {{"type", "CERTIFICATE"}, {"data", {{"certificate", "c"}}}},
      {{"type", "CUSTOM"}, {"data", {{"a", ""}}}},
  };
  for (const json& body : kCases) ExpectError(body, "missing_field");

  const json card = {{"number", S("4111111111111111")}, {"expMonth", "9"}, {"expYear", "29"}};
  for (const char* field : {"number", "expMonth", "expYear"}) {
    json data = card;
    data.erase(field);
    ExpectError({{"type", "CARD"}, {"data", data}}, "missing_field");
    data[field] = "";
    ExpectError({{"type", "CARD"}, {"data", data}}, "missing_field");
  }
  const json address = {
      {"name", S("n")}, {"line1", "l"}, {"city", "c"}, {"postcode", "p"}, {"country", "US"}};
  ExpectOk({{"type", "SHIPPING_ADDRESS"}, {"data", address}});
  for (const char* field : {"name", "line1", "city", "postcode", "country"}) {
    json data = address;
    data.erase(field);
    ExpectError({{"type", "SHIPPING_ADDRESS"}, {"data", data}}, "missing_field");
  }
}

// --- CARD formats (SPEC 3) ---

json Card(const std::string& number, const std::string& month, const std::string& year) {
  return {{"type", "CARD"}, {"data", {{"number", number}, {"expMonth", month}, {"expYear", year}}}};
}

TEST(CardTest, NumberIsTwelveToNineteenDigitsSpacesAllowed) {
  for (const std::string number :
       {"411111111111", "4111111111111111", "4111111111111111111", "4111 1111 1111 1111",
        " 4111 1111 1111 1111 ", "3782 822463 10005"}) {
    ExpectOk(Card(number, "12", "2030"));
  }
  for (const std::string& number : std::vector<std::string>{
           S("4111"), "41111111111", "41111111111111111111", "4111-1111-1111-1111",
           "4111\t1111\t1111\t1111", "411111111111111x", "   ", "４１１１１１１１１１１１"}) {
    ExpectError(Card(number, "12", "2030"), "invalid_card_number");
  }
}

TEST(CardTest, NumberIsStoredAsGiven) {
  CredentialInput input = ExpectOk(Card("4111 1111 1111 1111", "9", "29"));
  EXPECT_EQ(DataOf(input)["number"], "4111 1111 1111 1111");
  EXPECT_EQ(DataOf(input)["expMonth"], "9");
  EXPECT_EQ(DataOf(input)["expYear"], "29");
}

TEST(CardTest, ExpiryMonthAndYear) {
  const std::string number = "4111111111111111";
  for (const std::string month : {"1", "9", "09", "10", "12", "01"}) {
    ExpectOk(Card(number, month, "2030"));
  }
  for (const std::string& month : std::vector<std::string>{"0", "00", "13", "99", "009", "9a", " 9",
                                                           "+9", "-1", std::string(200, '9')}) {
    ExpectError(Card(number, month, "2030"), "invalid_card_expiry");
  }
  for (const std::string year : {"30", "2030", "00", "0000"}) ExpectOk(Card(number, "1", year));
  for (const std::string year : {"3", "203", "20300", "2o30", " 30", "30 "}) {
    ExpectError(Card(number, "1", year), "invalid_card_expiry");
  }
}

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
