// The faces' one mapping from Status to HTTP, and the REST PUT body checks.
#include "api/internal/http_status.h"

#include <gtest/gtest.h>

#include <string>

#include "api/internal/put_body.h"

namespace strongroom::api {
namespace {

void ExpectError(const Status& status, StatusCode code, const std::string& error_code) {
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_EQ(status.error_code(), error_code) << status.ToString();
}

TEST(MapStatusTest, OneSwitchForEveryCode) {
  struct Case {
    Status status;
    int http;
    const char* error;
  };
  const Case cases[] = {
      {InvalidArgumentError("x", "invalid_name"), 400, "invalid_name"},
      {InvalidArgumentError("x"), 400, "invalid_request"},
      {UnauthenticatedError("x"), 401, "unauthorized"},
      {PermissionDeniedError("x"), 403, "insufficient_scope"},
      {NotFoundError("x"), 404, "not_found"},
      {FailedPreconditionError("x", "no_backup_codes"), 409, "no_backup_codes"},
      {AlreadyExistsError("x"), 409, "already_exists"},
      {FailedPreconditionError("x", "expired"), 410, "expired"},
      {Status(StatusCode::kResourceExhausted, "x"), 413, "payload_too_large"},
      {InvalidArgumentError("x", "unsupported_media_type"), 415, "unsupported_media_type"},
      {DataLossError("x"), 500, "integrity_error"},
      {InternalError("secret detail"), 500, "internal_error"},
      {UnimplementedError("x"), 501, "not_implemented"},
      {UnavailableError("x", "store_unavailable"), 503, "store_unavailable"},
      {UnavailableError("x", "hsm_unavailable"), 503, "hsm_unavailable"},
      {UnavailableError("x"), 503, "unavailable"},
      {AbortedError("x"), 503, "busy"},
  };
  for (const auto& c : cases) {
    internal::HttpError e = internal::MapStatus(c.status);
    EXPECT_EQ(e.http_status, c.http) << c.status.ToString();
    EXPECT_EQ(e.error, c.error) << c.status.ToString();
    EXPECT_EQ(e.www_authenticate, c.http == 401);
    EXPECT_EQ(e.retry_after, c.http == 503);
    if (c.http >= 500 && c.http != 501) {
      EXPECT_EQ(e.message.find("x"), std::string::npos) << e.message;
    }
  }
  EXPECT_EQ(internal::ErrorBody(internal::MapStatus(NotFoundError("credential not found"))),
            R"({"error":"not_found","message":"credential not found"})");
}

// JSON syntax [invalid_json] is the vault's check now: VaultTest.PutChecksJsonSyntax.
TEST(CheckPutBodyTest, ChecksContentTypeAndSize) {
  EXPECT_TRUE(internal::CheckPutBody("application/json", "{}", 100).ok());
  EXPECT_TRUE(internal::CheckPutBody("Application/JSON; charset=utf-8", "{}", 100).ok());
  for (const char* bad : {"", "text/plain", "application/jsonx",
                          "application/x-www-form-urlencoded", "application/json-patch+json"}) {
    ExpectError(internal::CheckPutBody(bad, "{}", 100), StatusCode::kInvalidArgument,
                "unsupported_media_type");
    EXPECT_EQ(internal::MapStatus(internal::CheckPutBody(bad, "{}", 100)).http_status, 415);
  }
  ExpectError(internal::CheckPutBody("application/json", std::string(101, ' '), 100),
              StatusCode::kResourceExhausted, "payload_too_large");
  EXPECT_TRUE(internal::CheckPutBody("application/json", std::string(98, ' ') + "{}", 100).ok());
}

}  // namespace
}  // namespace strongroom::api
