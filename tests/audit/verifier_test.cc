#include "audit/verifier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "audit/chain.h"
#include "audit/checkpoint.h"
#include "audit/software_signer.h"
#include "tests/audit/test_util.h"
#include "tests/testing/server_process.h"

namespace strongroom::audit {
namespace {

using testing::ReadEvent;

constexpr char kTime[] = "2026-12-03T08:00:10.000Z";

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// Builds exported event and checkpoint lines as a server would, for servers A and B.
class AuditVerifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signer_ = std::move(SoftwareCheckpointSigner::Generate()).value();
    pem_ = *signer_->PublicKeyPem();
  }

  Chain& ChainFor(const std::string& server) {
    auto& chain = chains_[server];
    if (!chain) chain = std::move(Chain::Open(server)).value();
    return *chain;
  }

  // Appends `n` events of `server` to events_.
  void AddEvents(const std::string& server, int n, const std::string& credential = "db/prod") {
    for (int i = 0; i < n; ++i) {
      events_.push_back(EventJsonLine(ChainFor(server).Append(ReadEvent(credential))));
    }
  }

  void AddCheckpoint(const std::string& server) {
    Result<Checkpoint> c = MakeCheckpoint(*signer_, server, ChainFor(server).Head(), kTime);
    ASSERT_TRUE(c.ok());
    checkpoints_.push_back(CheckpointJsonLine(*c));
  }

  // The index in events_ of `server`'s event `seq`.
  std::size_t IndexOf(const std::string& server, std::int64_t seq) {
    for (std::size_t i = 0; i < events_.size(); ++i) {
      Event e = *ParseEventLine(events_[i]);
      if (e.server == server && e.seq == seq) return i;
    }
    ADD_FAILURE() << "no event " << seq;
    return 0;
  }

  VerifyReport Run() {
    Result<VerifyReport> report = Verify(Join(events_), Join(checkpoints_), pem_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return *report;
  }

  // Verifies and expects the first failure to be `kind` at `server` / `seq`.
  VerifyFailure ExpectFailure(FailureKind kind, const std::string& server, std::int64_t seq) {
    VerifyReport report = Run();
    EXPECT_FALSE(report.ok());
    if (report.ok()) return {};
    const VerifyFailure& f = *report.failure;
    EXPECT_EQ(FailureKindName(f.kind), FailureKindName(kind)) << f.detail;
    EXPECT_EQ(f.server, server);
    EXPECT_EQ(f.seq, seq) << f.detail;
    return f;
  }

  std::unique_ptr<SoftwareCheckpointSigner> signer_;
  std::string pem_;
  std::map<std::string, std::unique_ptr<Chain>> chains_;
  std::vector<std::string> events_;
  std::vector<std::string> checkpoints_;
};

const std::string kA = "node-a:8443";
const std::string kB = "node-b:8443";

TEST_F(AuditVerifierTest, IntactLogVerifies) {
  AddEvents(kA, 5);
  AddCheckpoint(kA);
  AddEvents(kA, 5);
  AddCheckpoint(kA);
  VerifyReport report = Run();
  EXPECT_TRUE(report.ok()) << report.failure->detail;
  EXPECT_EQ(report.events, 10);
  EXPECT_EQ(report.checkpoints, 2);
  VerifyCommandOutput out = FormatVerifyResult(report);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, "verified 10 events, 2 checkpoints\n");
  EXPECT_EQ(out.error, "");
}

TEST_F(AuditVerifierTest, StreamsWithBlankLinesAndCrLf) {
  AddEvents(kA, 3);
  AddCheckpoint(kA);
  std::istringstream events(events_[0] + "\r\n\n" + events_[1] + "\r\n  \n" + events_[2]);
  std::istringstream checkpoints(checkpoints_[0] + "\n\n");
  Result<VerifyReport> report = Verify(events, checkpoints, pem_);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(FormatVerifyResult(report).stdout_text, "verified 3 events, 1 checkpoints\n");
}

TEST_F(AuditVerifierTest, ChangedFieldIsNamed) {
  AddEvents(kA, 6);
  std::string& line = events_[IndexOf(kA, 4)];
  line.replace(line.find("alice"), 5, "mallory");
  ExpectFailure(FailureKind::kChanged, kA, 4);
  VerifyCommandOutput out = FormatVerifyResult(Run());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.stdout_text, "");
  EXPECT_EQ(out.error, R"(audit verification failed: server "node-a:8443" seq 4: changed )"
                       "(hash does not match the content)");
}

TEST_F(AuditVerifierTest, ChangedFieldWithRecomputedHashIsCaughtByTheNextLink) {
  AddEvents(kA, 6);
  Event e = *ParseEventLine(events_[IndexOf(kA, 4)]);
  e.status = 404;
  e.hash = EventHash(e);
  events_[IndexOf(kA, 4)] = EventJsonLine(e);
  ExpectFailure(FailureKind::kChanged, kA, 4);
}

TEST_F(AuditVerifierTest, ChangedFirstPrevIsNamed) {
  AddEvents(kA, 2);
  Event e = *ParseEventLine(events_[0]);
  e.prev = std::string(64, '1');
  e.hash = EventHash(e);
  events_[0] = EventJsonLine(e);
  ExpectFailure(FailureKind::kChanged, kA, 1);
}

TEST_F(AuditVerifierTest, DeletedEventIsMissing) {
  AddEvents(kA, 6);
  events_.erase(events_.begin() + static_cast<long>(IndexOf(kA, 4)));
  VerifyFailure f = ExpectFailure(FailureKind::kMissing, kA, 4);
  EXPECT_EQ(f.detail, "seq 5 follows seq 3");
}

TEST_F(AuditVerifierTest, SwappedEventsAreReordered) {
  AddEvents(kA, 6);
  std::swap(events_[IndexOf(kA, 4)], events_[IndexOf(kA, 5)]);
  VerifyFailure f = ExpectFailure(FailureKind::kReordered, kA, 4);
  EXPECT_EQ(f.detail, "seq 4 comes after seq 5");
}

TEST_F(AuditVerifierTest, RepeatedEventIsReordered) {
  AddEvents(kA, 4);
  events_.insert(events_.begin() + 3, events_[1]);
  ExpectFailure(FailureKind::kReordered, kA, 2);
}

TEST_F(AuditVerifierTest, FirstFailureWins) {
  AddEvents(kA, 8);
  events_.erase(events_.begin() + static_cast<long>(IndexOf(kA, 7)));
  std::string& line = events_[IndexOf(kA, 3)];
  line.replace(line.find("db/prod"), 7, "db/test");
  ExpectFailure(FailureKind::kChanged, kA, 3);
}

TEST_F(AuditVerifierTest, BadSignatureIsNamed) {
  AddEvents(kA, 3);
  AddCheckpoint(kA);
  auto forger = std::move(SoftwareCheckpointSigner::Generate()).value();
  Checkpoint forged = *MakeCheckpoint(*forger, kA, ChainFor(kA).Head(), kTime);
  checkpoints_[0] = CheckpointJsonLine(forged);
  VerifyFailure f = ExpectFailure(FailureKind::kBadSignature, kA, 3);
  EXPECT_TRUE(f.in_checkpoints);
  EXPECT_EQ(FormatVerifyResult(Run()).error,
            R"(audit verification failed: server "node-a:8443" seq 3: bad signature )"
            "(checkpoint signature invalid)");
}

TEST_F(AuditVerifierTest, CheckpointWithAnotherSeqKeepsItsSignatureInvalid) {
  AddEvents(kA, 3);
  AddCheckpoint(kA);
  Checkpoint c = *ParseCheckpointLine(checkpoints_[0]);
  c.seq = 2;
  c.hash = ParseEventLine(events_[1])->hash;  // a true (seq, hash), not the signed one
  checkpoints_[0] = CheckpointJsonLine(c);
  ExpectFailure(FailureKind::kBadSignature, kA, 2);
}

TEST_F(AuditVerifierTest, TruncationPastACheckpointIsNamed) {
  AddEvents(kA, 10);
  AddCheckpoint(kA);
  events_.resize(8);  // the newest two deleted from the database
  VerifyFailure f = ExpectFailure(FailureKind::kTruncated, kA, 10);
  EXPECT_EQ(f.detail, "the events end at seq 8");
  EXPECT_EQ(FormatVerifyResult(Run()).error,
            R"(audit verification failed: server "node-a:8443" seq 10: truncated after a )"
            "checkpoint (the events end at seq 8)");
}

TEST_F(AuditVerifierTest, ChainRewrittenAfterACheckpointIsTruncation) {
  AddEvents(kA, 10);
  AddCheckpoint(kA);
  // Deleted 9 and 10, and the server (resumed from 8) wrote new ones.
  events_.resize(8);
  Event eighth = *ParseEventLine(events_[7]);
  chains_[kA] = std::move(Chain::Open(kA, {8, eighth.hash})).value();
  AddEvents(kA, 3, "other");
  VerifyFailure f = ExpectFailure(FailureKind::kTruncated, kA, 10);
  EXPECT_EQ(f.detail, "the event's hash differs from the checkpoint's");
}

TEST_F(AuditVerifierTest, CheckpointOfAServerWithoutEventsIsTruncation) {
  AddEvents(kB, 2);
  AddCheckpoint(kB);
  events_.clear();
  AddEvents(kA, 1);
  ExpectFailure(FailureKind::kTruncated, kB, 2);
}

TEST_F(AuditVerifierTest, TwoServersInterleavedVerifyIndependently) {
  for (int i = 0; i < 5; ++i) {
    AddEvents(kA, 2);
    AddEvents(kB, 1);
  }
  AddCheckpoint(kA);
  AddCheckpoint(kB);
  VerifyReport report = Run();
  EXPECT_TRUE(report.ok()) << report.failure->detail;
  EXPECT_EQ(report.events, 15);
  EXPECT_EQ(report.checkpoints, 2);

  // Both chains have a seq 3; deleting B's is B's failure only.
  events_.erase(events_.begin() + static_cast<long>(IndexOf(kB, 3)));
  ExpectFailure(FailureKind::kMissing, kB, 3);
}

TEST_F(AuditVerifierTest, MalformedLinesAreNamedByLine) {
  AddEvents(kA, 3);
  AddCheckpoint(kA);
  const std::vector<std::string> intact = events_;
  events_[1] = "{\"seq\":2}";
  VerifyReport report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->kind, FailureKind::kMalformed);
  EXPECT_EQ(report.failure->line, 2);
  EXPECT_FALSE(report.failure->in_checkpoints);
  EXPECT_EQ(FormatVerifyResult(report).error,
            "audit verification failed: events line 2: malformed (audit event: missing key time)");

  events_ = intact;
  checkpoints_.insert(checkpoints_.begin(), "not json");
  report = Run();
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.failure->kind, FailureKind::kMalformed);
  EXPECT_TRUE(report.failure->in_checkpoints);
  EXPECT_EQ(report.failure->line, 1);
}

TEST_F(AuditVerifierTest, ServerNameCannotForgeAVerdictLine) {
  const std::string evil = "x\nverified 1 events, 0 checkpoints";
  AddEvents(evil, 2);
  std::string& line = events_[1];
  line.replace(line.find("alice"), 5, "eve");
  VerifyCommandOutput out = FormatVerifyResult(Run());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.error.find('\n'), std::string::npos);
  EXPECT_NE(out.error.find(R"(server "x\nverified 1 events, 0 checkpoints" seq 2)"),
            std::string::npos)
      << out.error;
}

TEST_F(AuditVerifierTest, UnusableKeyIsAnError) {
  AddEvents(kA, 1);
  Result<VerifyReport> report = Verify(Join(events_), "", "-----BEGIN PUBLIC KEY-----\n");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  VerifyCommandOutput out = FormatVerifyResult(report);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.stdout_text, "");
  EXPECT_EQ(out.error, "audit: not a PEM public key");
}

TEST_F(AuditVerifierTest, CommandReadsTheFiles) {
  AddEvents(kA, 4);
  AddCheckpoint(kA);
  strongroom::testing::TempDir dir;
  const std::string events = dir.path() + "/events.jsonl";
  const std::string checkpoints = dir.path() + "/checkpoints.jsonl";
  const std::string key = dir.path() + "/audit.pem";
  std::ofstream(events) << Join(events_);
  std::ofstream(checkpoints) << Join(checkpoints_);
  std::ofstream(key) << pem_;

  VerifyCommandOutput out = RunVerifyCommand(events, checkpoints, key);
  EXPECT_EQ(out.exit_code, 0) << out.error;
  EXPECT_EQ(out.stdout_text, "verified 4 events, 1 checkpoints\n");

  out = RunVerifyCommand(dir.path() + "/none.jsonl", checkpoints, key);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.error, "cannot open --events file " + dir.path() + "/none.jsonl");

  std::ofstream(events) << Join({events_[0], events_[2], events_[3]});
  out = RunVerifyCommand(events, checkpoints, key);
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.error,
            R"(audit verification failed: server "node-a:8443" seq 2: missing (seq 3 follows )"
            "seq 1)");
}

}  // namespace
}  // namespace strongroom::audit
