// The vault's test doubles (tests/vault/fakes.h), under the names the api tests use.
#pragma once

#include "tests/vault/fakes.h"

namespace strongroom::api::fakes {

using vault::fakes::FailingStore;
using vault::fakes::FakeClock;
using vault::fakes::FakeKeyManager;

}  // namespace strongroom::api::fakes
