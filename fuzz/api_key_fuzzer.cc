// Fuzzes the API-key parsers (vault/api_key.h): the Authorization header's
// Bearer token and the key shape. A key that parses re-formats to the same
// string from its key id and secret; a token re-wrapped in "Bearer " comes back
// unchanged; the hash of any input is 32 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "vault/api_key.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace vault = strongroom::vault;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  if (auto key_id = vault::ParseApiKeyId(input)) {
    FUZZ_CHECK(key_id->size() == vault::kKeyIdHexChars);
    std::string secret(input.substr(input.size() - vault::kSecretChars));
    FUZZ_CHECK(std::string(vault::kApiKeyPrefix) + *key_id + "_" + secret == input);
  }
  FUZZ_CHECK(vault::HashApiKey(input).size() == 32);

  if (auto token = vault::BearerToken(input)) {
    FUZZ_CHECK(token->empty() ||
               (token->front() != ' ' && token->back() != ' ' && token->back() != '\t'));
    FUZZ_CHECK(input.find(*token) != std::string_view::npos);
    if (!token->empty()) {
      const std::string header = "Bearer " + std::string(*token);
      auto again = vault::BearerToken(header);
      FUZZ_CHECK(again && *again == *token);
      // A bearer token is authenticated only if it has the key's shape.
      if (auto key_id = vault::ParseApiKeyId(*token))
        FUZZ_CHECK(token->size() == vault::kApiKeyChars);
    }
  }
  return 0;
}
