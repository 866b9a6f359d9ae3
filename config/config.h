// Configuration (SPEC 9): a TOML file, validated as a whole at start-up.
//
// Unknown sections, unknown keys and bad values are errors naming the file, the
// key and the reason ("/etc/strongroom.toml: server.threads: must be between 1
// and 256"); TOML syntax errors name the file and line ("FILE:3: ..."). All of
// them are INVALID_ARGUMENT with error_code "invalid_config".
//
// Secrets (HSM PIN, database password) are never in the file itself: the file
// names an environment variable or a file that holds them, read by ReadSecret.
//
// Relative paths in a file loaded with LoadConfigFile (store.path, *_file,
// tls_*) are resolved against the directory of the configuration file, so a
// config is valid wherever the process is started from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/secret.h"

namespace strongroom::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:8700";  // host:port; port 0 picks a free port
  int threads = 2;                        // 1..256
  std::string tls_cert;                   // optional: PEM file (with tls_key)
  std::string tls_key;                    // optional: PEM file (with tls_cert)
  std::string client_ca;                  // optional: PEM file; enables mTLS (needs tls_cert)
  std::string mcp_tool_names = "dotted";  // "dotted" (vault.get) or "underscore" (vault_get)
  int max_connections = 1024;             // 1..1000000: open connections beyond are closed
  int idle_timeout = 60;                  // seconds, 1..86400: idle keep-alive connections close
};

struct StoreConfig {
  std::string backend = "sqlite";  // "sqlite" or "mysql"
  std::string path;                // sqlite: required
  std::string url;                 // mysql: required, tcp://host:port or unix://path,
                                   // or several comma-separated (failover in order)
  std::string user;                // mysql: required
  std::string password_env;        // mysql: env var holding the password
  std::string password_file;       // mysql: or a file holding it (first line); exactly one
  std::string database;            // mysql: required
  int pool_size = 8;               // mysql connection pool bound, 1..1024
  bool galera = false;             // mysql: MariaDB Galera cluster (wsrep_sync_wait = 1)
};

struct HsmConfig {
  std::string module = "/usr/lib/softhsm/libsofthsm2.so";
  std::string token_label = "strongroom";  // 1..32 characters (PKCS#11 CK_TOKEN_INFO.label)
  std::string pin_env;                     // env var holding the user PIN
  std::string pin_file;                    // or a file holding it (first line); exactly one
  std::string master_key_label = "strongroom-master";
};

// SPEC 14 rate limits; 0 turns a limit off.
struct LimitsConfig {
  int auth_failures_per_minute_per_ip = 30;  // 401s per client IP per minute, 0..1000000
  int requests_per_second_per_identity = 0;  // authenticated requests per second, 0..1000000
};

// SPEC 14 logs.
struct LogConfig {
  std::string format = "text";  // "text" or "json" (one object a line)
};

// SPEC 12 audit log.
struct AuditConfig {
  std::string mode = "sync";       // "sync" (fail closed), "async" or "off"
  std::string server_id;           // this server's chain; empty: "<host name>:<listen port>"
  int checkpoint_interval_s = 10;  // checkpoint_interval, seconds, 1..86400
  // JSON lines of signed checkpoints; empty: audit-checkpoints.jsonl beside the
  // SQLite database, or none (database only) with MySQL.
  std::string checkpoint_file;
  std::string signing_key_label = "strongroom-audit";  // ECDSA P-256 key on the HSM
};

struct Config {
  std::string source;  // the file it came from, for messages
  ServerConfig server;
  StoreConfig store;
  HsmConfig hsm;
  LimitsConfig limits;
  LogConfig log;
  AuditConfig audit;
};

// Parses and validates a TOML file. Errors are INVALID_ARGUMENT ("invalid_config")
// with a message "FILE: section.key: reason"; an unreadable file is NOT_FOUND or
// INVALID_ARGUMENT with "FILE: reason".
Result<Config> LoadConfigFile(const std::string& path);
// Same, from text (for tests); `source` names it in messages. Relative paths are
// kept as written.
Result<Config> ParseConfig(const std::string& toml_text, const std::string& source);

// A listen address split into host and port. Accepts "host:port" where host is
// a name or IPv4 address ("127.0.0.1", "localhost") or a bracketed IPv6 address
// ("[::1]"), and port is 0..65535 (0: any free port).
struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;
};
std::optional<HostPort> ParseHostPort(std::string_view text);

// Reads a secret from the env var `env` (if `env` is non-empty and the variable
// is set) or else the file `file` (its first line, trailing CR/LF dropped).
// `what` names the secret in errors ("HSM PIN"). Errors name the variable or the
// file, never the value:
//   INVALID_ARGUMENT   neither source configured, or the secret is empty;
//   NOT_FOUND          the variable is unset (and no file) or the file is missing;
//   PERMISSION_DENIED  the file is readable or writable by other users (chmod 600 it),
//                      or cannot be read;
//   FAILED_PRECONDITION the file is not a regular file or is too large.
Result<SecretString> ReadSecret(const std::string& env, const std::string& file,
                                const std::string& what);

}  // namespace strongroom::config
