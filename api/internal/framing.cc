#include "api/internal/framing.h"

#include <algorithm>
#include <limits>

namespace strongroom::api::internal {
namespace {

constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max() / 16;

// RFC 9110 tchar.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':  // NOLINT
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':  // NOLINT
      return true;
    default:
      return false;
  }
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = Lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "HTTP/1.1" and "HTTP/1.0" as the last 8 bytes of a request line.
constexpr std::uint64_t Pack(std::string_view s) {
  std::uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}
constexpr std::uint64_t kHttp11 = Pack("HTTP/1.1");
constexpr std::uint64_t kHttp10 = Pack("HTTP/1.0");

}  // namespace

void RequestFraming::Fail(FramingVerdict verdict, std::string_view reason) {
  if (state_ == State::kFailed) return;
  state_ = State::kFailed;
  verdict_ = verdict;
  reason_ = reason;
}

void RequestFraming::StartRequest() {
  state_ = State::kRequestLine;
  head_bytes_ = 0;
  body_left_ = 0;
  chunked_total_ = 0;
  content_lengths_ = transfer_encodings_ = authorizations_ = 0;
  content_length_bad_ = chunked_ = false;
  content_length_ = 0;
  spaces_ = 0;
  version_bytes_ = 0;
  tail_ = 0;
  started_ = true;
}

std::size_t RequestFraming::Run(std::string_view bytes, bool one_request) {
  std::size_t request_start = 0;  // where the current request began in `bytes`
  std::size_t i = 0;
  while (i < bytes.size() && state_ != State::kFailed) {
    started_ = false;
    if (state_ == State::kBody || state_ == State::kChunkData) {
      const std::size_t n = static_cast<std::size_t>(
          std::min<std::uint64_t>(body_left_, static_cast<std::uint64_t>(bytes.size() - i)));
      i += n;
      body_left_ -= n;
      if (body_left_ > 0) continue;
      if (state_ == State::kBody) {
        StartRequest();
      } else {
        state_ = State::kChunkCrlf;
        line_empty_ = true;
        cr_ = false;
      }
    } else if (state_ == State::kRequestLine || state_ == State::kHeaderLine) {
      HeadByte(bytes[i++]);
    } else {
      ChunkByte(bytes[i++]);
    }
    if (started_) {
      request_start = i;
      if (one_request) break;
    }
  }
  if (state_ != State::kFailed) return i;
  // For the log: the rest of a bad request line, as far as this feed has it.
  for (; line_open_ && i < bytes.size() && bytes[i] != '\r' && bytes[i] != '\n'; ++i) {
    if (line_size_ < line_.size()) line_[line_size_++] = bytes[i];
  }
  return request_start;
}

void RequestFraming::HeadByte(char c) {
  if (++head_bytes_ > kMaxHead) return Fail(FramingVerdict::kTooLarge, "request head too large");
  if (head_bytes_ == 1 && state_ == State::kRequestLine) line_size_ = 0;  // a new request
  if (c == '\n') {
    line_open_ = false;
    if (state_ == State::kRequestLine) {
      EndRequestLine();
    } else {
      EndHeaderLine();
    }
    cr_ = false;
    line_empty_ = true;
    in_value_ = false;
    name_size_ = value_size_ = 0;
    value_overflow_ = false;
    return;
  }
  if (cr_) return Fail(FramingVerdict::kBadRequest, "bare CR in request head");
  if (c == '\r') {
    cr_ = true;
    return;
  }
  const auto u = static_cast<unsigned char>(c);
  const bool tab = c == '\t';
  if ((u < 0x20 && !tab) || u == 0x7f) {
    if (state_ == State::kRequestLine && line_size_ < line_.size()) line_[line_size_++] = c;
    line_open_ = state_ == State::kRequestLine;
    return Fail(FramingVerdict::kBadRequest, "control byte in request head");
  }
  if (state_ == State::kRequestLine) {
    line_open_ = true;
    return RequestLineByte(c);
  }
  if (line_empty_ && (c == ' ' || tab)) {
    return Fail(FramingVerdict::kBadRequest, "folded header line");
  }
  line_empty_ = false;
  if (!in_value_) {
    if (c == ':') {
      in_value_ = true;
      return ClassifyName();
    }
    if (!IsTokenChar(c)) return Fail(FramingVerdict::kBadRequest, "bad header name");
    if (name_size_ < name_text_.size()) name_text_[name_size_] = Lower(c);
    if (name_size_ < 255) ++name_size_;
    return;
  }
  if (name_ == Name::kContentLength) return ContentLengthByte(c);
  if (name_ != Name::kTransferEncoding) return;
  if (value_size_ == 0 && (c == ' ' || tab)) return;  // leading whitespace
  if (value_size_ < value_.size()) {
    value_[value_size_++] = Lower(c);
  } else {
    value_overflow_ = true;
  }
}

void RequestFraming::RequestLineByte(char c) {
  line_empty_ = false;
  if (line_size_ < line_.size()) line_[line_size_++] = c;
  if (c == '\t') return Fail(FramingVerdict::kBadRequest, "tab in request line");
  if (c == ' ') {
    if (++spaces_ > 2) return Fail(FramingVerdict::kBadRequest, "malformed request line");
    return;
  }
  if (spaces_ == 0 && !IsTokenChar(c)) {
    return Fail(FramingVerdict::kBadRequest, "malformed method");
  }
  if (spaces_ == 2) {
    ++version_bytes_;
    tail_ = (tail_ << 8) | static_cast<unsigned char>(c);
  }
}

void RequestFraming::EndRequestLine() {
  if (line_empty_) return Fail(FramingVerdict::kBadRequest, "empty request line");
  if (spaces_ != 2 || version_bytes_ != 8 || (tail_ != kHttp11 && tail_ != kHttp10) ||
      line_[0] == ' ' ||
      (line_size_ >= 2 &&
       std::string_view(line_.data(), line_size_).find("  ") != std::string_view::npos)) {
    return Fail(FramingVerdict::kBadRequest, "malformed request line");
  }
  state_ = State::kHeaderLine;
}

void RequestFraming::ClassifyName() {
  const std::string_view name(name_text_.data(),
                              std::min<std::size_t>(name_size_, name_text_.size()));
  if (name_size_ == 0) return Fail(FramingVerdict::kBadRequest, "empty header name");
  if (name_size_ > name_text_.size()) {
    name_ = Name::kOther;
  } else if (name == "content-length") {
    name_ = Name::kContentLength;
    cl_digits_ = 0;
    cl_done_ = false;
    ++content_lengths_;
  } else if (name == "transfer-encoding") {
    name_ = Name::kTransferEncoding;
    ++transfer_encodings_;
  } else if (name == "authorization") {
    name_ = Name::kAuthorization;
    ++authorizations_;
  } else {
    name_ = Name::kOther;
  }
}

// Content-Length = 1*DIGIT, with optional whitespace around it.
void RequestFraming::ContentLengthByte(char c) {
  if (c == ' ' || c == '\t') {
    if (cl_digits_ > 0) cl_done_ = true;
    return;
  }
  if (c < '0' || c > '9' || cl_done_) {
    content_length_bad_ = true;
    return;
  }
  ++cl_digits_;
  content_length_ = std::min(kHuge, content_length_ * 10 + static_cast<std::uint64_t>(c - '0'));
}

void RequestFraming::EndHeaderLine() {
  if (line_empty_) return EndHead();
  if (!in_value_) return Fail(FramingVerdict::kBadRequest, "header line without colon");
  if (name_ == Name::kContentLength && cl_digits_ == 0) content_length_bad_ = true;
  if (name_ == Name::kTransferEncoding) {
    std::size_t size = value_size_;
    while (size > 0 && (value_[size - 1] == ' ' || value_[size - 1] == '\t')) --size;
    chunked_ = !value_overflow_ && std::string_view(value_.data(), size) == "chunked";
  }
}

void RequestFraming::EndHead() {
  if (content_lengths_ > 1) {
    return Fail(FramingVerdict::kBadRequest, "more than one Content-Length");
  }
  if (authorizations_ > 1) {
    return Fail(FramingVerdict::kBadRequest, "more than one Authorization");
  }
  if (content_length_bad_) return Fail(FramingVerdict::kBadRequest, "bad Content-Length");
  if (content_lengths_ > 0 && transfer_encodings_ > 0) {
    return Fail(FramingVerdict::kBadRequest, "both Content-Length and Transfer-Encoding");
  }
  if (transfer_encodings_ > 1 || (transfer_encodings_ == 1 && !chunked_)) {
    return Fail(FramingVerdict::kBadRequest, "unsupported Transfer-Encoding");
  }
  if (content_length_ > max_body_) return Fail(FramingVerdict::kTooLarge, "body too large");
  if (chunked_) {
    state_ = State::kChunkSize;
    chunk_digits_ = 0;
    chunk_ext_ = false;
    line_empty_ = true;
    cr_ = false;
  } else if (content_length_ > 0) {
    state_ = State::kBody;
    body_left_ = content_length_;
  } else {
    StartRequest();
  }
}

// Chunk-size lines, the CRLF after chunk data and trailers (RFC 9112 7.1).
void RequestFraming::ChunkByte(char c) {
  if (++head_bytes_ > kMaxHead + max_body_ / 16) {
    return Fail(FramingVerdict::kTooLarge, "too many chunks");
  }
  if (c == '\r') {
    if (cr_) return Fail(FramingVerdict::kBadRequest, "bare CR in chunked body");
    cr_ = true;
    return;
  }
  const bool lf = c == '\n';
  if (cr_ && !lf) return Fail(FramingVerdict::kBadRequest, "bare CR in chunked body");
  cr_ = false;
  switch (state_) {
    case State::kChunkCrlf:
      if (!lf) return Fail(FramingVerdict::kBadRequest, "chunk data longer than its size");
      state_ = State::kChunkSize;
      chunk_digits_ = 0;
      chunk_ext_ = false;
      return;
    case State::kChunkSize:
      if (!lf) {
        const int digit = HexValue(c);
        if (chunk_ext_) return;
        if (c == ';') {
          chunk_ext_ = true;
        } else if (digit < 0 || ++chunk_digits_ > 8) {
          return Fail(FramingVerdict::kBadRequest, "bad chunk size");
        } else {
          body_left_ = body_left_ * 16 + static_cast<std::uint64_t>(digit);
        }
        return;
      }
      if (chunk_digits_ == 0) return Fail(FramingVerdict::kBadRequest, "bad chunk size");
      chunked_total_ += body_left_;
      if (chunked_total_ > max_body_) return Fail(FramingVerdict::kTooLarge, "body too large");
      state_ = body_left_ == 0 ? State::kTrailer : State::kChunkData;
      line_empty_ = true;
      return;
    case State::kTrailer:
      if (!lf) {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
          return Fail(FramingVerdict::kBadRequest, "control byte in trailer");
        }
        line_empty_ = false;
        return;
      }
      if (line_empty_) return StartRequest();
      line_empty_ = true;
      return;
    default:
      return;
  }
}

FramingOutcome CheckFraming(std::string_view bytes, std::size_t max_body_bytes) {
  RequestFraming framing(max_body_bytes);
  FramingOutcome outcome;
  outcome.accepted = framing.Feed(bytes);
  outcome.verdict = framing.verdict();
  return outcome;
}

}  // namespace strongroom::api::internal
