// FreeWith<fn>: the deleter that lets std::unique_ptr own a C library's handle
// (STYLE: OpenSSL, SQLite and PKCS#11 handles live in unique_ptr with a
// free-function deleter, never behind a bare *_free() call):
//
//   using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, FreeWith<&::EVP_PKEY_free>>;
//
// The free function's result, if any (sqlite3_close_v2's int), is ignored: a
// destructor has nowhere to report it. Header-only; includes no C library.
#pragma once

namespace strongroom {

template <auto FreeFn>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const noexcept {
    (void)FreeFn(p);
  }
};

}  // namespace strongroom
