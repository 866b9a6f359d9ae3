// Fuzzes the MCP endpoint (api/mcp_handler.h): JSON-RPC parsing, batch rules,
// envelope checks and tool dispatch into a real vault::Vault over a SQLite store
// (in /dev/shm when there is one) with the tests' fake key manager.
//
// Input: byte 0 picks the key (read-write, read-only or malformed) and the
// protocol revision (2025-03-26 allows batches); the rest is the request body.
// Whatever comes in, Handle answers an HTTP status the transport uses and a body
// that is empty or valid JSON.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/mcp_handler.h"
#include "base/clock.h"
#include "fuzz/fuzz_util.h"
#include "model/credential.h"
#include "store/credential_store.h"
#include "tests/vault/fakes.h"
#include "vault/admin.h"
#include "vault/vault.h"

namespace {

namespace sr = strongroom;

// One vault for the whole run (opening SQLite per input would measure SQLite).
// Never destroyed: the process ends with the fuzzer.
struct Env {
  std::filesystem::path dir;
  sr::vault::fakes::FakeKeyManager keys;
  std::unique_ptr<sr::store::CredentialStore> store;
  std::unique_ptr<sr::vault::Vault> vault;
  std::unique_ptr<sr::api::McpHandler> handler;
  std::string rw_header;
  std::string ro_header;
};

std::string NewKeyHeader(Env& env, std::uint32_t scopes) {
  auto key = sr::vault::CreateApiKey(*env.store, "dev", scopes, std::nullopt, sr::Clock::Real());
  FUZZ_CHECK(key.ok());
  return "Bearer " + std::string(key->key.view());
}

// The store's folder, removed at exit (libFuzzer exits normally at the end of a run).
std::filesystem::path* store_dir = nullptr;

void RemoveStoreDir() {
  std::error_code ignored;
  std::filesystem::remove_all(*store_dir, ignored);
}

Env* MakeEnv() {
  auto* env = new Env;
  std::filesystem::path base =
      std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
  env->dir = base / ("strongroom_mcp_fuzzer_" + std::to_string(::getpid()));
  std::filesystem::remove_all(env->dir);
  std::filesystem::create_directories(env->dir);
  store_dir = &env->dir;
  std::atexit(RemoveStoreDir);
  auto store = sr::store::OpenSqliteStore((env->dir / "vault.db").string());
  FUZZ_CHECK(store.ok());
  env->store = std::move(*store);
  FUZZ_CHECK(sr::vault::CreateIdentity(*env->store, env->keys, "dev", sr::Clock::Real()).ok());
  env->rw_header = NewKeyHeader(*env, sr::model::kScopeRead | sr::model::kScopeWrite);
  env->ro_header = NewKeyHeader(*env, sr::model::kScopeRead);
  env->vault = std::make_unique<sr::vault::Vault>(env->store.get(), &env->keys, &sr::Clock::Real());
  env->handler = std::make_unique<sr::api::McpHandler>(env->vault.get(), sr::api::McpOptions{});
  // Credentials for list, get, totp and backup calls to find.
  for (const char* body :
       {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"vault.store",)"
        R"("arguments":{"name":"github","type":"LOGIN","data":{"password":"p4ss"},)"
        R"("metadata":{"username":"ci"}}}})",
        R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"vault.store",)"
        R"("arguments":{"name":"otp","type":"TOTP","data":{"secret":"JBSWY3DPEHPK3PXP",)"
        R"("backupCodes":["a-1","b-2","c-3"]}}}})"}) {
    sr::api::McpHttpRequest request;
    request.method = "POST";
    request.authorization = env->rw_header;
    request.accept = "application/json, text/event-stream";
    request.content_type = "application/json";
    request.body = body;
    FUZZ_CHECK(env->handler->Handle(request).status == 200);
  }
  return env;
}

Env& GetEnv() {
  static Env* env = MakeEnv();
  return *env;
}

bool IsTransportStatus(int status) {
  switch (status) {
    case 200:
    case 202:
    case 400:
    case 401:
    case 403:
    case 404:
    case 405:
    case 406:
    case 413:
    case 415:
    case 500:
    case 503:
      return true;
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Env& env = GetEnv();
  sr::api::McpHttpRequest request;
  request.method = "POST";
  request.accept = "application/json, text/event-stream";
  request.content_type = "application/json";
  switch (data[0] & 3) {
    case 0:
      request.authorization = env.rw_header;
      break;
    case 1:
      request.authorization = env.ro_header;
      break;
    case 2:
      request.authorization = "Bearer sr_0000000000000000_x";
      break;
    default:
      request.authorization = env.rw_header;
      break;
  }
  request.protocol_version = (data[0] & 4) != 0 ? "2025-03-26" : "2025-11-25";
  request.body = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);

  sr::api::McpHttpResponse response = env.handler->Handle(request);
  FUZZ_CHECK(IsTransportStatus(response.status));
  if (!response.body.empty()) {
    auto body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    FUZZ_CHECK(!body.is_discarded());
    FUZZ_CHECK(body.is_object() || (body.is_array() && !body.empty()));
  }
  if (response.status == 202) FUZZ_CHECK(response.body.empty());
  return 0;
}
