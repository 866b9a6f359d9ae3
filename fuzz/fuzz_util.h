// Shared by the fuzz targets. FUZZ_CHECK: the invariant check. A failed check
// prints what was expected (never the input, which the crash file already holds)
// and aborts, so libFuzzer records the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#define FUZZ_CHECK(condition)                                                                \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)

namespace strongroom::fuzz {

// Every byte as %XX: what any RFC 3986 percent-decoder must turn back into `in`.
inline std::string PercentEncodeEveryByte(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    out += '%';
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  }
  return out;
}

}  // namespace strongroom::fuzz
