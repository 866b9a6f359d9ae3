#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <toml++/toml.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <utility>

namespace strongroom::config {
namespace {

constexpr int kMaxThreads = 256;
constexpr int kMaxLimit = 1000000;  // [limits] values
constexpr int kMaxPoolSize = 1024;
constexpr int kMaxConnections = 1000000;       // server.max_connections
constexpr int kMaxIdleTimeoutSeconds = 86400;  // server.idle_timeout
constexpr std::size_t kMaxTokenLabel = 32;     // PKCS#11 CK_TOKEN_INFO.label is 32 bytes
constexpr std::size_t kMaxSecretFileBytes = 4096;

Status ConfigError(const std::string& source, std::string_view key, std::string_view reason) {
  std::string message = source;
  message += ": ";
  message += key;
  message += ": ";
  message += reason;
  return InvalidArgumentError(std::move(message), "invalid_config");
}

std::string_view NodeTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

bool IsEnvVarName(std::string_view name) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) return false;
  }
  return true;
}

// Reads the keys of one section, each with a typed setter; any other key is an error.
class SectionReader {
 public:
  using Setter = std::function<Status(const std::string& key, const toml::node& value)>;

  SectionReader(const std::string& source, std::string section)
      : source_(source), section_(std::move(section)) {}

  std::string Key(std::string_view key) const { return section_ + "." + std::string(key); }
  Status Error(std::string_view key, std::string_view reason) const {
    return ConfigError(source_, Key(key), reason);
  }

  void String(std::string key, std::string* out) {
    setters_[key] = [this, out](const std::string& k, const toml::node& v) -> Status {
      if (!v.is_string()) {
        return Error(k, "expected a string, got " + std::string(NodeTypeName(v)));
      }
      *out = v.as_string()->get();
      if (out->empty()) return Error(k, "must not be empty");
      if (out->find('\0') != std::string::npos) return Error(k, "must not contain NUL");
      return Status::Ok();
    };
  }

  void Int(std::string key, int* out, int min, int max) {
    setters_[key] = [this, out, min, max](const std::string& k, const toml::node& v) -> Status {
      if (!v.is_integer()) {
        return Error(k, "expected an integer, got " + std::string(NodeTypeName(v)));
      }
      const std::int64_t value = v.as_integer()->get();
      if (value < min || value > max) {
        return Error(k, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      }
      *out = static_cast<int>(value);
      return Status::Ok();
    };
  }

  void Bool(std::string key, bool* out) {
    setters_[key] = [this, out](const std::string& k, const toml::node& v) -> Status {
      if (!v.is_boolean()) {
        return Error(k, "expected true or false, got " + std::string(NodeTypeName(v)));
      }
      *out = v.as_boolean()->get();
      return Status::Ok();
    };
  }

  Status Read(const toml::table& table) {
    for (auto&& [key, value] : table) {
      const std::string name(key.str());
      auto it = setters_.find(name);
      if (it == setters_.end()) return Error(name, "unknown key");
      SR_RETURN_IF_ERROR(it->second(name, value));
      seen_.insert(name);
    }
    return Status::Ok();
  }

  bool Seen(const std::string& key) const { return seen_.count(key) > 0; }

 private:
  const std::string& source_;
  std::string section_;
  std::map<std::string, Setter> setters_;
  std::set<std::string> seen_;
};

Status ReadServer(const std::string& source, const toml::table* table, ServerConfig& out) {
  SectionReader reader(source, "server");
  reader.String("listen", &out.listen);
  reader.Int("threads", &out.threads, 1, kMaxThreads);
  reader.String("tls_cert", &out.tls_cert);
  reader.String("tls_key", &out.tls_key);
  reader.String("client_ca", &out.client_ca);
  reader.String("mcp_tool_names", &out.mcp_tool_names);
  reader.Int("max_connections", &out.max_connections, 1, kMaxConnections);
  reader.Int("idle_timeout", &out.idle_timeout, 1, kMaxIdleTimeoutSeconds);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));

  if (!ParseHostPort(out.listen)) {
    return reader.Error("listen", "expected \"host:port\" (port 0..65535, IPv6 as [addr]:port)");
  }
  if (out.tls_cert.empty() != out.tls_key.empty()) {
    return reader.Error(out.tls_cert.empty() ? "tls_cert" : "tls_key",
                        "tls_cert and tls_key must be set together");
  }
  if (!out.client_ca.empty() && out.tls_cert.empty()) {
    return reader.Error("client_ca", "client certificates (mTLS) need tls_cert and tls_key");
  }
  if (out.mcp_tool_names != "dotted" && out.mcp_tool_names != "underscore") {
    return reader.Error("mcp_tool_names", "must be \"dotted\" or \"underscore\"");
  }
  return Status::Ok();
}

Status ReadStore(const std::string& source, const toml::table* table, StoreConfig& out) {
  SectionReader reader(source, "store");
  reader.String("backend", &out.backend);
  reader.String("path", &out.path);
  reader.String("url", &out.url);
  reader.String("user", &out.user);
  reader.String("password_env", &out.password_env);
  reader.String("password_file", &out.password_file);
  reader.String("database", &out.database);
  reader.Int("pool_size", &out.pool_size, 1, kMaxPoolSize);
  reader.Bool("galera", &out.galera);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));

  if (out.backend == "sqlite") {
    if (out.path.empty()) return reader.Error("path", "required when backend = \"sqlite\"");
    for (const char* key :
         {"url", "user", "password_env", "password_file", "database", "pool_size", "galera"}) {
      if (reader.Seen(key)) return reader.Error(key, "only valid with backend = \"mysql\"");
    }
  } else if (out.backend == "mysql") {
    if (reader.Seen("path")) return reader.Error("path", "only valid with backend = \"sqlite\"");
    if (out.url.empty()) return reader.Error("url", "required when backend = \"mysql\"");
    // One server, or several comma-separated (failover, SPEC 13).
    for (std::string_view rest = out.url;;) {
      const std::size_t comma = rest.find(',');
      std::string_view server = rest.substr(0, comma);
      while (!server.empty() && server.front() == ' ') server.remove_prefix(1);
      if (server.rfind("tcp://", 0) != 0 && server.rfind("unix://", 0) != 0) {
        return reader.Error("url", "every server must start with tcp:// or unix://");
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (out.user.empty()) return reader.Error("user", "required when backend = \"mysql\"");
    if (out.database.empty()) return reader.Error("database", "required when backend = \"mysql\"");
    if (out.password_env.empty() && out.password_file.empty()) {
      return reader.Error("password_env",
                          "set password_env or password_file (the password is never in the file)");
    }
    if (!out.password_env.empty() && !out.password_file.empty()) {
      return reader.Error("password_file", "set password_env or password_file, not both");
    }
    if (!out.password_env.empty() && !IsEnvVarName(out.password_env)) {
      return reader.Error("password_env", "must be an environment variable name");
    }
  } else {
    return reader.Error("backend", "must be \"sqlite\" or \"mysql\"");
  }
  return Status::Ok();
}

Status ReadHsm(const std::string& source, const toml::table* table, HsmConfig& out) {
  SectionReader reader(source, "hsm");
  reader.String("module", &out.module);
  reader.String("token_label", &out.token_label);
  reader.String("pin_env", &out.pin_env);
  reader.String("pin_file", &out.pin_file);
  reader.String("master_key_label", &out.master_key_label);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));

  if (out.token_label.size() > kMaxTokenLabel) {
    return reader.Error("token_label", "must be at most 32 characters");
  }
  if (out.pin_env.empty() && out.pin_file.empty()) {
    return reader.Error("pin_env", "set pin_env or pin_file (the PIN is never in the file)");
  }
  if (!out.pin_env.empty() && !out.pin_file.empty()) {
    return reader.Error("pin_file", "set pin_env or pin_file, not both");
  }
  if (!out.pin_env.empty() && !IsEnvVarName(out.pin_env)) {
    return reader.Error("pin_env", "must be an environment variable name");
  }
  return Status::Ok();
}

Status ReadLimits(const std::string& source, const toml::table* table, LimitsConfig& out) {
  SectionReader reader(source, "limits");
  reader.Int("auth_failures_per_minute_per_ip", &out.auth_failures_per_minute_per_ip, 0, kMaxLimit);
  reader.Int("requests_per_second_per_identity", &out.requests_per_second_per_identity, 0,
             kMaxLimit);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));
  return Status::Ok();
}

Status ReadLog(const std::string& source, const toml::table* table, LogConfig& out) {
  SectionReader reader(source, "log");
  reader.String("format", &out.format);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));
  if (out.format != "text" && out.format != "json") {
    return reader.Error("format", "must be \"text\" or \"json\"");
  }
  return Status::Ok();
}

Status ReadAudit(const std::string& source, const toml::table* table, AuditConfig& out) {
  SectionReader reader(source, "audit");
  reader.String("mode", &out.mode);
  reader.String("server_id", &out.server_id);
  reader.Int("checkpoint_interval", &out.checkpoint_interval_s, 1, 86400);
  reader.String("checkpoint_file", &out.checkpoint_file);
  reader.String("signing_key_label", &out.signing_key_label);
  if (table != nullptr) SR_RETURN_IF_ERROR(reader.Read(*table));
  if (out.mode != "sync" && out.mode != "async" && out.mode != "off") {
    return reader.Error("mode", "must be \"sync\", \"async\" or \"off\"");
  }
  if (out.server_id.size() > 255) return reader.Error("server_id", "must be at most 255 bytes");
  for (char c : out.server_id) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return reader.Error("server_id", "must not contain control characters");
    }
  }
  return Status::Ok();
}

// Resolves `path` against `base` unless it is absolute or empty.
void Resolve(const std::filesystem::path& base, std::string& path) {
  if (path.empty() || path.front() == '/') return;
  path = (base / path).lexically_normal().string();
}

}  // namespace

std::optional<HostPort> ParseHostPort(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return std::nullopt;
  std::uint32_t port_value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    port_value = port_value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (port_value > 65535) return std::nullopt;

  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    for (char c : host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.';
      if (!ok) return std::nullopt;
    }
  } else {
    if (host.size() > 253) return std::nullopt;
    for (char c : host) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '.' || c == '-';
      if (!ok) return std::nullopt;
    }
  }
  return HostPort{std::string(host), static_cast<std::uint16_t>(port_value)};
}

Result<Config> ParseConfig(const std::string& toml_text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    // toml++ descriptions quote the offending text at most, never a value
    // from another line; they are safe to show.
    std::ostringstream message;
    message << source << ":" << e.source().begin.line << ": TOML syntax error: " << e.description();
    return InvalidArgumentError(message.str(), "invalid_config");
  }

  Config config;
  config.source = source;
  const toml::table* server = nullptr;
  const toml::table* store = nullptr;
  const toml::table* hsm = nullptr;
  const toml::table* limits = nullptr;
  const toml::table* log = nullptr;
  const toml::table* audit = nullptr;
  for (auto&& [key, value] : root) {
    const std::string name(key.str());
    const toml::table** slot = name == "server"   ? &server
                               : name == "store"  ? &store
                               : name == "hsm"    ? &hsm
                               : name == "limits" ? &limits
                               : name == "log"    ? &log
                               : name == "audit"  ? &audit
                                                  : nullptr;
    if (slot == nullptr) {
      return ConfigError(
          source, name, value.is_table() ? "unknown section" : "unknown key (outside any section)");
    }
    if (!value.is_table()) {
      return ConfigError(source, name, "expected a section ([" + name + "])");
    }
    *slot = value.as_table();
  }
  SR_RETURN_IF_ERROR(ReadServer(source, server, config.server));
  SR_RETURN_IF_ERROR(ReadStore(source, store, config.store));
  SR_RETURN_IF_ERROR(ReadHsm(source, hsm, config.hsm));
  SR_RETURN_IF_ERROR(ReadLimits(source, limits, config.limits));
  SR_RETURN_IF_ERROR(ReadLog(source, log, config.log));
  SR_RETURN_IF_ERROR(ReadAudit(source, audit, config.audit));
  return config;
}

Result<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    std::string message = path + ": cannot open configuration file: " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(std::move(message));
    return InvalidArgumentError(std::move(message), "invalid_config");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return InvalidArgumentError(path + ": cannot read configuration file", "invalid_config");
  }
  SR_ASSIGN_OR_RETURN(Config config, ParseConfig(text.str(), path));

  const std::filesystem::path base = std::filesystem::absolute(path).parent_path();
  Resolve(base, config.store.path);
  Resolve(base, config.store.password_file);
  Resolve(base, config.hsm.pin_file);
  Resolve(base, config.server.tls_cert);
  Resolve(base, config.server.tls_key);
  Resolve(base, config.server.client_ca);
  Resolve(base, config.audit.checkpoint_file);
  return config;
}

Result<SecretString> ReadSecret(const std::string& env, const std::string& file,
                                const std::string& what) {
  if (!env.empty()) {
    const char* value = std::getenv(env.c_str());
    if (value != nullptr) {
      if (*value == '\0')
        return InvalidArgumentError(what + ": environment variable " + env + " is empty");
      return SecretString(value);
    }
    if (file.empty()) {
      return NotFoundError(what + ": environment variable " + env + " is not set");
    }
  }
  if (file.empty()) {
    return InvalidArgumentError(what +
                                ": no source configured (an environment variable or a file)");
  }

  // O_NOFOLLOW is deliberately not used: mounted secrets (Kubernetes, systemd
  // credentials) are commonly symlinks. The checks below apply to the target.
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    std::string message = what + ": cannot open " + file + ": " + std::strerror(err);
    if (err == ENOENT) return NotFoundError(std::move(message));
    return PermissionDeniedError(std::move(message));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return PermissionDeniedError(what + ": cannot stat " + file + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return FailedPreconditionError(what + ": " + file + " is not a regular file", "invalid_config");
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    // Same stance as ssh with private keys: a secret others can read is not a secret.
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return PermissionDeniedError(what + ": " + file + " is accessible by other users (mode " +
                                 mode + "); chmod 600 it");
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxSecretFileBytes) {
    return FailedPreconditionError(what + ": " + file + " is too large for a secret file",
                                   "invalid_config");
  }

  SecretStdString buffer;
  buffer.resize(kMaxSecretFileBytes + 1);
  std::size_t used = 0;
  while (used < buffer.size()) {
    const ssize_t n = ::read(fd, buffer.data() + used, buffer.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return PermissionDeniedError(what + ": cannot read " + file + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > kMaxSecretFileBytes) {
    return FailedPreconditionError(what + ": " + file + " is too large for a secret file",
                                   "invalid_config");
  }
  std::string_view content(buffer.data(), used);
  const std::size_t eol = content.find_first_of("\r\n");
  if (eol != std::string_view::npos) content = content.substr(0, eol);
  if (content.empty()) return InvalidArgumentError(what + ": " + file + " is empty");
  SecretString secret(content);
  SecureWipe(buffer.data(), buffer.size());
  return secret;
}

}  // namespace strongroom::config
