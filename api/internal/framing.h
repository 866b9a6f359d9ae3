// Request framing checks (SPEC 5a) for one HTTP/1.1 connection, run over the
// raw bytes before Pistache parses them.
//
// RequestFraming is fed the bytes of a connection as they arrive, in any
// split. It follows request heads and bodies (Content-Length or chunked), so
// pipelined requests are each checked, and stops at the first request whose
// head breaks a rule: more than one Content-Length or Authorization, a
// Content-Length that is not a plain decimal number, Content-Length together
// with Transfer-Encoding, a Transfer-Encoding other than "chunked", control
// bytes in the request line or a header, or a malformed chunk (bad_request);
// a declared or chunked body over the body limit, or a head over the head
// limit (too large). A body limit violation is found from the head alone,
// before any body byte is read.
//
// No Pistache types: a libFuzzer target drives it through CheckFraming().
// Header bytes are scanned once, byte by byte, with no allocation; body bytes
// are skipped in bulk.
//
// Thread safety: one object per connection, used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace strongroom::api::internal {

enum class FramingVerdict {
  kOk,          // everything so far is acceptable
  kBadRequest,  // 400 bad_request
  kTooLarge,    // 413 payload_too_large
};

class RequestFraming {
 public:
  static constexpr std::size_t kDefaultMaxBody = 64 * 1024;
  static constexpr std::size_t kMaxHead = 16 * 1024;

  explicit RequestFraming(std::size_t max_body_bytes = kDefaultMaxBody)
      : max_body_(max_body_bytes) {}

  // Checks the next `bytes` of the connection. Returns how many of them belong
  // to requests (or parts of requests) that are acceptable so far: all of
  // them while verdict() is kOk; otherwise the bytes before the head of the
  // first bad request, which may still be handed on, and nothing after them.
  std::size_t Feed(std::string_view bytes) { return Run(bytes, false); }
  // Like Feed, but stops right after the end of a request: the bytes of at
  // most one request (or the rest of one) are accepted per call.
  std::size_t FeedRequest(std::string_view bytes) { return Run(bytes, true); }

  FramingVerdict verdict() const { return verdict_; }
  // Why verdict() is not kOk (a short constant text, for the log).
  std::string_view reason() const { return reason_; }
  // The start of the request line of the current (or the last, or the bad)
  // request, raw:
  // escape before logging.
  std::string_view request_line() const { return std::string_view(line_.data(), line_size_); }

 private:
  enum class State : std::uint8_t {
    kRequestLine,
    kHeaderLine,
    kBody,       // Content-Length bytes left in body_left_
    kChunkSize,  // reading a chunk-size line
    kChunkData,  // chunk bytes left in body_left_
    kChunkCrlf,  // CRLF after chunk data
    kTrailer,    // trailer lines after the last chunk
    kFailed,
  };
  // Which header the current line names (only those with rules).
  enum class Name : std::uint8_t { kOther, kContentLength, kTransferEncoding, kAuthorization };

  std::size_t Run(std::string_view bytes, bool one_request);
  void HeadByte(char c);
  void RequestLineByte(char c);
  void EndRequestLine();
  void ClassifyName();
  void ContentLengthByte(char c);
  void EndHeaderLine();
  void EndHead();
  void ChunkByte(char c);
  void StartRequest();
  void Fail(FramingVerdict verdict, std::string_view reason);

  std::size_t max_body_;
  State state_ = State::kRequestLine;
  FramingVerdict verdict_ = FramingVerdict::kOk;
  std::string_view reason_;

  // Per request.
  std::size_t head_bytes_ = 0;
  std::uint64_t body_left_ = 0;
  std::uint64_t chunked_total_ = 0;
  int content_lengths_ = 0;
  int transfer_encodings_ = 0;
  int authorizations_ = 0;
  bool content_length_bad_ = false;
  bool chunked_ = false;
  std::uint64_t content_length_ = 0;

  // Per line.
  bool line_empty_ = true;
  bool in_value_ = false;
  bool cr_ = false;
  Name name_ = Name::kOther;
  std::uint8_t name_size_ = 0;
  std::array<char, 20> name_text_{};  // lower-cased; longer names are kOther
  std::uint8_t value_size_ = 0;
  std::array<char, 24> value_{};  // trimmed start of a ruled header's value
  bool value_overflow_ = false;
  int cl_digits_ = 0;
  bool cl_done_ = false;  // whitespace after the digits
  int spaces_ = 0;        // in the request line
  int version_bytes_ = 0;
  std::uint64_t tail_ = 0;  // last 8 bytes of the request line
  bool started_ = false;    // a new request began with the last byte
  int chunk_digits_ = 0;
  bool chunk_ext_ = false;

  bool line_open_ = false;  // the request line has not ended yet
  std::size_t line_size_ = 0;
  std::array<char, 256> line_{};
};

// Runs `bytes` through a fresh RequestFraming as one feed: the verdict and
// how many bytes were accepted. For fuzzers and tests.
struct FramingOutcome {
  FramingVerdict verdict = FramingVerdict::kOk;
  std::size_t accepted = 0;
};
FramingOutcome CheckFraming(std::string_view bytes,
                            std::size_t max_body_bytes = RequestFraming::kDefaultMaxBody);

}  // namespace strongroom::api::internal
