// Fuzzes the TOML configuration parser (config/config.h). Any text is either
// rejected with invalid_config or gives a configuration whose values are in the
// ranges the loader promises (the server relies on them without re-checking).
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.h"
#include "fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace config = strongroom::config;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto parsed = config::ParseConfig(text, "fuzz.toml");
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.status().error_code() == "invalid_config");
    FUZZ_CHECK(parsed.status().message().rfind("fuzz.toml", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(parsed->server.threads >= 1 && parsed->server.threads <= 256);
  FUZZ_CHECK(config::ParseHostPort(parsed->server.listen).has_value());
  FUZZ_CHECK(parsed->store.backend == "sqlite" || parsed->store.backend == "mysql");
  FUZZ_CHECK(parsed->store.pool_size >= 1 && parsed->store.pool_size <= 1024);
  FUZZ_CHECK(parsed->log.format == "text" || parsed->log.format == "json");
  return 0;
}
