#include "base/result.h"

#include <gtest/gtest.h>

namespace strongroom {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgumentError("odd", "odd_value");
  return v / 2;
}

Result<int> Quarter(int v) {
  SR_ASSIGN_OR_RETURN(int half, Half(v));
  SR_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, CarriesCodeAndApiErrorCode) {
  Status s = NotFoundError("credential not found");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.error_code(), "not_found");
  EXPECT_EQ(s.ToString(), "NOT_FOUND[not_found]: credential not found");
}

// Canonical codes only: what used to be codes of their own (expired, an
// unsupported media type) are reasons of canonical ones.
TEST(StatusTest, ReasonsRefineCanonicalCodes) {
  Status expired = FailedPreconditionError("credential has expired", "expired");
  EXPECT_EQ(expired.ToString(), "FAILED_PRECONDITION[expired]: credential has expired");
  Status media =
      InvalidArgumentError("request body must be application/json", "unsupported_media_type");
  EXPECT_EQ(media.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(media.error_code(), "unsupported_media_type");
  EXPECT_EQ(StatusCodeName(StatusCode::kAborted), "ABORTED");
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().error_code(), "odd_value");
}

TEST(ResultTest, OkStatusIsNotAValue) {
  Result<int> r{Status::Ok()};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace strongroom
