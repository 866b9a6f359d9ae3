// AES-KWP, AES-GCM and RSA-OAEP in software (EVP only). See kms/internal/aead.h.
#include "kms/internal/aead.h"

#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <climits>
#include <cstring>

#include "base/random.h"

namespace strongroom::kms {

// Layout (all integers big-endian):
//   "strongroom/aad/v1" || u64 identity_id || u32 len || name || u32 len || type || u64 version
// Every variable-length field is length-prefixed, so no two tuples encode alike.
std::string CredentialAad(std::int64_t identity_id, std::string_view name, std::string_view type,
                          std::int64_t version) {
  std::string out = "strongroom/aad/v1";
  auto put_u64 = [&out](std::uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
  };
  auto put_field = [&out](std::string_view field) {
    const auto n = static_cast<std::uint32_t>(field.size());
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(n >> shift));
    out.append(field);
  };
  put_u64(static_cast<std::uint64_t>(identity_id));
  put_field(name);
  put_field(type);
  put_u64(static_cast<std::uint64_t>(version));
  return out;
}

namespace internal {
namespace {

// OpenSSL takes int lengths; credentials are far smaller (request bodies are
// capped at 64 KiB), so anything near INT_MAX is a caller bug or an attack.
constexpr std::size_t kMaxLength = 1u << 30;

// OpenSSL 3 "explicit fetching" (crypto(7), "Performance"): the legacy
// EVP_aes_*() handles make every EVP_*Init_ex look the implementation up in the
// provider store again (a global lock and a hash lookup per request); a
// fetched EVP_CIPHER is resolved once. Fetched on first use, thread-safe by
// static initialisation, and deliberately never freed: the process keeps it
// until exit, when OpenSSL's own cleanup may already have run. Falls back to
// the legacy handle if the default provider cannot be fetched from.
const EVP_CIPHER* Fetched(const char* name, const EVP_CIPHER* legacy) {
  const EVP_CIPHER* fetched = ::EVP_CIPHER_fetch(nullptr, name, nullptr);
  return fetched != nullptr ? fetched : legacy;
}

const EVP_CIPHER* Aes256Gcm() {
  static const EVP_CIPHER* const cipher = Fetched("AES-256-GCM", ::EVP_aes_256_gcm());
  return cipher;
}

const EVP_CIPHER* KwpCipherFor(std::size_t kek_bytes) {
  switch (kek_bytes) {
    case 16: {
      static const EVP_CIPHER* const cipher = Fetched("AES-128-WRAP-PAD", ::EVP_aes_128_wrap_pad());
      return cipher;
    }
    case 24: {
      static const EVP_CIPHER* const cipher = Fetched("AES-192-WRAP-PAD", ::EVP_aes_192_wrap_pad());
      return cipher;
    }
    case 32: {
      static const EVP_CIPHER* const cipher = Fetched("AES-256-WRAP-PAD", ::EVP_aes_256_wrap_pad());
      return cipher;
    }
    default:
      return nullptr;
  }
}

const unsigned char* Uchar(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

Status IntegrityError() { return DataLossError(std::string(kIntegrityMessage)); }

}  // namespace

Result<Bytes> AesKeyWrapPad(ByteSpan kek, ByteSpan key) {
  const EVP_CIPHER* cipher = KwpCipherFor(kek.size());
  if (cipher == nullptr) return InvalidArgumentError("key wrap: KEK must be 16, 24 or 32 bytes");
  if (key.empty() || key.size() > kMaxLength) {
    return InvalidArgumentError("key wrap: key length out of range");
  }
  EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("key wrap: out of memory");
  // The wrap modes are refused by EVP unless explicitly allowed.
  ::EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  // RFC 5649 section 3: the default alternative IV (A65959A6 || MLI) is used when iv is null.
  if (::EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr) != 1) {
    return InternalError("key wrap: cipher init failed");
  }
  // Output: plaintext padded to a multiple of 8, plus the 8-byte AIV block.
  Bytes out((key.size() + 7) / 8 * 8 + 8);
  int len = 0;
  if (::EVP_EncryptUpdate(ctx.get(), out.data(), &len, key.data(), static_cast<int>(key.size())) !=
      1) {
    return InternalError("key wrap failed");
  }
  int final_len = 0;
  if (::EVP_EncryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return InternalError("key wrap failed");
  }
  out.resize(static_cast<std::size_t>(len + final_len));
  return out;
}

Result<SecretBytes> AesKeyUnwrapPad(ByteSpan kek, ByteSpan wrapped) {
  const EVP_CIPHER* cipher = KwpCipherFor(kek.size());
  if (cipher == nullptr) return InvalidArgumentError("key unwrap: KEK must be 16, 24 or 32 bytes");
  // RFC 5649 section 4.2: at least two 64-bit blocks, a whole number of them.
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0 || wrapped.size() > kMaxLength) {
    return IntegrityError();
  }
  EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("key unwrap: out of memory");
  ::EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (::EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr) != 1) {
    return InternalError("key unwrap: cipher init failed");
  }
  SecretBytes out(wrapped.size());
  int len = 0;
  if (::EVP_DecryptUpdate(ctx.get(), out.data(), &len, wrapped.data(),
                          static_cast<int>(wrapped.size())) != 1 ||
      len <= 0) {
    return IntegrityError();
  }
  int final_len = 0;
  if (::EVP_DecryptFinal_ex(ctx.get(), out.data() + len, &final_len) != 1) {
    return IntegrityError();
  }
  out.resize(static_cast<std::size_t>(len + final_len));
  return out;
}

Result<Bytes> AesGcmSeal(ByteSpan key, ByteSpan nonce, std::string_view plaintext,
                         std::string_view aad) {
  if (key.size() != kAes256KeyBytes) return InvalidArgumentError("AES-GCM: key must be 32 bytes");
  if (nonce.size() != kGcmNonceBytes)
    return InvalidArgumentError("AES-GCM: nonce must be 12 bytes");
  if (plaintext.size() > kMaxLength || aad.size() > kMaxLength) {
    return InvalidArgumentError("AES-GCM: input too large");
  }
  EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("AES-GCM: out of memory");
  // 12 bytes is EVP's default GCM IV length, so no EVP_CTRL_GCM_SET_IVLEN is needed.
  if (::EVP_EncryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.data(), nonce.data()) != 1) {
    return InternalError("AES-GCM: init failed");
  }
  Bytes out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes);
  std::memcpy(out.data(), nonce.data(), kGcmNonceBytes);
  int len = 0;
  if (!aad.empty() && ::EVP_EncryptUpdate(ctx.get(), nullptr, &len, Uchar(aad),
                                          static_cast<int>(aad.size())) != 1) {
    return InternalError("AES-GCM: AAD failed");
  }
  unsigned char* ct = out.data() + kGcmNonceBytes;
  int ct_len = 0;
  if (!plaintext.empty() && ::EVP_EncryptUpdate(ctx.get(), ct, &ct_len, Uchar(plaintext),
                                                static_cast<int>(plaintext.size())) != 1) {
    return InternalError("AES-GCM: encrypt failed");
  }
  int final_len = 0;
  if (::EVP_EncryptFinal_ex(ctx.get(), ct + ct_len, &final_len) != 1 ||
      static_cast<std::size_t>(ct_len + final_len) != plaintext.size()) {
    return InternalError("AES-GCM: encrypt failed");
  }
  if (::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                            out.data() + kGcmNonceBytes + plaintext.size()) != 1) {
    return InternalError("AES-GCM: tag failed");
  }
  return out;
}

Result<SecretBytes> AesGcmOpen(ByteSpan key, ByteSpan sealed, std::string_view aad) {
  if (key.size() != kAes256KeyBytes) return InvalidArgumentError("AES-GCM: key must be 32 bytes");
  if (sealed.size() < kGcmNonceBytes + kGcmTagBytes || sealed.size() > kMaxLength ||
      aad.size() > kMaxLength) {
    return IntegrityError();
  }
  const std::size_t ct_size = sealed.size() - kGcmNonceBytes - kGcmTagBytes;
  EvpCipherCtxPtr ctx(::EVP_CIPHER_CTX_new());
  if (!ctx) return InternalError("AES-GCM: out of memory");
  if (::EVP_DecryptInit_ex(ctx.get(), Aes256Gcm(), nullptr, key.data(), sealed.data()) != 1) {
    return InternalError("AES-GCM: init failed");
  }
  int len = 0;
  if (!aad.empty() && ::EVP_DecryptUpdate(ctx.get(), nullptr, &len, Uchar(aad),
                                          static_cast<int>(aad.size())) != 1) {
    return IntegrityError();
  }
  SecretBytes out(ct_size);
  int pt_len = 0;
  if (ct_size > 0 &&
      ::EVP_DecryptUpdate(ctx.get(), out.data(), &pt_len, sealed.data() + kGcmNonceBytes,
                          static_cast<int>(ct_size)) != 1) {
    return IntegrityError();
  }
  // EVP_CTRL_GCM_SET_TAG takes a non-const pointer but does not write through it.
  Bytes tag(sealed.end() - kGcmTagBytes, sealed.end());
  if (::EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1) {
    return IntegrityError();
  }
  int final_len = 0;
  // NIST SP 800-38D 7.2: on a tag mismatch no plaintext is released; `out`
  // is wiped by its allocator when it goes out of scope.
  if (::EVP_DecryptFinal_ex(ctx.get(), out.data() + pt_len, &final_len) != 1) {
    return IntegrityError();
  }
  return out;
}

Result<Envelope> SealWithKek(ByteSpan kek, std::string_view plaintext, std::string_view aad) {
  SR_ASSIGN_OR_RETURN(SecretBytes dek, RandomSecretBytes(kAes256KeyBytes));
  return SealWithDek(kek, dek, plaintext, aad);
}

Result<SecretBytes> OpenWithKek(ByteSpan kek, const Envelope& envelope, std::string_view aad) {
  SR_ASSIGN_OR_RETURN(SecretBytes dek, UnwrapDek(kek, envelope.wrapped_dek));
  return OpenWithDek(dek, envelope, aad);
}

Result<Envelope> SealWithDek(ByteSpan kek, ByteSpan dek, std::string_view plaintext,
                             std::string_view aad) {
  if (kek.size() != kAes256KeyBytes) return InternalError("identity KEK has the wrong size");
  if (dek.size() != kAes256KeyBytes) return InternalError("DEK has the wrong size");
  SR_ASSIGN_OR_RETURN(SecretBytes nonce, RandomSecretBytes(kGcmNonceBytes));
  Envelope envelope;
  SR_ASSIGN_OR_RETURN(envelope.ciphertext, AesGcmSeal(dek, nonce, plaintext, aad));
  SR_ASSIGN_OR_RETURN(envelope.wrapped_dek, AesKeyWrapPad(kek, dek));
  return envelope;
}

Result<SecretBytes> UnwrapDek(ByteSpan kek, ByteSpan wrapped_dek) {
  if (kek.size() != kAes256KeyBytes) return InternalError("identity KEK has the wrong size");
  Result<SecretBytes> dek = AesKeyUnwrapPad(kek, wrapped_dek);
  if (!dek.ok() || dek->size() != kAes256KeyBytes) return IntegrityError();
  return dek;
}

Result<SecretBytes> OpenWithDek(ByteSpan dek, const Envelope& envelope, std::string_view aad) {
  if (dek.size() != kAes256KeyBytes) return IntegrityError();
  Result<SecretBytes> plaintext = AesGcmOpen(dek, envelope.ciphertext, aad);
  if (!plaintext.ok()) return IntegrityError();
  return plaintext;
}

bool SetOaepSha256(EVP_PKEY_CTX* ctx) {
  return ::EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         ::EVP_PKEY_CTX_set_rsa_oaep_md(ctx, ::EVP_sha256()) > 0 &&
         ::EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, ::EVP_sha256()) > 0;
}

namespace {

constexpr int kMinModulusBits = 3072;

}  // namespace

Result<RsaOaepPublicKey> RsaOaepPublicKey::FromComponents(ByteSpan modulus, ByteSpan exponent) {
  if (modulus.empty() || exponent.empty() || modulus.size() > 2048 || exponent.size() > 16) {
    return FailedPreconditionError("master public key has invalid RSA components",
                                   "hsm_key_invalid");
  }
  BignumPtr n(::BN_bin2bn(modulus.data(), static_cast<int>(modulus.size()), nullptr));
  BignumPtr e(::BN_bin2bn(exponent.data(), static_cast<int>(exponent.size()), nullptr));
  OsslParamBldPtr bld(::OSSL_PARAM_BLD_new());
  if (!n || !e || !bld) return InternalError("RSA key import: out of memory");
  if (::OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      ::OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return InternalError("RSA key import failed");
  }
  OsslParamPtr params(::OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  if (!params || !ctx || ::EVP_PKEY_fromdata_init(ctx.get()) != 1) {
    return InternalError("RSA key import failed");
  }
  EVP_PKEY* raw = nullptr;
  if (::EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return FailedPreconditionError("master public key has invalid RSA components",
                                   "hsm_key_invalid");
  }
  EvpPkeyPtr pkey(raw);
  return FromPkey(pkey.get());
}

Result<RsaOaepPublicKey> RsaOaepPublicKey::FromPkey(EVP_PKEY* pkey) {
  if (pkey == nullptr || ::EVP_PKEY_is_a(pkey, "RSA") != 1) {
    return FailedPreconditionError("master key is not an RSA key", "hsm_key_invalid");
  }
  const int bits = ::EVP_PKEY_get_bits(pkey);
  if (bits < kMinModulusBits) {
    return FailedPreconditionError(
        "master key is RSA-" + std::to_string(bits) + "; at least RSA-3072 is required",
        "hsm_key_invalid");
  }
  if (::EVP_PKEY_up_ref(pkey) != 1) return InternalError("RSA key import failed");
  EvpPkeyPtr owned(pkey);
  return RsaOaepPublicKey(std::move(owned), static_cast<std::size_t>((bits + 7) / 8));
}

Result<Bytes> RsaOaepPublicKey::Encrypt(ByteSpan plaintext) const {
  EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  if (!ctx || ::EVP_PKEY_encrypt_init(ctx.get()) != 1 || !SetOaepSha256(ctx.get())) {
    return InternalError("RSA-OAEP: init failed");
  }
  std::size_t out_len = 0;
  if (::EVP_PKEY_encrypt(ctx.get(), nullptr, &out_len, plaintext.data(), plaintext.size()) != 1) {
    return InternalError("RSA-OAEP: encrypt failed");
  }
  Bytes out(out_len);
  if (::EVP_PKEY_encrypt(ctx.get(), out.data(), &out_len, plaintext.data(), plaintext.size()) !=
      1) {
    return InternalError("RSA-OAEP: encrypt failed");
  }
  out.resize(out_len);
  return out;
}

}  // namespace internal
}  // namespace strongroom::kms
