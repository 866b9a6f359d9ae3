#include "audit/event.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/audit/test_util.h"

namespace strongroom::audit {
namespace {

using testing::OpenSslSha256Hex;
using testing::ReadEvent;

const std::string kZeros(64, '0');

TEST(AuditEventTest, ActionsAreTheSpecList) {
  EXPECT_EQ(kActions.size(), 15u);
  EXPECT_EQ(std::set<std::string_view>(kActions.begin(), kActions.end()).size(), 15u);
  EXPECT_TRUE(IsKnownAction("vault.totp_use_backup"));
  EXPECT_TRUE(IsKnownAction("admin.identity.rotate_kek"));
  EXPECT_FALSE(IsKnownAction("vault.GET"));
  EXPECT_EQ(kGenesisHash, kZeros);
}

TEST(AuditEventTest, CanonicalJsonGoldenForAReadEvent) {
  Event e = ReadEvent();
  e.seq = 1;
  e.prev = kZeros;
  e.hash = "ignored: the canonical form has no hash";
  const std::string expected =
      R"({"seq":1,"time":"2026-12-03T08:00:00.123Z","server":"host:8443","requestId":"req-1",)"
      R"("action":"vault.get","identity":"alice","keyId":"k1","credential":"db/prod",)"
      R"("credentialId":"c1","version":3,"status":200,"remote":"127.0.0.1","prev":")" +
      kZeros + R"("})";
  EXPECT_EQ(CanonicalJson(e), expected);
  EXPECT_EQ(EventHash(e), OpenSslSha256Hex(expected));
}

TEST(AuditEventTest, CanonicalJsonGoldenWithNullsAndEscapes) {
  Event e;
  e.seq = 42;
  e.time = "2026-12-03T08:00:01.000Z";
  e.server = "admin@vault-1";
  e.action = "admin.identity.create";
  // A quote, a backslash, a newline, a tab, a control byte, '/', and UTF-8 (kept as is).
  e.identity = "a\"b\\c\nd\te\x01/f\xc3\xa9";
  e.status = 0;
  e.prev = std::string(64, 'a');
  const std::string expected =
      R"({"seq":42,"time":"2026-12-03T08:00:01.000Z","server":"admin@vault-1","requestId":null,)"
      R"("action":"admin.identity.create","identity":"a\"b\\c\nd\te\u0001/f)"
      "\xc3\xa9"
      R"(","keyId":null,"credential":null,"credentialId":null,"version":null,"status":0,)"
      R"("remote":null,"prev":")" +
      std::string(64, 'a') + R"("})";
  EXPECT_EQ(CanonicalJson(e), expected);
  EXPECT_EQ(EventHash(e), OpenSslSha256Hex(expected));
}

TEST(AuditEventTest, JsonLineAppendsHashLastAndParsesBack) {
  Event e = ReadEvent("a\"quoted\\name\n");
  e.seq = 7;
  e.prev = kZeros;
  e.version.reset();
  e.hash = EventHash(e);
  const std::string line = EventJsonLine(e);
  EXPECT_EQ(line, CanonicalJson(e).substr(0, CanonicalJson(e).size() - 1) + R"(,"hash":")" +
                      e.hash + R"("})");
  Result<Event> parsed = ParseEventLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, e);
}

TEST(AuditEventTest, ParseAcceptsOtherKeyOrderAndSpacing) {
  Event e = ReadEvent();
  e.seq = 1;
  e.prev = kZeros;
  e.hash = EventHash(e);
  const std::string line =
      R"({ "hash": ")" + e.hash + R"(", "prev": ")" + kZeros +
      R"(", "remote": "127.0.0.1", "status": 200, "version": 3, "credentialId": "c1",
          "credential": "db/prod", "keyId": "k1", "identity": "alice", "action": "vault.get",
          "requestId": "req-1", "server": "host:8443", "time": "2026-12-03T08:00:00.123Z",
          "seq": 1 })";
  Result<Event> parsed = ParseEventLine(line);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, e);
}

// Replaces the first occurrence of `from` in the export line of a sample event.
std::string EditedLine(const std::string& from, const std::string& to) {
  Event e = ReadEvent();
  e.seq = 1;
  e.prev = kZeros;
  e.hash = EventHash(e);
  std::string line = EventJsonLine(e);
  const std::size_t at = line.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return line.replace(at, from.size(), to);
}

TEST(AuditEventTest, ParseRejectsUnknownMissingRepeatedAndMistypedFields) {
  const std::vector<std::pair<std::string, std::string>> edits = {
      {R"("seq":1,)", ""},                                // missing
      {R"("seq":1,)", R"("seq":1,"extra":1,)"},           // unknown
      {R"("seq":1,)", R"("seq":1,"seq":2,)"},             // repeated
      {R"("seq":1,)", R"("seq":"1",)"},                   // string for integer
      {R"("seq":1,)", R"("seq":1.0,)"},                   // float for integer
      {R"("seq":1,)", R"("seq":0,)"},                     // seq counts from 1
      {R"("seq":1,)", R"("seq":18446744073709551615,)"},  // does not fit int64
      {R"("status":200)", R"("status":null)"},            // status is not nullable
      {R"("identity":"alice")", R"("identity":7)"},       // integer for string
      {R"("action":"vault.get")", R"("action":null)"},    // action is not nullable
      {R"("time":"2026-12-03T08:00:00.123Z")", R"("time":"yesterday")"},
      {R"("version":3)", R"("version":[3])"},
      {"{", "["},  // not an object
      {"}", ""},   // not JSON
  };
  for (const auto& [from, to] : edits) {
    Result<Event> parsed = ParseEventLine(EditedLine(from, to));
    ASSERT_FALSE(parsed.ok()) << from << " -> " << to;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << from << " -> " << to;
  }
}

TEST(AuditEventTest, SanitizeReplacesInvalidUtf8AsTheEncodingDoes) {
  Event e = ReadEvent(
      "bad\xff"
      "name");
  e.seq = 1;
  e.prev = kZeros;
  const std::string before = CanonicalJson(e);  // does not throw
  SanitizeUtf8(&e);
  EXPECT_EQ(*e.credential, "bad\xef\xbf\xbdname");  // U+FFFD
  EXPECT_EQ(CanonicalJson(e), before);
  EXPECT_EQ(e.remote, "127.0.0.1");
}

}  // namespace
}  // namespace strongroom::audit
