// Configuration (SPEC 9): a TOML file, validated as a whole at start-up.
//
// Unknown keys and bad values are errors naming the file, the key and the reason.
// Secrets (HSM PIN, database password) are never in the file itself: the file
// names an environment variable or a file that holds them.
#pragma once

#include <optional>
#include <string>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:8700";  // host:port; port 0 picks a free port
  int threads = 2;
  std::string tls_cert;                   // optional: PEM file
  std::string tls_key;                    // optional: PEM file
  std::string client_ca;                  // optional: PEM file; enables mTLS
  std::string mcp_tool_names = "dotted";  // "dotted" (vault.get) or "underscore" (vault_get)
};

struct StoreConfig {
  std::string backend = "sqlite";  // "sqlite" or "mysql"
  std::string path;                // sqlite
  std::string url;                 // mysql: tcp://host:port
  std::string user;                // mysql
  std::string password_env;        // mysql: env var holding the password
  std::string password_file;       // mysql: file holding the password
  std::string database;            // mysql
  int pool_size = 8;               // mysql connection pool bound
};

struct HsmConfig {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_label = "strongroom";
  std::string pin_env;   // env var holding the user PIN
  std::string pin_file;  // or a file holding it (first line)
  std::string master_key_label = "strongroom-master";
};

struct Config {
  std::string source;  // the file it came from, for messages
  ServerConfig server;
  StoreConfig store;
  HsmConfig hsm;
};

// Parses and validates a TOML file. Errors are INVALID_ARGUMENT with a message
// "FILE: KEY: reason".
Result<Config> LoadConfigFile(const std::string& path);
// Same, from text (for tests); `source` names it in messages.
Result<Config> ParseConfig(const std::string& toml_text, const std::string& source);

// Reads a secret from the env var `env` or else the file `file` (first line,
// trailing newline dropped). `what` names it in errors ("HSM PIN").
Result<SecretString> ReadSecret(const std::string& env, const std::string& file,
                                const std::string& what);

}  // namespace strongroom::config
