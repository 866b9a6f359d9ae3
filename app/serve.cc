// `strongroom serve`: config mode and dev mode (SPEC 8).
//
// Start-up order: configuration, PIN, HSM (never creating keys outside dev
// mode), store, listener; only then is anything printed on stdout, so a failed
// start shows exactly one line, on stderr. Stdout is a contract parsed by tests
// and scripts:
//   strongroom: dev mode, data in DIR                      (dev mode only)
//   strongroom: dev API key (vault:read vault:write):       (dev mode only)
//   <the key, alone on its line>                            (dev mode only)
//   strongroom: listening on http://HOST:PORT
#include <signal.h>

#include <spdlog/spdlog.h>
#include <cstdio>

#include "api/server.h"
#include "app/audit_setup.h"
#include "app/checkpoint_signer.h"
#include "app/commands.h"
#include "app/files.h"
#include "app/json_log.h"
#include "app/vault_setup.h"
#include "config/config.h"
#include "generated/version.h"
#include "kms/key_manager.h"
#include "store/credential_store.h"
#include "vault/admin.h"
#include "vault/audit_checkpointer.h"

namespace strongroom::app {
namespace {

// Finds or creates the `dev` identity.
Result<model::Identity> EnsureDevIdentity(store::CredentialStore& store, kms::KeyManager& keys) {
  Result<model::Identity> existing = store.GetIdentityByName(kDevIdentity);
  if (existing.ok()) return existing;
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  Result<model::Identity> created = vault::CreateIdentity(store, keys, kDevIdentity, Clock::Real());
  // A concurrent `admin identity create dev` may have won; use theirs.
  if (!created.ok() && created.status().code() == StatusCode::kAlreadyExists) {
    return store.GetIdentityByName(kDevIdentity);
  }
  return created;
}

std::string UrlHost(const std::string& host) {
  if (host.find(':') != std::string::npos) return "[" + host + "]";
  return host;
}

// Blocks until SIGINT or SIGTERM arrives; returns its number.
int WaitForTermination() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGTERM);
  int signal_number = 0;
  while (::sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

// Start-up runs with SIGINT/SIGTERM blocked (see main.cc); a signal that arrived
// meanwhile stays pending. Checked between the slow steps so that Ctrl-C during
// start-up takes effect without waiting for the listener.
Status CheckNotInterrupted() {
  sigset_t pending;
  ::sigemptyset(&pending);
  if (::sigpending(&pending) == 0 &&
      (::sigismember(&pending, SIGINT) == 1 || ::sigismember(&pending, SIGTERM) == 1)) {
    return AbortedError("interrupted during start-up");
  }
  return Status::Ok();
}

}  // namespace

Status RunServe(const ServeOptions& options) {
  config::Config config;
  std::optional<DevPaths> dev_paths;
  if (options.dev) {
    dev_paths =
        DevPathsFor(options.target.data_dir.empty() ? kDefaultDevDir : options.target.data_dir);
    config = DevConfig(*dev_paths);
  } else {
    std::string path = options.target.config_path;
    if (path.empty()) {
      const char* env = std::getenv("STRONGROOM_CONFIG");
      path = env != nullptr && *env != '\0' ? env : kDefaultConfigPath;
      if (!PathExists(path)) {
        return UsageError("no configuration: pass --config FILE (or --dev), or create " + path);
      }
    }
    SR_ASSIGN_OR_RETURN(config, config::LoadConfigFile(path));
  }
  if (!options.listen.empty()) {
    if (!config::ParseHostPort(options.listen)) {
      return UsageError("--listen: expected host:port (port 0..65535), got \"" + options.listen +
                        "\"");
    }
    config.server.listen = options.listen;
  }
  if (options.threads != 0) config.server.threads = options.threads;
  if (!options.mcp_tool_names.empty()) config.server.mcp_tool_names = options.mcp_tool_names;

  if (dev_paths) SR_RETURN_IF_ERROR(PrepareDevDir(*dev_paths));
  SR_RETURN_IF_ERROR(CheckNotInterrupted());
  SR_ASSIGN_OR_RETURN(std::unique_ptr<store::CredentialStore> store,
                      OpenStore(config.store, config.server.threads));
  SR_RETURN_IF_ERROR(CheckNotInterrupted());
  // The master key the database names active (SPEC 11), else the configured one.
  SR_ASSIGN_OR_RETURN(std::unique_ptr<kms::KeyManager> keys, OpenKeys(config.hsm, store.get()));
  SR_RETURN_IF_ERROR(CheckNotInterrupted());

  SecretString dev_key;
  if (dev_paths) {
    SR_ASSIGN_OR_RETURN(model::Identity identity, EnsureDevIdentity(*store, *keys));
    bool created = false;
    SR_ASSIGN_OR_RETURN(dev_key, EnsureDevApiKey(*store, *dev_paths, identity.id, &created));
  }

  api::ServerOptions server_options;
  server_options.listen = config.server.listen;
  server_options.threads = config.server.threads;
  server_options.tls_cert = config.server.tls_cert;
  server_options.tls_key = config.server.tls_key;
  server_options.client_ca = config.server.client_ca;
  server_options.mcp_underscore_names = config.server.mcp_tool_names == "underscore";
  server_options.max_connections = config.server.max_connections;
  server_options.idle_timeout_seconds = config.server.idle_timeout;
  if (!dev_paths) {  // SPEC 14: `serve --dev` applies no limits
    server_options.auth_failures_per_minute_per_ip = config.limits.auth_failures_per_minute_per_ip;
    server_options.requests_per_second_per_identity =
        config.limits.requests_per_second_per_identity;
  }
  server_options.json_log = config.log.format == "json";
  if (server_options.json_log) UseJsonLogFormat();
  server_options.build_version = kVersion;
  server_options.build_commit = kGitCommit;
  const config::HostPort bound = *config::ParseHostPort(config.server.listen);
  server_options.audit = ServerAuditOptions(config, bound.port);
  // SPEC 12: while audit is on, a signing key missing from the token is a
  // start-up error (before anything listens), like a missing master key.
  std::unique_ptr<audit::CheckpointSigner> signer;
  if (server_options.audit.mode != vault::AuditMode::kOff) {
    SR_ASSIGN_OR_RETURN(signer, MakeCheckpointSigner(config.hsm, config.audit.signing_key_label));
  }
  SR_ASSIGN_OR_RETURN(std::unique_ptr<api::Server> server,
                      api::Server::Start(server_options, store.get(), keys.get(), &Clock::Real()));

  std::unique_ptr<vault::AuditCheckpointer> checkpointer;
  if (signer) {
    const std::optional<std::string> file = CheckpointFilePath(config);
    if (!file)
      spdlog::info("audit: no checkpoint_file with MySQL: checkpoints kept in the DB only");
    checkpointer = std::make_unique<vault::AuditCheckpointer>(
        store.get(), signer.get(), server_options.audit.server_id, file,
        std::chrono::seconds(config.audit.checkpoint_interval_s), &Clock::Real());
    checkpointer->Start();
  }
  const char* scheme = config.server.tls_cert.empty() ? "http" : "https";
  if (dev_paths) {
    std::printf("strongroom: dev mode, data in %s\n", dev_paths->dir.c_str());
    std::printf("strongroom: dev API key (vault:read vault:write):\n");
    std::fwrite(dev_key.view().data(), 1, dev_key.size(), stdout);
    std::printf("\n");
    dev_key.Clear();
  }
  std::printf("strongroom: listening on %s://%s:%u\n", scheme, UrlHost(bound.host).c_str(),
              static_cast<unsigned>(server->port()));
  std::fflush(stdout);

  // Logs from here on are the server's own (requests, HSM reconnects).
  if (std::getenv("STRONGROOM_LOG_LEVEL") == nullptr) spdlog::set_level(spdlog::level::info);
  const int signal_number = WaitForTermination();
  spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  server->Shutdown();
  server.reset();
  if (checkpointer) checkpointer->Stop();  // a last checkpoint over every event
  store.reset();
  keys.reset();
  return Status::Ok();
}

}  // namespace strongroom::app
