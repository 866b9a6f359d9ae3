// kms::HsmParams for a SoftHSM2 test token (tests/testing/softhsm_token.h).
#pragma once

#include "kms/pkcs11.h"
#include "tests/testing/softhsm_token.h"

namespace strongroom::kms {

inline HsmParams ParamsFor(const testing::SoftHsmToken& token) {
  HsmParams params;
  params.module_path = token.module_path;
  params.token_label = token.token_label;
  params.pin = SecretString(token.pin);
  params.master_key_label = token.key_label;
  return params;
}

}  // namespace strongroom::kms
