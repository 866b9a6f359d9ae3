// strongroom: the one binary (SPEC 8).
//
//   strongroom serve [--config FILE] [--listen ADDR] [--threads N]
//   strongroom serve --dev [--data-dir DIR] [--listen ADDR] [--threads N]
//   strongroom admin [--config FILE | --data-dir DIR] identity create|list|delete NAME
//   strongroom admin [--config FILE | --data-dir DIR] key create|list|revoke ...
//   strongroom admin [--config FILE | --data-dir DIR] identity rotate-kek NAME
//   strongroom admin [--config FILE | --data-dir DIR] master-key status|rotate|retire ...
//   strongroom admin [--config FILE | --data-dir DIR] audit export [--server ID] [--since SEQ]
//   strongroom admin [--config FILE | --data-dir DIR] audit checkpoints|public-key
//   strongroom audit verify --events FILE --checkpoints FILE --public-key FILE
//   strongroom mcp --addr URL
//   strongroom version
//
// Exit codes: 0 success, 2 usage error, 1 anything else, with a one-line reason
// on stderr ("strongroom: error: ..."). Secrets are never taken from argv.
#include <signal.h>
#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "app/commands.h"
#include "app/log_sink.h"
#include "app/mcp_bridge.h"
#include "base/secret.h"
#include "generated/version.h"

namespace strongroom::app {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

// Prints "strongroom: error: MESSAGE" as exactly one line.
void PrintError(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "strongroom: error: %s\n", message.c_str());
  std::fflush(stderr);
}

// Logs go to stderr (stdout carries the parsed contract lines): coloured and
// unbuffered on a terminal, otherwise through BufferedFdSink (app/log_sink.h:
// warnings at once, info lines within a second). The level defaults to warn so
// that a failed start-up prints one line; `serve` raises it to info once it
// listens. STRONGROOM_LOG_LEVEL (trace, debug, info, warn, error, off)
// overrides both.
void SetUpLogging() {
  std::shared_ptr<spdlog::logger> logger;
  if (::isatty(STDERR_FILENO)) {
    logger = spdlog::stderr_color_mt("strongroom");
  } else {
    logger = std::make_shared<spdlog::logger>("strongroom",
                                              std::make_shared<BufferedFdSink>(STDERR_FILENO));
    logger->flush_on(spdlog::level::warn);
    // The flusher thread must never receive SIGINT/SIGTERM (only the main
    // thread's sigwait() may): start it with every signal blocked.
    sigset_t all, previous;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    spdlog::flush_every(std::chrono::seconds(1));
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::warn);
  if (const char* level = std::getenv("STRONGROOM_LOG_LEVEL")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
}

// SIGINT/SIGTERM are blocked before any thread exists so that every thread
// inherits the mask and only the main thread's sigwait() receives them.
void BlockTerminationSignals() {
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGINT);
  ::sigaddset(&set, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int Main(int argc, char** argv) {
  HardenProcess();  // no core dumps, no ptrace by other users: we handle PINs and keys
  ::signal(SIGPIPE, SIG_IGN);
  SetUpLogging();

  CLI::App app{"Strongroom: a self-hosted, HSM-backed credential vault for AI agents.",
               "strongroom"};
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersionLine);
  CLI::App* version =
      app.add_subcommand("version", "Print the version and the git commit it was built from.");

  ServeOptions serve_options;
  CLI::App* serve = app.add_subcommand("serve", "Run the vault server (REST and MCP).");
  CLI::Option* serve_config = serve->add_option(
      "--config", serve_options.target.config_path,
      "Configuration file (TOML); default $STRONGROOM_CONFIG or /etc/strongroom/strongroom.toml");
  CLI::Option* serve_dev = serve->add_flag(
      "--dev", serve_options.dev,
      "Dev mode: SoftHSM2 token, SQLite and a dev API key in --data-dir, created on first run");
  CLI::Option* serve_dir = serve->add_option("--data-dir", serve_options.target.data_dir,
                                             "Dev mode data directory (default ./.strongroom-dev)");
  serve_dev->excludes(serve_config);
  serve_dir->needs(serve_dev);
  serve->add_option("--listen", serve_options.listen,
                    "Listen address host:port (port 0: any free port); overrides the config");
  serve->add_option("--threads", serve_options.threads, "Worker threads; overrides the config")
      ->check(CLI::Range(1, 256));
  serve
      ->add_option(
          "--mcp-tool-names", serve_options.mcp_tool_names,
          "MCP tool names: dotted (vault.get) or underscore (vault_get); overrides the config")
      ->check(CLI::IsMember({"dotted", "underscore"}));

  AdminOptions admin_options;
  CLI::App* admin = app.add_subcommand("admin", "Manage identities, API keys and the audit log.");
  admin->require_subcommand(1);
  CLI::Option* admin_config =
      admin->add_option("--config", admin_options.target.config_path, "Configuration file (TOML)");
  CLI::Option* admin_dir =
      admin->add_option("--data-dir", admin_options.target.data_dir,
                        "Dev mode data directory (default ./.strongroom-dev if it exists)");
  admin_config->excludes(admin_dir);

  CLI::App* identity = admin->add_subcommand("identity", "Create, list or delete identities.");
  identity->require_subcommand(1)->fallthrough();
  CLI::App* identity_create = identity->add_subcommand("create", "Create an identity.");
  identity_create->add_option("NAME", admin_options.name, "Identity name")->required();
  CLI::App* identity_list = identity->add_subcommand("list", "List identities.");
  CLI::App* identity_delete = identity->add_subcommand(
      "delete", "Delete an identity with its API keys and credentials (crypto-shredding).");
  identity_delete->add_option("NAME", admin_options.name, "Identity name")->required();

  CLI::App* key = admin->add_subcommand("key", "Create, list or revoke API keys.");
  key->require_subcommand(1)->fallthrough();
  CLI::App* key_create = key->add_subcommand(
      "create", "Create an API key; prints it alone on the last line (shown only once).");
  key_create->add_option("--identity", admin_options.identity, "Identity name")->required();
  key_create->add_option("--scope", admin_options.scopes, "vault:read or vault:write (repeatable)")
      ->required();
  key_create->add_option("--ttl", admin_options.ttl, "Lifetime like 90s, 15m, 12h or 30d");
  CLI::App* key_list = key->add_subcommand("list", "List an identity's API keys (never the keys).");
  key_list->add_option("--identity", admin_options.identity, "Identity name")->required();
  CLI::App* key_revoke = key->add_subcommand("revoke", "Revoke an API key.");
  key_revoke->add_option("KEY_ID", admin_options.name, "Key id (from key list)")->required();
  CLI::App* identity_rotate_kek = identity->add_subcommand(
      "rotate-kek", "Give an identity a new KEK and rewrap its credentials' DEKs under it.");
  identity_rotate_kek->add_option("NAME", admin_options.name, "Identity name")->required();

  CLI::App* master_key =
      admin->add_subcommand("master-key", "Master key status, rotation and retirement.");
  master_key->require_subcommand(1)->fallthrough();
  CLI::App* master_key_status =
      master_key->add_subcommand("status", "One line per master key: LABEL state=... keks=N.");
  CLI::App* master_key_rotate = master_key->add_subcommand(
      "rotate", "Make a key pair already on the token active and rewrap every KEK under it.");
  master_key_rotate->add_option("--new-label", admin_options.new_label, "The new key's label")
      ->required();
  master_key_rotate->add_flag("--dry-run", admin_options.dry_run,
                              "Count what would be rewrapped; change nothing");
  CLI::App* master_key_retire =
      master_key->add_subcommand("retire", "Retire a master key no KEK is wrapped under any more.");
  master_key_retire->add_option("LABEL", admin_options.name, "Master key label")->required();
  master_key_retire->add_flag("--destroy", admin_options.destroy,
                              "Also destroy the key pair on the token");
  CLI::App* admin_audit = admin->add_subcommand("audit", "The audit log (SPEC 12).");
  admin_audit->require_subcommand(1)->fallthrough();
  CLI::App* audit_export =
      admin_audit->add_subcommand("export", "Print audit events as JSON lines, by server and seq.");
  audit_export->add_option("--server", admin_options.audit_server, "Only this server's chain");
  audit_export->add_option("--since", admin_options.audit_since, "Only events with seq >= SEQ")
      ->check(CLI::PositiveNumber);
  CLI::App* audit_checkpoints = admin_audit->add_subcommand(
      "checkpoints", "Print the stored audit checkpoints as JSON lines.");
  CLI::App* audit_public_key = admin_audit->add_subcommand(
      "public-key", "Print the audit signing key's public key (PEM), for `audit verify`.");
  for (CLI::App* leaf : {identity_create, identity_list, identity_delete, identity_rotate_kek,
                         key_create, key_list, key_revoke, master_key_status, master_key_rotate,
                         master_key_retire, audit_export, audit_checkpoints, audit_public_key}) {
    leaf->fallthrough();
  }

  AuditVerifyOptions verify_options;
  CLI::App* audit =
      app.add_subcommand("audit", "Work with exported audit logs (no database, no HSM).");
  audit->require_subcommand(1);
  CLI::App* audit_verify = audit->add_subcommand(
      "verify", "Check exported events against the signed checkpoints; exit 1 on the first break.");
  audit_verify
      ->add_option("--events", verify_options.events_path,
                   "Events, JSON lines (`admin audit export`); - for standard input")
      ->required();
  audit_verify
      ->add_option("--checkpoints", verify_options.checkpoints_path,
                   "Checkpoints, JSON lines (audit.checkpoint_file or `admin audit checkpoints`)")
      ->required();
  audit_verify
      ->add_option("--public-key", verify_options.public_key_path,
                   "The signing key's public key, PEM (`admin audit public-key`)")
      ->required();

  std::string mcp_addr;
  CLI::App* mcp = app.add_subcommand(
      "mcp", "Bridge an MCP client on stdin/stdout to a server (key from STRONGROOM_TOKEN).");
  mcp->add_option("--addr", mcp_addr, "Server URL, e.g. http://127.0.0.1:8700")->required();
  std::string mcp_tool_names = "dotted";
  mcp->add_option("--mcp-tool-names", mcp_tool_names,
                  "dotted (vault.get) or underscore (vault_get) tool names")
      ->check(CLI::IsMember({"dotted", "underscore"}));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      return app.exit(e);  // --help, --version
    }
    PrintError(std::string(e.what()) + " (see strongroom --help)");
    return kExitUsage;
  }

  if (version->parsed()) {
    std::printf("%s\n", kVersionLine);
    return kExitOk;
  }
  Status status;
  if (serve->parsed()) {
    BlockTerminationSignals();
    status = RunServe(serve_options);
  } else if (admin->parsed()) {
    // The parsed noun and verb ("identity" "create", "master-key" "rotate").
    for (CLI::App* noun : admin->get_subcommands()) {
      for (CLI::App* verb : noun->get_subcommands()) {
        admin_options.command = {noun->get_name(), verb->get_name()};
      }
    }
    status = RunAdmin(admin_options);
  } else if (audit->parsed()) {
    status = RunAuditVerify(verify_options);
  } else if (mcp->parsed()) {
    status = RunMcpBridge(McpBridgeOptions{mcp_addr, mcp_tool_names == "underscore"});
  }

  std::fflush(stdout);
  spdlog::default_logger()->flush();  // buffered log lines before the error line
  if (status.ok()) return kExitOk;
  PrintError(status.message());
  return IsUsageError(status) ? kExitUsage : kExitFailure;
}

}  // namespace

Status UsageError(std::string message) {
  return InvalidArgumentError(std::move(message), "usage_error");
}

bool IsUsageError(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument && status.error_code() == "usage_error";
}

}  // namespace strongroom::app

int main(int argc, char** argv) {
  try {
    return strongroom::app::Main(argc, argv);
  } catch (const std::exception& e) {
    // Exceptions should not reach here; if one does, do not echo its text
    // (library messages are not vetted as secret-free).
    std::fprintf(stderr, "strongroom: error: internal error (unexpected exception)\n");
    return 1;
  } catch (...) {
    std::fprintf(stderr, "strongroom: error: internal error (unexpected exception)\n");
    return 1;
  }
}
