// A buffered spdlog sink for stderr when it is not a terminal (a file, a pipe,
// journald): the access log writes one line per request, and a write(2) per
// line was a measurable share of a warm GET (BENCHMARKS.md). Lines are
// formatted into a 64 KiB buffer and written when it fills, when a message of
// level warn or above arrives (the logger flushes on warn), every second
// (spdlog::flush_every) and at exit. A crash can lose at most the last
// second of info lines; warnings and errors are written at once.
//
// Thread safety: spdlog's base_sink<std::mutex> serialises log and flush.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <mutex>

#include <spdlog/sinks/base_sink.h>

namespace strongroom::app {

class BufferedFdSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit BufferedFdSink(int fd) : fd_(fd) { buffer_.reserve(kCapacity); }
  ~BufferedFdSink() override {
    std::lock_guard<std::mutex> lock(mutex_);
    WriteOut();
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    if (buffer_.size() + formatted.size() > kCapacity) WriteOut();
    buffer_.append(formatted.data(), formatted.data() + formatted.size());
  }
  void flush_() override { WriteOut(); }

 private:
  static constexpr std::size_t kCapacity = 64 * 1024;

  void WriteOut() {
    const char* p = buffer_.data();
    std::size_t left = buffer_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to report it: the log itself is what failed
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

  int fd_;
  spdlog::memory_buf_t buffer_;
};

}  // namespace strongroom::app
