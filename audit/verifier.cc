#include "audit/verifier.h"

#include <fstream>
#include <iostream>
#include <istream>
#include <iterator>
#include <map>
#include <sstream>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/checkpoint.h"
#include "audit/event.h"

namespace strongroom::audit {
namespace {

// Reads non-blank lines, counting every line.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}

  // False at the end of the input (or on a read error: see failed()).
  bool Next(std::string* line) {
    while (std::getline(in_, *line)) {
      ++number_;
      if (!line->empty() && line->back() == '\r') line->pop_back();
      if (line->find_first_not_of(" \t") != std::string::npos) return true;
    }
    return false;
  }
  std::int64_t number() const { return number_; }
  bool failed() const { return in_.bad(); }

 private:
  std::istream& in_;
  std::int64_t number_ = 0;
};

struct ServerState {
  std::int64_t last_seq = 0;
  std::string last_hash{kGenesisHash};
};

struct CheckpointLine {
  std::int64_t line = 0;
  Result<Checkpoint> checkpoint;
};

using SeqKey = std::pair<std::string, std::int64_t>;

VerifyFailure Failure(FailureKind kind, bool in_checkpoints, std::int64_t line, std::string server,
                      std::int64_t seq, std::string detail) {
  return VerifyFailure{kind, in_checkpoints, line, std::move(server), seq, std::move(detail)};
}

class Verification {
 public:
  explicit Verification(const CheckpointKey& key) : key_(key) {}

  Status ReadCheckpoints(std::istream& in) {
    LineReader reader(in);
    std::string text;
    while (reader.Next(&text)) {
      checkpoints_.push_back({reader.number(), ParseCheckpointLine(text)});
      const Result<Checkpoint>& c = checkpoints_.back().checkpoint;
      if (c.ok()) hash_at_[{c->server, c->seq}];  // ask the event pass to remember this hash
    }
    if (reader.failed()) return UnavailableError("audit verify: cannot read the checkpoints");
    report_.checkpoints = static_cast<std::int64_t>(checkpoints_.size());
    return Status::Ok();
  }

  Status CheckEvents(std::istream& in) {
    LineReader reader(in);
    std::string text;
    while (reader.Next(&text)) {
      ++report_.events;
      if (report_.failure) {
        if (gap_) ResolveGap(text);  // only the tentative gap is still open
        continue;
      }
      CheckEvent(text, reader.number());
    }
    if (reader.failed()) return UnavailableError("audit verify: cannot read the events");
    return Status::Ok();
  }

  void CheckCheckpoints() {
    for (const CheckpointLine& entry : checkpoints_) {
      if (report_.failure) return;
      if (!entry.checkpoint.ok()) {
        report_.failure = Failure(FailureKind::kMalformed, true, entry.line, "", 0,
                                  entry.checkpoint.status().message());
        return;
      }
      CheckCheckpoint(*entry.checkpoint, entry.line);
    }
  }

  VerifyReport report() && { return std::move(report_); }

 private:
  void CheckEvent(const std::string& text, std::int64_t line) {
    Result<Event> parsed = ParseEventLine(text);
    if (!parsed.ok()) {
      report_.failure =
          Failure(FailureKind::kMalformed, false, line, "", 0, parsed.status().message());
      return;
    }
    const Event& e = *parsed;
    auto fail = [&](FailureKind kind, std::int64_t seq, std::string detail) {
      report_.failure = Failure(kind, false, line, e.server, seq, std::move(detail));
    };
    if (EventHash(e) != e.hash)
      return fail(FailureKind::kChanged, e.seq, "hash does not match the content");
    ServerState& state = servers_[e.server];
    const std::int64_t expected = state.last_seq + 1;
    const std::string after = " follows seq " + std::to_string(state.last_seq);
    if (e.seq < expected) {
      return fail(FailureKind::kReordered, e.seq, "seq " + std::to_string(e.seq) + after);
    }
    if (e.seq > expected) {
      // Missing unless `expected` comes later in the file, which makes it a reordering.
      fail(FailureKind::kMissing, expected, "seq " + std::to_string(e.seq) + after);
      gap_ = Gap{e.server, expected, e.seq};
      return;
    }
    if (e.prev != state.last_hash) {
      if (e.seq == 1) return fail(FailureKind::kChanged, 1, "prev of seq 1 is not all zeros");
      return fail(FailureKind::kChanged, e.seq - 1,
                  "hash does not match prev of seq " + std::to_string(e.seq));
    }
    state.last_seq = e.seq;
    state.last_hash = e.hash;
    if (auto it = hash_at_.find({e.server, e.seq}); it != hash_at_.end()) it->second = e.hash;
  }

  void ResolveGap(const std::string& text) {
    Result<Event> parsed = ParseEventLine(text);
    if (!parsed.ok() || parsed->server != gap_->server || parsed->seq != gap_->missing) return;
    VerifyFailure& f = *report_.failure;
    f.kind = FailureKind::kReordered;
    f.detail = "seq " + std::to_string(gap_->missing) + " comes after seq " +
               std::to_string(gap_->seen_instead);
    gap_.reset();
  }

  void CheckCheckpoint(const Checkpoint& c, std::int64_t line) {
    auto fail = [&](FailureKind kind, std::string detail) {
      report_.failure = Failure(kind, true, line, c.server, c.seq, std::move(detail));
    };
    if (!key_.Verify(c)) return fail(FailureKind::kBadSignature, "checkpoint signature invalid");
    auto state = servers_.find(c.server);
    const std::int64_t last = state == servers_.end() ? 0 : state->second.last_seq;
    if (c.seq > last) {
      return fail(FailureKind::kTruncated, "the events end at seq " + std::to_string(last));
    }
    if (hash_at_.at({c.server, c.seq}) != c.hash) {
      return fail(FailureKind::kTruncated, "the event's hash differs from the checkpoint's");
    }
  }

  const CheckpointKey& key_;
  std::vector<CheckpointLine> checkpoints_;
  std::map<SeqKey, std::string> hash_at_;  // checkpointed (server, seq) -> event hash seen
  std::unordered_map<std::string, ServerState> servers_;
  // The first missing seq of a server, while it may still come later in the file.
  struct Gap {
    std::string server;
    std::int64_t missing = 0;
    std::int64_t seen_instead = 0;
  };
  std::optional<Gap> gap_;
  VerifyReport report_;
};

}  // namespace

std::string_view FailureKindName(FailureKind kind) {
  switch (kind) {
    case FailureKind::kMalformed:
      return "malformed";
    case FailureKind::kChanged:
      return "changed";
    case FailureKind::kMissing:
      return "missing";
    case FailureKind::kReordered:
      return "reordered";
    case FailureKind::kBadSignature:
      return "bad signature";
    case FailureKind::kTruncated:
      return "truncated after a checkpoint";
  }
  return "unknown";
}

Result<VerifyReport> Verify(std::istream& events, std::istream& checkpoints,
                            std::string_view public_key_pem) {
  SR_ASSIGN_OR_RETURN(CheckpointKey key, CheckpointKey::FromPem(public_key_pem));
  Verification verification(key);
  SR_RETURN_IF_ERROR(verification.ReadCheckpoints(checkpoints));
  SR_RETURN_IF_ERROR(verification.CheckEvents(events));
  verification.CheckCheckpoints();
  return std::move(verification).report();
}

Result<VerifyReport> Verify(std::string_view events, std::string_view checkpoints,
                            std::string_view public_key_pem) {
  std::istringstream events_in{std::string(events)};
  std::istringstream checkpoints_in{std::string(checkpoints)};
  return Verify(events_in, checkpoints_in, public_key_pem);
}

VerifyCommandOutput FormatVerifyResult(const Result<VerifyReport>& result) {
  if (!result.ok()) return {1, "", result.status().message()};
  const VerifyReport& r = *result;
  if (r.ok()) {
    return {0,
            "verified " + std::to_string(r.events) + " events, " + std::to_string(r.checkpoints) +
                " checkpoints\n",
            ""};
  }
  const VerifyFailure& f = *r.failure;
  std::string where;
  if (f.kind == FailureKind::kMalformed) {
    where = std::string(f.in_checkpoints ? "checkpoints" : "events") + " line " +
            std::to_string(f.line);
  } else {
    // JSON-quoted: a server id read from the file cannot add a line or fake a verdict.
    where = "server " +
            nlohmann::json(f.server).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace) +
            " seq " + std::to_string(f.seq);
  }
  return {1, "",
          "audit verification failed: " + where + ": " + std::string(FailureKindName(f.kind)) +
              " (" + f.detail + ")"};
}

VerifyCommandOutput RunVerifyCommand(const std::string& events_path,
                                     const std::string& checkpoints_path,
                                     const std::string& public_key_path) {
  auto cannot_open = [](std::string_view option, const std::string& path) {
    return VerifyCommandOutput{1, "", "cannot open " + std::string(option) + " file " + path};
  };
  std::ifstream key_in(public_key_path, std::ios::binary);
  if (!key_in) return cannot_open("--public-key", public_key_path);
  const std::string pem((std::istreambuf_iterator<char>(key_in)), std::istreambuf_iterator<char>());
  std::ifstream checkpoints(checkpoints_path, std::ios::binary);
  if (!checkpoints) return cannot_open("--checkpoints", checkpoints_path);
  if (events_path == "-") return FormatVerifyResult(Verify(std::cin, checkpoints, pem));
  std::ifstream events(events_path, std::ios::binary);
  if (!events) return cannot_open("--events", events_path);
  return FormatVerifyResult(Verify(events, checkpoints, pem));
}

}  // namespace strongroom::audit
