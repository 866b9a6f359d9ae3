#include "audit/checkpoint.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

#include "audit/internal/crypto.h"
#include "audit/internal/json_line.h"
#include "base/clock.h"

namespace strongroom::audit {
namespace {

using internal::BioPtr;
using internal::Free;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, Free<&::ECDSA_SIG_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Free<&::EVP_PKEY_CTX_free>>;

constexpr std::array<std::string_view, 5> kKeys = {"server", "seq", "hash", "time", "signature"};
constexpr std::size_t kP256ScalarBytes = 32;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  return ::EVP_PKEY_is_a(key, "EC") == 1 &&
         ::EVP_PKEY_get_group_name(key, group, sizeof(group), &len) == 1 &&
         std::string_view(group, len) == "prime256v1";
}

}  // namespace

std::string CheckpointMessage(std::string_view server, std::int64_t seq, std::string_view hash) {
  std::string out = "strongroom-audit/";
  out.append(server).append("\n").append(std::to_string(seq)).append("\n");
  out.append(hash).append("\n");
  return out;
}

std::string CheckpointJsonLine(const Checkpoint& c) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["server"] = c.server;
  j["seq"] = c.seq;
  j["hash"] = c.hash;
  j["time"] = c.time;
  j["signature"] = c.signature;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Checkpoint> ParseCheckpointLine(std::string_view line) {
  SR_ASSIGN_OR_RETURN(internal::JsonLine j,
                      internal::JsonLine::Parse(line, kKeys, "audit checkpoint"));
  Checkpoint c;
  SR_ASSIGN_OR_RETURN(c.server, j.String("server"));
  SR_ASSIGN_OR_RETURN(c.seq, j.Int("seq"));
  if (c.seq < 1) return j.Invalid("seq must be at least 1");
  SR_ASSIGN_OR_RETURN(c.hash, j.String("hash"));
  if (!internal::IsSha256Hex(c.hash)) return j.Invalid("hash must be 64 lowercase hex digits");
  SR_ASSIGN_OR_RETURN(c.time, j.String("time"));
  if (!ParseRfc3339(c.time)) return j.Invalid("time must be an RFC 3339 date-time");
  SR_ASSIGN_OR_RETURN(c.signature, j.String("signature"));
  if (!internal::Base64Decode(c.signature)) return j.Invalid("signature must be base64");
  return c;
}

Result<Checkpoint> MakeCheckpoint(CheckpointSigner& signer, std::string_view server,
                                  const ChainHead& head, std::string time) {
  if (head.seq < 1) return InvalidArgumentError("audit: no event to checkpoint");
  SR_ASSIGN_OR_RETURN(std::string der, signer.Sign(CheckpointMessage(server, head.seq, head.hash)));
  return Checkpoint{std::string(server), head.seq, head.hash, std::move(time),
                    internal::Base64Encode(der)};
}

Result<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256ScalarBytes) {
    return InvalidArgumentError("ECDSA signature: raw r||s must be 64 bytes");
  }
  EcdsaSigPtr sig(::ECDSA_SIG_new());
  BIGNUM* r = ::BN_bin2bn(Bytes(raw), kP256ScalarBytes, nullptr);
  BIGNUM* s = ::BN_bin2bn(Bytes(raw) + kP256ScalarBytes, kP256ScalarBytes, nullptr);
  if (!sig || !r || !s || ::ECDSA_SIG_set0(sig.get(), r, s) != 1) {  // set0 takes r and s
    ::BN_free(r);
    ::BN_free(s);
    return InternalError("ECDSA signature: out of memory");
  }
  if (::BN_is_zero(r) || ::BN_is_zero(s)) {
    return InvalidArgumentError("ECDSA signature: r and s must be non-zero");
  }
  unsigned char* der = nullptr;
  const int len = ::i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return InternalError("ECDSA signature: DER encoding failed");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  ::OPENSSL_free(der);
  return out;
}

Result<std::string> EcdsaDerToRaw(std::string_view der) {
  const unsigned char* p = Bytes(der);
  EcdsaSigPtr sig(::d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig || p != Bytes(der) + der.size()) {
    return InvalidArgumentError("ECDSA signature: not a DER Ecdsa-Sig-Value");
  }
  std::string raw(2 * kP256ScalarBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (::BN_bn2binpad(::ECDSA_SIG_get0_r(sig.get()), out, kP256ScalarBytes) < 0 ||
      ::BN_bn2binpad(::ECDSA_SIG_get0_s(sig.get()), out + kP256ScalarBytes, kP256ScalarBytes) < 0) {
    return InvalidArgumentError("ECDSA signature: r or s longer than 32 bytes");
  }
  return raw;
}

Result<std::string> P256PublicKeyPem(std::string_view point) {
  char group[] = "prime256v1";
  std::string pub(point);
  const OSSL_PARAM params[] = {
      ::OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
      ::OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, pub.data(), pub.size()),
      ::OSSL_PARAM_construct_end()};
  EvpPkeyCtxPtr ctx(::EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!ctx || ::EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      ::EVP_PKEY_fromdata(ctx.get(), &raw_key, EVP_PKEY_PUBLIC_KEY,
                          const_cast<OSSL_PARAM*>(params)) != 1) {
    return InvalidArgumentError("audit: not a P-256 public point");
  }
  internal::EvpPkeyPtr key(raw_key);
  // EVP_PKEY_fromdata does not check that the point is on the curve.
  EvpPkeyCtxPtr check(::EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || ::EVP_PKEY_public_check(check.get()) != 1) {
    return InvalidArgumentError("audit: not a P-256 public point");
  }
  return internal::PublicKeyPem(key.get());
}

void EvpPkeyFree::operator()(evp_pkey_st* key) const noexcept { ::EVP_PKEY_free(key); }

Result<CheckpointKey> CheckpointKey::FromPem(std::string_view pem) {
  BioPtr bio(::BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("audit: out of memory");
  internal::EvpPkeyPtr key(::PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return InvalidArgumentError("audit: not a PEM public key");
  if (!IsP256(key.get())) return InvalidArgumentError("audit: the public key is not P-256");
  return CheckpointKey(EvpPkeyHandle(key.release()));
}

bool CheckpointKey::Verify(const Checkpoint& checkpoint) const {
  std::optional<std::string> der = internal::Base64Decode(checkpoint.signature);
  return der &&
         VerifyMessage(CheckpointMessage(checkpoint.server, checkpoint.seq, checkpoint.hash), *der);
}

bool CheckpointKey::VerifyMessage(std::string_view message, std::string_view der_signature) const {
  internal::EvpMdCtxPtr ctx(::EVP_MD_CTX_new());
  return ctx &&
         ::EVP_DigestVerifyInit(ctx.get(), nullptr, ::EVP_sha256(), nullptr, key_.get()) == 1 &&
         ::EVP_DigestVerify(ctx.get(), Bytes(der_signature), der_signature.size(), Bytes(message),
                            message.size()) == 1;
}

}  // namespace strongroom::audit
