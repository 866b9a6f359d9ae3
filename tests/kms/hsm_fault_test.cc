// HSM fault handling (SPEC 11) against SoftHSM2 through the fault-injecting
// module: cached keys keep serving, cold ones get "hsm_unavailable", recovery
// needs no restart, a rejected PIN is tried once.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "kms/key_manager.h"
#include "tests/kms/hsm_fault_fixture.h"

namespace strongroom::kms {
namespace {

std::string Str(const SecretBytes& b) { return std::string(b.begin(), b.end()); }

void ExpectHsmUnavailable(const Status& status) {
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  EXPECT_EQ(status.error_code(), "hsm_unavailable") << status.ToString();
}

class HsmFaultTest : public FaultHsmTest {
 protected:
  void SetUp() override {
    FaultHsmTest::SetUp();
    if (params_.token_label.empty()) params_ = NewTokenParams("fault");
    km_ = Open(params_);
    ASSERT_NE(km_, nullptr);
    warm_wrapped_ = *km_->NewWrappedKek();
    cold_wrapped_ = *km_->NewWrappedKek();
    warm_ = KekRef{1, 1, &warm_wrapped_};
    cold_ = KekRef{2, 1, &cold_wrapped_};
    Result<Envelope> warm = km_->Seal(warm_, "warm secret", "aad");
    Result<Envelope> cold = km_->Seal(cold_, "cold secret", "aad");
    ASSERT_TRUE(warm.ok() && cold.ok());
    warm_envelope_ = *warm;
    cold_envelope_ = *cold;
    km_->Evict(2);  // identity 2 is cold: its KEK needs the HSM again
  }

  static inline HsmParams params_;
  std::unique_ptr<KeyManager> km_;
  Bytes warm_wrapped_, cold_wrapped_;
  KekRef warm_, cold_;
  Envelope warm_envelope_, cold_envelope_;
};

TEST_F(HsmFaultTest, WarmKeysServeWhileEveryHsmCallFailsAndColdOnesAreUnavailable) {
  control_->Set("rv=CKR_DEVICE_REMOVED");
  for (int i = 0; i < 20; ++i) {
    Result<SecretBytes> opened = km_->Open(warm_, warm_envelope_, "aad");
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(Str(*opened), "warm secret");
    Result<Envelope> sealed = km_->Seal(warm_, "new", "aad");
    ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
    ASSERT_TRUE(km_->Open(warm_, *sealed, "aad").ok());
  }
  // A new identity's KEK needs only the public key.
  EXPECT_TRUE(km_->NewWrappedKek().ok());

  ExpectHsmUnavailable(km_->Open(cold_, cold_envelope_, "aad").status());
  ExpectHsmUnavailable(km_->Seal(cold_, "x", "aad").status());
  ExpectHsmUnavailable(km_->CheckHsm());

  // While down, callers fail fast: a burst of cold requests makes at most a
  // few re-initialisation attempts (the back-off), not one each.
  const unsigned long long inits = control_->Count("C_Initialize");
  for (int i = 0; i < 200; ++i)
    ExpectHsmUnavailable(km_->Open(cold_, cold_envelope_, "aad").status());
  EXPECT_LE(control_->Count("C_Initialize") - inits, 3u);
  // The same from many threads at once: one re-initialisation at a time.
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Status status = km_->Open(cold_, cold_envelope_, "aad").status();
        if (status.error_code() == "hsm_unavailable") unavailable.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(unavailable.load(), 400);
  EXPECT_LE(control_->Count("C_Initialize") - inits, 6u);

  // The HSM comes back: the same manager recovers by itself.
  control_->Clear();
  EXPECT_TRUE(Eventually([&] { return km_->Open(cold_, cold_envelope_, "aad").ok(); }));
  Result<SecretBytes> opened = km_->Open(cold_, cold_envelope_, "aad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "cold secret");
  EXPECT_TRUE(Eventually([&] { return km_->CheckHsm().ok(); }));
}

TEST_F(HsmFaultTest, InjectedLostSessionReinitialisesAndRetries) {
  const unsigned long long inits = control_->Count("C_Initialize");
  control_->Set("rv=CKR_SESSION_HANDLE_INVALID\nfunctions=C_DecryptInit\ntimes=1");
  Result<SecretBytes> opened = km_->Open(cold_, cold_envelope_, "aad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "cold secret");
  // finalize + initialize (SPEC 11), once.
  EXPECT_EQ(control_->Count("C_Initialize") - inits, 1u);
}

TEST_F(HsmFaultTest, ClosedSessionsRecover) {
  CloseAllSessions(params_);
  Result<SecretBytes> opened = km_->Open(cold_, cold_envelope_, "aad");
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(Str(*opened), "cold secret");
}

TEST_F(HsmFaultTest, LoggedOutTokenRecovers) {
  control_->Set("rv=CKR_USER_NOT_LOGGED_IN\nfunctions=C_DecryptInit\ntimes=1");
  ASSERT_TRUE(km_->Open(cold_, cold_envelope_, "aad").ok());
  control_->Set("rv=CKR_USER_NOT_LOGGED_IN\nfunctions=C_GetSessionInfo\ntimes=1");
  EXPECT_TRUE(km_->CheckHsm().ok());
}

TEST_F(HsmFaultTest, SlowHsmCallsStillSucceed) {
  control_->Set("delay_ms=100\nfunctions=C_Decrypt");
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(km_->Open(cold_, cold_envelope_, "aad").ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
}

TEST_F(HsmFaultTest, ProbeDoesNotWaitForASlowUnwrap) {
  control_->Set("delay_ms=1500\nfunctions=C_Decrypt");
  std::thread slow([&] { EXPECT_TRUE(km_->Open(cold_, cold_envelope_, "aad").ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // inside C_Decrypt now
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(km_->CheckHsm().ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  EXPECT_TRUE(km_->Open(warm_, warm_envelope_, "aad").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  slow.join();
}

TEST_F(HsmFaultTest, WrongPinAtStartMakesExactlyOneLogin) {
  // Login state is per application: with a session of this process logged
  // in, the token would answer CKR_USER_ALREADY_LOGGED_IN to any PIN.
  km_.reset();
  HsmParams wrong = params_;
  wrong.pin = SecretString("wrong-pin-9876");
  const unsigned long long logins = control_->Count("C_Login");
  Result<std::unique_ptr<KeyManager>> km = OpenKeyManager(wrong);
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().error_code(), "hsm_login_failed");
  EXPECT_EQ(control_->Count("C_Login") - logins, 1u);
}

TEST_F(HsmFaultTest, RejectedPinAtRunTimeIsTriedOnceAndNeverAgain) {
  control_->Set("rv=CKR_PIN_INCORRECT\nfunctions=C_Login");
  CloseAllSessions(params_);
  const unsigned long long logins = control_->Count("C_Login");
  // Well past every back-off delay (retry_max is 200 ms here).
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
  while (std::chrono::steady_clock::now() < until) {
    Status status = km_->Open(cold_, cold_envelope_, "aad").status();
    ExpectHsmUnavailable(status);
    EXPECT_NE(status.message().find("CKR_PIN_INCORRECT"), std::string::npos) << status.message();
    EXPECT_EQ(status.message().find(params_.pin.c_str()), std::string::npos);
    ExpectHsmUnavailable(km_->CheckHsm());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(control_->Count("C_Login") - logins, 1u);
  // Reported, not retried: even with the token fine again, this manager
  // stays failed (an operator fixes the PIN and restarts).
  control_->Clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  ExpectHsmUnavailable(km_->Open(cold_, cold_envelope_, "aad").status());
  EXPECT_EQ(control_->Count("C_Login") - logins, 1u);
  // Warm keys still serve.
  EXPECT_TRUE(km_->Open(warm_, warm_envelope_, "aad").ok());
}

TEST_F(HsmFaultTest, CheckHsmProbesAtMostOncePerSecond) {
  const std::uint64_t ops = km_->hsm_operations();
  const unsigned long long probes = control_->Count("C_GetSessionInfo");
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(km_->CheckHsm().ok());
  EXPECT_EQ(km_->hsm_operations() - ops, 1u);
  EXPECT_EQ(control_->Count("C_GetSessionInfo") - probes, 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(km_->CheckHsm().ok());
  EXPECT_EQ(control_->Count("C_GetSessionInfo") - probes, 2u);
}

}  // namespace
}  // namespace strongroom::kms
