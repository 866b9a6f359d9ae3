// Shared by the KeyManagerImpl tests: a software master key (a fake of the
// MasterKey interface), so caching, eviction and concurrency are tested
// without an HSM, and the fixture built on it.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "kms/internal/aead.h"
#include "kms/internal/openssl_util.h"
#include "kms/key_manager_impl.h"

namespace strongroom::kms::internal {
// RSA-3072 generated once per process (keygen is slow); never freed.
EVP_PKEY* SharedRsaKey();
}  // namespace strongroom::kms::internal

namespace strongroom::kms {

class SoftwareMasterKey final : public internal::MasterKey {
 public:
  SoftwareMasterKey()
      : public_key_(*internal::RsaOaepPublicKey::FromPkey(internal::SharedRsaKey())) {}

  const std::string& initial_label() const override { return label_; }
  // Every label names the same software key pair.
  Status AddKey(std::string_view) override { return Status::Ok(); }
  Result<Bytes> Wrap(std::string_view, std::span<const std::uint8_t> key) const override {
    return public_key_.Encrypt(key);
  }
  Result<SecretBytes> Unwrap(std::string_view, std::span<const std::uint8_t> wrapped) override {
    ops_.fetch_add(1);
    if (on_unwrap) on_unwrap();
    internal::EvpPkeyCtxPtr ctx(
        ::EVP_PKEY_CTX_new_from_pkey(nullptr, internal::SharedRsaKey(), nullptr));
    if (!ctx || ::EVP_PKEY_decrypt_init(ctx.get()) != 1 || !internal::SetOaepSha256(ctx.get())) {
      return InternalError("decrypt init");
    }
    SecretBytes out(public_key_.modulus_bytes());
    std::size_t len = out.size();
    if (::EVP_PKEY_decrypt(ctx.get(), out.data(), &len, wrapped.data(), wrapped.size()) != 1) {
      return DataLossError("identity KEK failed to unwrap under the master key");
    }
    out.resize(len);
    return out;
  }
  Status Check() override {
    ops_.fetch_add(1);
    return Status::Ok();
  }
  std::uint64_t operations() const override { return ops_.load(); }

  // Test hook run at the start of every Unwrap (no KeyManagerImpl lock is held).
  std::function<void()> on_unwrap;

 private:
  internal::RsaOaepPublicKey public_key_;
  const std::string label_ = "software-master";
  std::atomic<std::uint64_t> ops_{0};
};

inline std::string Str(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

class KeyManagerImplTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(internal::SharedRsaKey(), nullptr);
    manager_ = std::make_unique<KeyManagerImpl>(std::make_unique<SoftwareMasterKey>());
    Result<Bytes> kek = manager_->NewWrappedKek();
    ASSERT_TRUE(kek.ok()) << kek.status().ToString();
    wrapped_kek_ = *kek;
  }
  KekRef Ref(std::int64_t id = 1) const { return KekRef{id, 1, &wrapped_kek_}; }

  std::unique_ptr<KeyManagerImpl> manager_;
  Bytes wrapped_kek_;
};

}  // namespace strongroom::kms
