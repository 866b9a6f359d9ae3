// OpenSSL handle owners for kms/ (STYLE: unique_ptr with a free-function deleter).
// Folder-private: public headers never include OpenSSL.
#pragma once

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <memory>

#include "base/c_handle.h"

namespace strongroom::kms::internal {

template <auto FreeFn>
using Free = FreeWith<FreeFn>;

using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Free<&::EVP_CIPHER_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<&::EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<&::EVP_PKEY_CTX_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Free<&::OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, Free<&::OSSL_PARAM_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Free<&::BN_free>>;

}  // namespace strongroom::kms::internal
