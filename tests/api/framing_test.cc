// RequestFraming (SPEC 5a): the byte-level checks run before Pistache parses
// a request, fed whole and in every split.
#include "api/internal/framing.h"

#include <string>

#include <gtest/gtest.h>

namespace strongroom::api::internal {
namespace {

// The verdict of `bytes` fed at once, and fed in two parts at every split
// point (the verdict must not depend on how the bytes arrive).
FramingVerdict VerdictOf(const std::string& bytes) {
  const FramingOutcome whole = CheckFraming(bytes);
  for (std::size_t split = 0; split <= bytes.size(); ++split) {
    RequestFraming framing;
    framing.Feed(std::string_view(bytes).substr(0, split));
    framing.Feed(std::string_view(bytes).substr(split));
    EXPECT_EQ(framing.verdict(), whole.verdict) << "split at " << split;
  }
  return whole.verdict;
}

std::string Head(const std::string& headers) {
  return "POST /v0/vault/x HTTP/1.1\r\nHost: a\r\n" + headers + "\r\n";
}

TEST(FramingTest, PlainRequestsPass) {
  EXPECT_EQ(VerdictOf("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"), FramingVerdict::kOk);
  EXPECT_EQ(VerdictOf("GET /healthz HTTP/1.0\n\n"), FramingVerdict::kOk);
  EXPECT_EQ(VerdictOf(Head("Content-Length: 4\r\nAuthorization: Bearer x\r\n") + "{}{}"),
            FramingVerdict::kOk);
  EXPECT_EQ(VerdictOf(Head("Content-Length:  0 \r\n")), FramingVerdict::kOk);
  EXPECT_EQ(VerdictOf(Head("Transfer-Encoding: Chunked\r\n") + "2;x=y\r\n{}\r\n0\r\nT: v\r\n\r\n"),
            FramingVerdict::kOk);
  // Bytes above 0x7f in the target are the router's business (404), not framing's.
  EXPECT_EQ(VerdictOf("GET /\xff HTTP/1.1\r\n\r\n"), FramingVerdict::kOk);
}

TEST(FramingTest, DuplicateContentLengthOrAuthorizationIsBadRequest) {
  EXPECT_EQ(VerdictOf(Head("Content-Length: 2\r\nContent-Length: 2\r\n") + "{}"),
            FramingVerdict::kBadRequest);
  EXPECT_EQ(VerdictOf(Head("Content-Length: 2\r\ncontent-length: 20\r\n") + "{}"),
            FramingVerdict::kBadRequest);
  EXPECT_EQ(VerdictOf(Head("Authorization: Bearer a\r\nAUTHORIZATION: Bearer b\r\n")),
            FramingVerdict::kBadRequest);
}

TEST(FramingTest, BadContentLengthIsBadRequest) {
  for (const char* value : {"-5", "abc", "", "1 2", "0x10", "+1", "1,1", "4e3"}) {
    EXPECT_EQ(VerdictOf(Head(std::string("Content-Length: ") + value + "\r\n")),
              FramingVerdict::kBadRequest)
        << value;
  }
  EXPECT_EQ(VerdictOf(Head("Content-Length: 2\r\nTransfer-Encoding: chunked\r\n")),
            FramingVerdict::kBadRequest);
  EXPECT_EQ(VerdictOf(Head("Transfer-Encoding: gzip\r\n")), FramingVerdict::kBadRequest);
  EXPECT_EQ(VerdictOf(Head("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
            FramingVerdict::kBadRequest);
}

TEST(FramingTest, LargeBodiesAreRefusedFromTheHead) {
  for (const char* value : {"65537", "4000000000", "999999999999", "99999999999999999999999999"}) {
    EXPECT_EQ(VerdictOf(Head(std::string("Content-Length: ") + value + "\r\n")),
              FramingVerdict::kTooLarge)
        << value;
  }
  EXPECT_EQ(VerdictOf(Head("Content-Length: 65536\r\n")), FramingVerdict::kOk);
  EXPECT_EQ(VerdictOf(Head("Transfer-Encoding: chunked\r\n") + "10001\r\n"),
            FramingVerdict::kTooLarge);
  EXPECT_EQ(CheckFraming(Head("X: " + std::string(20000, 'a') + "\r\n")).verdict,
            FramingVerdict::kTooLarge);
}

TEST(FramingTest, MalformedHeadsAreBadRequest) {
  for (const std::string& bytes :
       {std::string("GET /\x1b[31m HTTP/1.1\r\n\r\n"), std::string("GET /\x01 HTTP/1.1\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\n X: a\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nX a\r\n\r\n"), std::string("GET / HTTP/1.1\rX: a\r\n\r\n"),
        std::string("GET /  HTTP/1.1\r\n\r\n"), std::string("GET / HTTP/2.0\r\n\r\n"),
        std::string("\r\nGET / HTTP/1.1\r\n\r\n"), std::string("G(T / HTTP/1.1\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nBad Name: a\r\n\r\n")}) {
    EXPECT_EQ(VerdictOf(bytes), FramingVerdict::kBadRequest) << bytes;
  }
}

TEST(FramingTest, PipelinedRequestsAreEachChecked) {
  const std::string good = Head("Content-Length: 2\r\n") + "{}";
  const std::string bad = Head("Content-Length: 1\r\nContent-Length: 2\r\n") + "{}";
  const std::string chunked = Head("Transfer-Encoding: chunked\r\n") + "1\r\nx\r\n0\r\n\r\n";
  FramingOutcome outcome = CheckFraming(good + chunked + good + bad + good);
  EXPECT_EQ(outcome.verdict, FramingVerdict::kBadRequest);
  // Everything before the bad request's head may still be served.
  EXPECT_EQ(outcome.accepted, good.size() * 2 + chunked.size());
  // A body that contains what looks like a request is body, not a request.
  const std::string smuggled = "GET /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
  outcome = CheckFraming(Head("Content-Length: " + std::to_string(smuggled.size()) + "\r\n") +
                         smuggled + good);
  EXPECT_EQ(outcome.verdict, FramingVerdict::kOk);
  RequestFraming framing;
  EXPECT_EQ(framing.Feed(good), good.size());
  EXPECT_EQ(framing.Feed(bad.substr(0, 10)), 10u);  // not yet known bad
  EXPECT_EQ(framing.Feed(bad.substr(10)), 0u);
  EXPECT_EQ(framing.verdict(), FramingVerdict::kBadRequest);
  EXPECT_EQ(framing.reason(), "more than one Content-Length");
  EXPECT_EQ(framing.request_line(), "POST /v0/vault/x HTTP/1.1");
  EXPECT_EQ(framing.Feed(good), 0u);  // a verdict is final
}

}  // namespace
}  // namespace strongroom::api::internal
