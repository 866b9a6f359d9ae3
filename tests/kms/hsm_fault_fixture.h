// A fixture whose every PKCS#11 call goes through libstrongroom_fault_pkcs11.so
// (forwarding to SoftHSM2), for the HSM fault and master-key rotation tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "kms/internal/pkcs11_module.h"
#include "kms/pkcs11.h"
#include "tests/kms/fault_pkcs11/fault_pkcs11_control.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::kms {

class FaultHsmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (control_ == nullptr) {
      // Before anything loads a module: SoftHSM2 reads SOFTHSM2_CONF, and the
      // fault module its variables, once.
      testing::SoftHsmEnvironment& env = testing::SoftHsmEnvironment::Get();
      control_ = new testing::FaultPkcs11Control(env.dir());
      control_->ExportToEnvironment(testing::kSoftHsmModulePath);
    }
  }
  void SetUp() override { control_->Clear(); }
  void TearDown() override { control_->Clear(); }

  // A freshly provisioned token, reached through the fault module, with short
  // back-off delays so recovery tests run quickly.
  static HsmParams NewTokenParams(const std::string& prefix) {
    testing::SoftHsmToken token = testing::SoftHsmEnvironment::Get().NewToken(prefix);
    HsmParams params;
    params.module_path = STRONGROOM_FAULT_PKCS11_PATH;
    params.token_label = token.token_label;
    params.pin = SecretString(token.pin);
    params.master_key_label = token.key_label;
    params.retry_initial = std::chrono::milliseconds(50);
    params.retry_max = std::chrono::milliseconds(200);
    Result<bool> created = ProvisionToken(params, SecretString(token.so_pin));
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    so_pin_ = token.so_pin;
    return params;
  }

  static std::unique_ptr<KeyManager> Open(const HsmParams& params) {
    Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(params);
    EXPECT_TRUE(km.ok()) << km.status().ToString();
    return km.ok() ? std::move(*km) : nullptr;
  }

  // What an HSM restart does to the sessions of this process.
  static void CloseAllSessions(const HsmParams& params) {
    auto module = internal::Pkcs11Module::Load(params.module_path);
    ASSERT_TRUE(module.ok());
    auto slot = (*module)->FindTokenSlot(params.token_label);
    ASSERT_TRUE(slot.ok() && slot->has_value());
    ASSERT_EQ((*module)->fn()->C_CloseAllSessions(**slot), static_cast<CK_RV>(CKR_OK));
  }

  // Retries `ok` until it holds or `limit` passes (recovery waits for the
  // back-off delay, at most retry_max here).
  static bool Eventually(const std::function<bool()>& ok,
                         std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ok()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return ok();
  }

  static inline testing::FaultPkcs11Control* control_ = nullptr;
  static inline std::string so_pin_;
};

}  // namespace strongroom::kms
