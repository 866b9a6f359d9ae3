// OpenSSL helpers for audit/ (STYLE: handles in unique_ptr with a free-function deleter).
// Folder-private: audit's public headers never include OpenSSL.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/c_handle.h"
#include "base/result.h"

namespace strongroom::audit::internal {

template <auto FreeFn>
using Free = FreeWith<FreeFn>;

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Free<&::EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Free<&::EVP_MD_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Free<&::BIO_free>>;

// PEM SubjectPublicKeyInfo of `key`'s public half.
Result<std::string> PublicKeyPem(EVP_PKEY* key);

// Lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Standard base64 (RFC 4648 section 4, padded), as checkpoint signatures are written.
std::string Base64Encode(std::string_view data);
// nullopt unless `text` is canonical padded base64 (no whitespace).
std::optional<std::string> Base64Decode(std::string_view text);

// True if `text` is 64 lowercase hex digits (a SHA-256 as events and checkpoints write it).
bool IsSha256Hex(std::string_view text);

}  // namespace strongroom::audit::internal
