// The end-to-end suite, continued (issues 11 and 12): the CARD and
// SHIPPING_ADDRESS types, SPEC 3's metadata rules (secret field names in any
// case, otpauth:// values) and the TOTP code lists a GET always shows, over
// REST and MCP, on every backend (see e2e_suite.h).
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/e2e/e2e_suite.h"
#include "tests/e2e/mcp_call.h"
#include "tests/testing/http_client.h"

namespace strongroom::e2e {
namespace {

using nlohmann::json;
using testing::HttpResponse;

const std::string kSeed = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

json CardData(const std::string& number, const std::string& month, const std::string& year) {
  return {{"number", number}, {"expMonth", month}, {"expYear", year}};
}

json AddressData() {
  return {{"name", "A Person"},
          {"line1", "1 Main St"},
          {"city", "Springfield"},
          {"postcode", "62701"},
          {"country", "US"}};
}

// A valid body of `type` with `metadata`.
json BodyWithMetadata(const std::string& type, const json& metadata) {
  json body = {{"type", type}, {"metadata", metadata}};
  if (type == "CARD") {
    body["data"] = CardData("4111111111111111", "12", "30");
  } else if (type == "SHIPPING_ADDRESS") {
    body["data"] = AddressData();
  } else if (type == "TOTP") {
    body["data"] = {{"secret", kSeed}};
  } else {
    body["data"] = {{"password", "pw"}};
  }
  return body;
}

TEST_P(E2eTest, CardAndShippingAddressStoreAndRead) {
  const json card = {{"cardholder", "A Person"},
                     {"number", "5500 0000 0000 0004"},
                     {"expMonth", "09"},
                     {"expYear", "29"},
                     {"cvc", "321"},
                     {"zip", "94105"}};
  HttpResponse put = Put("card-e2e", {{"type", "CARD"},
                                      {"data", card},
                                      {"metadata", {{"brand", "mastercard"}, {"last4", "0004"}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Body(put)["type"], "CARD");
  EXPECT_EQ(Body(put)["created"], true);
  HttpResponse got = Get("card-e2e");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Body(got)["type"], "CARD");
  // Nothing of a card is redacted (SPEC 5); the number keeps its spaces.
  EXPECT_EQ(Body(got)["data"], card);
  EXPECT_EQ(Body(got)["metadata"], (json{{"brand", "mastercard"}, {"last4", "0004"}}));

  json address = AddressData();
  address["phone"] = "+1 555 0100";
  put = Put("address-e2e",
            {{"type", "SHIPPING_ADDRESS"}, {"data", address}, {"metadata", {{"label", "home"}}}});
  ASSERT_EQ(put.status, 200) << put.body;
  got = Get("address-e2e");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Body(got)["type"], "SHIPPING_ADDRESS");
  EXPECT_EQ(Body(got)["data"], address);
  EXPECT_EQ(Body(got)["metadata"], (json{{"label", "home"}}));

  // The list shows both with their metadata and no data.
  HttpResponse list = client_->Get("/v0/vault?limit=1000", key_);
  ASSERT_EQ(list.status, 200) << list.body;
  const json listed = Body(list);
  int seen = 0;
  for (const json& c : listed["credentials"]) {
    EXPECT_FALSE(c.contains("data")) << c.dump();
    if (c["name"] == "card-e2e" || c["name"] == "address-e2e") ++seen;
  }
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(list.body.find("5500 0000"), std::string::npos);

  // The same over MCP.
  json mcp = McpCall(*client_, key_, "vault.get", {{"name", "card-e2e"}});
  EXPECT_EQ(mcp["isError"], false) << mcp.dump();
  EXPECT_EQ(mcp["structuredContent"]["data"], card);
}

TEST_P(E2eTest, CardAndShippingAddressValidationCodes) {
  struct Case {
    std::string why;
    json body;
    std::string code;
  };
  auto card = [](const json& data) { return json{{"type", "CARD"}, {"data", data}}; };
  auto address_without = [](const char* field) {
    json data = AddressData();
    data.erase(field);
    return json{{"type", "SHIPPING_ADDRESS"}, {"data", data}};
  };
  json numeric_postcode = AddressData();
  numeric_postcode["postcode"] = 62701;
  const std::vector<Case> cases = {
      {"card without number", card({{"expMonth", "1"}, {"expYear", "30"}}), "missing_field"},
      {"card without expMonth", card({{"number", "4111111111111111"}, {"expYear", "30"}}),
       "missing_field"},
      {"card without expYear", card({{"number", "4111111111111111"}, {"expMonth", "1"}}),
       "missing_field"},
      {"card number 11 digits", card(CardData("41111111111", "1", "30")), "invalid_card_number"},
      {"card number 20 digits", card(CardData("41111111111111111111", "1", "30")),
       "invalid_card_number"},
      {"card number with dashes", card(CardData("4111-1111-1111-1111", "1", "30")),
       "invalid_card_number"},
      {"card number with a letter", card(CardData("4111 1111 1111 111x", "1", "30")),
       "invalid_card_number"},
      {"card month 13", card(CardData("4111111111111111", "13", "30")), "invalid_card_expiry"},
      {"card month 0", card(CardData("4111111111111111", "0", "30")), "invalid_card_expiry"},
      {"card month three digits", card(CardData("4111111111111111", "009", "30")),
       "invalid_card_expiry"},
      {"card year three digits", card(CardData("4111111111111111", "1", "203")),
       "invalid_card_expiry"},
      {"card year one digit", card(CardData("4111111111111111", "1", "3")), "invalid_card_expiry"},
      {"card month a number",
       card({{"number", "4111111111111111"}, {"expMonth", 9}, {"expYear", "30"}}), "invalid_field"},
      {"address without name", address_without("name"), "missing_field"},
      {"address without line1", address_without("line1"), "missing_field"},
      {"address without city", address_without("city"), "missing_field"},
      {"address without postcode", address_without("postcode"), "missing_field"},
      {"address without country", address_without("country"), "missing_field"},
      {"address postcode a number",
       {{"type", "SHIPPING_ADDRESS"}, {"data", numeric_postcode}},
       "invalid_field"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.why);
    HttpResponse r = Put("types-validation", c.body);
    ExpectError(r, 400, c.code);
    EXPECT_EQ(r.body.find("4111"), std::string::npos) << "a message repeats the number";
  }
  ExpectError(Get("types-validation"), 404, "not_found");  // nothing was stored
}

TEST_P(E2eTest, SecretFieldNamesRefusedAsMetadataInAnyCase) {
  const std::vector<std::string> names = {"password",
                                          "key",
                                          "secret",
                                          "totp",
                                          "privateKey",
                                          "passphrase",
                                          "accessToken",
                                          "refreshToken",
                                          "connectionString",
                                          "secretAccessKey",
                                          "sessionToken",
                                          "backupCodes",
                                          "usedBackupCodes",
                                          "otpauthUri",
                                          "token",
                                          "cvc",
                                          "clientSecret",
                                          "OTPAUTHURI",
                                          "OtpAuthUri",
                                          "TOKEN",
                                          "Cvc",
                                          "CLIENTSECRET",
                                          "Private_Key"};
  int i = 0;
  for (const std::string& key : names) {
    for (const char* type : {"LOGIN", "CARD", "SHIPPING_ADDRESS"}) {
      SCOPED_TRACE(key + " on " + type);
      const std::string name = "meta-name-" + std::to_string(i++);
      ExpectError(Put(name, BodyWithMetadata(type, {{key, "leaked-value"}})), 400,
                  "secret_in_metadata");
      ExpectError(Get(name), 404, "not_found");
    }
  }
  // `number` is a secret name on a CARD only.
  for (const char* key : {"number", "Number", "NUMBER"}) {
    ExpectError(Put("meta-card-number", BodyWithMetadata("CARD", {{key, "4111111111111111"}})), 400,
                "secret_in_metadata");
  }
  ExpectError(Get("meta-card-number"), 404, "not_found");
  for (const char* type : {"LOGIN", "SHIPPING_ADDRESS"}) {
    const std::string name = std::string("meta-number-") + type;
    ASSERT_EQ(Put(name, BodyWithMetadata(type, {{"number", "42"}})).status, 200) << type;
    EXPECT_EQ(Body(Get(name))["metadata"], (json{{"number", "42"}})) << type;
  }
}

TEST_P(E2eTest, OtpauthUriMetadataValuesRefused) {
  const std::string uri = "otpauth://totp/Svc:me?secret=" + kSeed;
  const json values[] = {uri, "OTPAUTH://totp/Svc:me?secret=" + kSeed, json::array({"a", uri})};
  int i = 0;
  for (const json& value : values) {
    for (const char* type : {"LOGIN", "TOTP", "CARD"}) {
      SCOPED_TRACE(value.dump() + " on " + type);
      const std::string name = "meta-uri-" + std::to_string(i++);
      HttpResponse r = Put(name, BodyWithMetadata(type, {{"note", value}}));
      ExpectError(r, 400, "secret_in_metadata");
      EXPECT_EQ(r.body.find(kSeed), std::string::npos) << "the message repeats the seed";
      ExpectError(Get(name), 404, "not_found");
    }
  }
  // A refused replacement leaves the stored credential as it was.
  ASSERT_EQ(Put("meta-keep", BodyWithMetadata("LOGIN", {{"username", "u"}})).status, 200);
  ExpectError(Put("meta-keep", BodyWithMetadata("LOGIN", {{"token", "t"}})), 400,
              "secret_in_metadata");
  ExpectError(Put("meta-keep", BodyWithMetadata("LOGIN", {{"uri", uri}})), 400,
              "secret_in_metadata");
  json kept = Body(Get("meta-keep"));
  EXPECT_EQ(kept["version"], 1);
  EXPECT_EQ(kept["metadata"], (json{{"username", "u"}}));

  // MCP vault.store follows the same rules: a tool error, nothing stored.
  json mcp = McpCall(*client_, key_, "vault.store",
                     {{"name", "meta-mcp"},
                      {"type", "LOGIN"},
                      {"data", {{"password", "pw"}}},
                      {"metadata", {{"TOKEN", "t"}}}});
  EXPECT_EQ(mcp["isError"], true) << mcp.dump();
  EXPECT_EQ(mcp["structuredContent"]["error"], "secret_in_metadata") << mcp.dump();
  mcp = McpCall(*client_, key_, "vault.store",
                {{"name", "meta-mcp"},
                 {"type", "LOGIN"},
                 {"data", {{"password", "pw"}}},
                 {"metadata", {{"uri", uri}}}});
  EXPECT_EQ(mcp["isError"], true) << mcp.dump();
  EXPECT_EQ(mcp["structuredContent"]["error"], "secret_in_metadata") << mcp.dump();
  ExpectError(Get("meta-mcp"), 404, "not_found");
}

TEST_P(E2eTest, TotpWithoutBackupCodesShowsEmptyLists) {
  ASSERT_EQ(Put("totp-no-codes", {{"type", "TOTP"}, {"data", {{"secret", kSeed}}}}).status, 200);
  HttpResponse got = Get("totp-no-codes");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_NE(got.body.find(R"("backupCodes":[])"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find(R"("usedBackupCodes":[])"), std::string::npos) << got.body;
  EXPECT_EQ(Body(got)["data"], (json{{"secret", "[REDACTED]"},
                                     {"backupCodes", json::array()},
                                     {"usedBackupCodes", json::array()}}));
  json mcp = McpCall(*client_, key_, "vault.get", {{"name", "totp-no-codes"}});
  EXPECT_EQ(mcp["isError"], false) << mcp.dump();
  EXPECT_EQ(mcp["structuredContent"]["data"], Body(got)["data"]);

  // Unused codes only: the used list is still there, empty.
  ASSERT_EQ(Put("totp-unused-only",
                {{"type", "TOTP"}, {"data", {{"secret", kSeed}, {"backupCodes", {"u-1"}}}}})
                .status,
            200);
  json data = Body(Get("totp-unused-only"))["data"];
  EXPECT_EQ(data["backupCodes"], (json{"u-1"}));
  EXPECT_EQ(data["usedBackupCodes"], json::array());
}

}  // namespace
}  // namespace strongroom::e2e
