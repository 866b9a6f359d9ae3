#include "model/validation.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/model/validation_test_util.h"

namespace strongroom::model {
namespace {

using nlohmann::json;
using validation_test::Card;
using validation_test::DataOf;
using validation_test::ExpectError;
using validation_test::ExpectOk;
using validation_test::kSeed;
using validation_test::S;

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

}  // namespace
}  // namespace strongroom::model
