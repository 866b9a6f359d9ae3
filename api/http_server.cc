// api::Server over Pistache: our own small dispatcher in one Http::Handler.
//
// Not Pistache's Rest::Router: with our own dispatcher every unknown route is
// our JSON 404, a known path with a wrong method is our JSON 405 with Allow, and
// every handler runs inside one guard (HandleGuarded) that turns any exception
// into a 500 without e.what(), so Pistache's own fallback (which sends e.what())
// is never reached from our code.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <pistache/endpoint.h>
#include <pistache/http.h>
#include <pistache/http_headers.h>
#include <pistache/net.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "api/internal/access_log.h"
#include "api/internal/framed_handler.h"
#include "api/internal/http_status.h"
#include "api/internal/metrics.h"
#include "api/internal/put_body.h"
#include "api/internal/rate_limit.h"
#include "api/internal/reply.h"
#include "api/internal/routes.h"
#include "api/internal/tls_front.h"
#include "api/mcp_handler.h"
#include "api/render.h"
#include "api/server.h"
#include "base/secret.h"
#include "vault/api_key.h"
#include "vault/vault.h"

namespace strongroom::api {
namespace {

namespace Http = Pistache::Http;
using internal::AllowedMethods;
using internal::ErrorReply;
using internal::HeaderValue;
using internal::JsonReply;
using internal::Match;
using internal::MatchPath;
using internal::NeedsKey;
using internal::PercentDecode;
using internal::Reply;
using internal::Route;
using nlohmann::ordered_json;

// State shared by every clone of the handler (Pistache clones it per worker).
struct ServerState {
  vault::Vault* vault = nullptr;
  std::size_t max_body_bytes = 64 * 1024;
  std::unique_ptr<McpHandler> mcp;
  std::unique_ptr<internal::Metrics> metrics;
  std::unique_ptr<internal::RequestLimits> limits;  // null: no limits
  bool json_log = false;
  const internal::TlsFront* tls_front = nullptr;  // HTTPS: every request comes through it
};

// GET, or HEAD: answered as GET, without the body (SPEC 5a).
bool IsGet(const Http::Request& request) {
  return request.method() == Http::Method::Get || request.method() == Http::Method::Head;
}

class VaultHandler final : public Http::Handler {
 public:
  HTTP_PROTOTYPE(VaultHandler)

  explicit VaultHandler(std::shared_ptr<ServerState> state) : state_(std::move(state)) {}

  void onRequest(const Http::Request& request, Http::ResponseWriter response) override {
    const auto started = std::chrono::steady_clock::now();
    const Match match = MatchPath(request.resource());
    // Only limits and JSON logs need the key id: text logs without limits skip the parse.
    const std::string key_id =
        state_->limits || state_->json_log ? PresentedKeyId(request, match.route) : std::string();
    std::string ip;
    Reply reply;
    // requestId and remote of the request's audit event (SPEC 12).
    vault::RequestContext context;
    try {
      // The remote client; none: the request bypassed the TLS front.
      std::optional<std::string> client;
      if (state_->tls_front) {
        client = state_->tls_front->ClientHost(request.address().host(), request.address().port());
      } else {
        client = NeedsKey(match.route) ? request.address().host() : std::string();
      }
      if (client && NeedsKey(match.route)) {
        context = vault::RequestContext{internal::NewRequestId(), *client};
      }
      if (client && state_->limits && NeedsKey(match.route)) ip = *client;
      const int wait = ip.empty() ? 0 : state_->limits->Check(ip, key_id);
      reply = !client    ? ErrorReply(403, "forbidden", "connect through the HTTPS listener")
              : wait > 0 ? RateLimited(wait)
                         : Handle(request, match, context);
    } catch (...) {
      // One guard for every route; the exception text may carry anything, so
      // neither the client nor the log gets it.
      spdlog::error("unhandled exception in {} {}", Http::methodString(request.method()),
                    internal::EscapeForLog(request.resource()));
      reply = ErrorReply(InternalError("unhandled exception"));
    }
    try {
      Pistache::Async::Promise<ssize_t> sent = internal::SendReply(request, reply, response);
      // Connection: close (SPEC 5a): the connection ends after this response.
      if (internal::WantsClose(request))
        internal::FramedHandler::CloseAfter(response, std::move(sent));
    } catch (...) {
      spdlog::warn("failed to send a response to {} {}", Http::methodString(request.method()),
                   internal::EscapeForLog(request.resource()));
    }
    // The body may hold secret data (GET, MCP vault.get); Pistache has copied it.
    SecureWipe(reply.body.data(), reply.body.size());
    if (!ip.empty()) state_->limits->Record(ip, key_id, reply.status);
    Account(request, match.route, key_id, context.request_id, reply, started);
  }

  void onTimeout(const Http::Request& /*request*/, Http::ResponseWriter response) override {
    try {
      Reply reply = ErrorReply(408, "request_timeout", "request not received in time");
      response.headers().add<Http::Header::ContentType>(MIME(Application, Json));
      response.send(Http::Code::Request_Timeout, reply.body);
    } catch (...) {
    }
  }

 private:
  // The key id of the API key presented to a keyed route ("" if none or malformed).
  static std::string PresentedKeyId(const Http::Request& request, Route route) {
    if (!NeedsKey(route)) return {};
    const std::optional<std::string> header = HeaderValue(request, "Authorization");
    if (!header) return {};
    const std::optional<std::string_view> token = vault::BearerToken(*header);
    if (!token) return {};
    return vault::ParseApiKeyId(*token).value_or("");
  }

  static Reply RateLimited(int retry_after_seconds) {
    Reply reply = ErrorReply(429, "rate_limited", "too many requests, retry later");
    reply.error->retry_after = true;
    reply.retry_after_seconds = retry_after_seconds;
    return reply;
  }

  // Metrics and the access log of one answered request: method, path or route
  // template, status, latency, key id; never bodies or header values.
  void Account(const Http::Request& request, Route route, const std::string& key_id,
               const std::string& audit_request_id, const Reply& reply,
               std::chrono::steady_clock::time_point started) const {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string method = Http::methodString(request.method());
    const Route label = route;
    internal::Metrics& metrics = *state_->metrics;
    metrics.ObserveRequest(label, internal::MethodLabelOf(method), reply.status, seconds);
    if (reply.error &&
        (reply.error->error == "store_unavailable" || reply.error->error == "busy")) {
      metrics.CountStoreError();
    }
    // The audit event's requestId where there is one, so logs and events join.
    const std::string request_id = !state_->json_log           ? std::string()
                                   : !audit_request_id.empty() ? audit_request_id
                                                               : internal::NewRequestId();
    internal::LogAccess(state_->json_log,
                        internal::AccessRecord{.request_id = request_id,
                                               .method = method,
                                               .path = request.resource(),
                                               .route = internal::RouteTemplate(label),
                                               .status = reply.status,
                                               .duration_ms = seconds * 1000.0,
                                               .identity_id = reply.identity_id,
                                               .key_id = key_id});
  }

  Reply Handle(const Http::Request& request, const Match& match,
               const vault::RequestContext& context) {
    if (match.route == Route::kOther) {
      return ErrorReply(404, "not_found", "no such route");
    }
    std::vector<Http::Method> allowed = AllowedMethods(match.route);
    const Http::Method method = IsGet(request) ? Http::Method::Get : request.method();
    if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) {
      Reply reply = ErrorReply(405, "method_not_allowed", "method not allowed on this route");
      reply.allow = std::move(allowed);
      return reply;
    }
    switch (match.route) {
      case Route::kHealthz:
        return JsonReply(200, ordered_json{{"status", "ok"}});
      case Route::kReadyz: {
        const vault::Readiness readiness = state_->vault->CheckReadiness();
        return JsonReply(readiness.ready() ? 200 : 503, ReadinessJson(readiness));
      }
      case Route::kMetrics:
        return Metrics();
      case Route::kMcp:
        return Mcp(request, context);
      case Route::kWhoami: {  // any valid key: no scope (SPEC 4)
        const std::string authorization = HeaderValue(request, "Authorization").value_or("");
        return Render(ToJson(
            state_->vault->Whoami(vault::Caller::WithAuthorization(authorization, context))));
      }
      default:
        return Rest(request, match, context);
    }
  }

  Reply Metrics() const {
    // Prometheus text exposition (SPEC 14), unauthenticated like the probes:
    // labels are route templates, methods and statuses, never a name, key id
    // or secret. Reading it makes no HSM call; each /readyz adds one (its
    // CheckHsm probe).
    Reply reply;
    reply.json = false;
    reply.text = true;
    reply.body = state_->metrics->Scrape();
    return reply;
  }

  Reply Mcp(const Http::Request& request, const vault::RequestContext& context) const {
    auto header = [&request](const char* name) { return HeaderValue(request, name).value_or(""); };
    const std::string authorization = header("Authorization"), accept = header("Accept"),
                      content_type = header("Content-Type"),
                      version = header("MCP-Protocol-Version"), session = header("Mcp-Session-Id"),
                      origin = header("Origin"), host = header("Host");
    const std::string method = IsGet(request) ? "GET" : Http::methodString(request.method());
    McpHttpResponse mcp =
        state_->mcp->Handle(McpHttpRequest{method, authorization, accept, content_type, version,
                                           session, origin, host, request.body(), context});
    Reply reply;
    reply.status = mcp.status;
    reply.body = std::move(mcp.body);
    reply.json = !reply.body.empty();
    // Pistache 0.0.5 does not write raw headers: map the few MCP sets to typed ones.
    for (const auto& [name, value] : mcp.headers) {
      if (name == "Allow") reply.allow = {Http::Method::Post};
      if (name == "WWW-Authenticate" || name == "Retry-After") {
        if (!reply.error) reply.error = internal::HttpError{mcp.status};
        if (name == "WWW-Authenticate") reply.error->www_authenticate = true;
        if (name == "Retry-After") reply.error->retry_after = true;
      }
    }
    return reply;
  }

  // The REST routes of SPEC 5. Scopes are the vault's to check.
  Reply Rest(const Http::Request& request, const Match& match,
             const vault::RequestContext& context) {
    vault::Vault& vault = *state_->vault;
    const std::string authorization = HeaderValue(request, "Authorization").value_or("");
    // The hot reads: the vault checks the key in the same store read as the
    // credential; GET renders without a DOM.
    if ((match.route == Route::kCredential && IsGet(request)) || match.route == Route::kTotp) {
      if (std::optional<std::string> name = PercentDecode(match.raw_name)) {
        const auto caller = vault::Caller::WithAuthorization(authorization, context);
        if (match.route == Route::kTotp) return Render(ToJson(vault.Totp(caller, *name)));
        Result<vault::OpenedCredential> got = vault.Get(caller, *name);
        Reply reply = TextReply(got, CredentialText);
        if (got.ok()) reply.identity_id = got->credential.identity_id;
        return reply;
      }
      // A bad escape is 400 invalid_name, but only after authentication (below).
    }
    Result<vault::Principal> principal = vault.Authenticate(authorization, context);
    if (!principal.ok()) return ErrorReply(principal.status());
    Reply reply = RestAuthenticated(request, match, *principal);
    reply.identity_id = principal->identity_id;
    return reply;
  }

  // The REST routes once the caller is authenticated (all but the hot reads).
  Reply RestAuthenticated(const Http::Request& request, const Match& match,
                          const vault::Principal& principal) {
    vault::Vault& vault = *state_->vault;
    if (match.route == Route::kList) {
      const auto& query = request.query();
      const std::optional<std::string> limit = query.get("limit"), cursor = query.get("cursor");
      auto view = [](const std::optional<std::string>& s) -> std::optional<std::string_view> {
        if (!s) return std::nullopt;
        return std::string_view(*s);
      };
      return TextReply(vault.List(principal, view(limit), view(cursor)), ListText);
    }
    std::optional<std::string> name = PercentDecode(match.raw_name);
    if (!name) return ErrorReply(InvalidArgumentError("name is not valid", "invalid_name"));
    if (match.route == Route::kBackup) return Render(ToJson(vault.PopBackupCode(principal, *name)));
    if (request.method() == Http::Method::Delete) {
      Status deleted = vault.Delete(principal, *name);
      if (!deleted.ok()) return ErrorReply(deleted);
      Reply reply;
      reply.status = 204;
      reply.json = false;
      return reply;
    }
    if (request.method() != Http::Method::Put) {  // cannot happen: GET and HEAD were answered
      return ErrorReply(InternalError("unexpected method"));
    }
    // PUT (GET and HEAD were answered above). Scope before body checks: a read-only key
    // learns nothing from 4xx details.
    Status checked = vault::Authorize(principal, vault::Operation::kPut);
    if (checked.ok()) {
      checked = internal::CheckPutBody(HeaderValue(request, "Content-Type").value_or(""),
                                       request.body(), state_->max_body_bytes);
    }
    // Refused before the use case: the vault still records the request's event.
    if (!checked.ok())
      return ErrorReply(vault.Refuse(principal, vault::Operation::kPut, *name, checked));
    return Render(ToJson(vault.Put(principal, *name, request.body())));
  }

  static Reply Render(const Result<ordered_json>& result) {
    if (!result.ok()) return ErrorReply(result.status());
    return JsonReply(200, *result);
  }

  // A 200 with a body rendered as text from a use case's value.
  template <class T, class RenderText>
  static Reply TextReply(const Result<T>& result, RenderText render) {
    if (!result.ok()) return ErrorReply(result.status());
    Reply reply;
    if constexpr (std::is_same_v<decltype(render(*result)), std::string>) {
      reply.body = render(*result);
    } else {
      Result<std::string> body = render(*result);
      if (!body.ok()) return ErrorReply(body.status());
      reply.body = std::move(body).value();
    }
    return reply;
  }

  std::shared_ptr<ServerState> state_;
};

// Pistache's own default for the time a request's head and body may take.
constexpr std::chrono::seconds kHeadTimeout{60};

class PistacheServer final : public Server {
 public:
  PistacheServer(std::unique_ptr<vault::Vault> vault, std::shared_ptr<ServerState> state)
      : vault_(std::move(vault)), state_(std::move(state)) {}
  ~PistacheServer() override { Shutdown(); }

  Result<std::uint16_t> Listen(const ServerOptions& options) {
    try {
      if (!options.tls_cert.empty()) {  // SPEC 5a: our TLS front, plain Pistache behind it
        SR_ASSIGN_OR_RETURN(tls_front_, internal::TlsFront::Bind(options));
        state_->tls_front = tls_front_.get();
      }
      Pistache::Address address(tls_front_ ? "127.0.0.1:0" : options.listen);
      endpoint_ = std::make_unique<Http::Endpoint>(address);
      // Pistache's own limit sits well above ours so oversized bodies get our
      // JSON 413 (from CheckPutBody); only absurd requests hit Pistache's.
      std::size_t pistache_limit =
          std::max<std::size_t>(1 << 20, options.max_body_bytes * 2 + 16384);
      // Idle keep-alive connections close after idle_timeout (SPEC 5a); a
      // connection that never sends a request is idle too.
      const auto idle = std::chrono::seconds(std::max(1, options.idle_timeout_seconds));
      auto endpoint_options = Http::Endpoint::options()
                                  .threads(std::max(1, options.threads))
                                  .flags(Pistache::Tcp::Options::ReuseAddr)
                                  .maxRequestSize(pistache_limit)
                                  .keepaliveTimeout(idle)
                                  .headerTimeout(std::min<std::chrono::seconds>(idle, kHeadTimeout))
                                  .bodyTimeout(kHeadTimeout);
      endpoint_->init(endpoint_options);
      auto policy = std::make_shared<internal::ConnectionPolicy>();
      policy->max_body_bytes = options.max_body_bytes;
      policy->max_connections = internal::ConnectionCapForFdLimit(options.max_connections);
      policy->json_log = options.json_log;
      auto inner = std::make_shared<VaultHandler>(state_);
      inner->setMaxRequestSize(pistache_limit);
      endpoint_->setHandler(std::make_shared<internal::FramedHandler>(inner, policy));
      endpoint_->serveThreaded();
      port_ = static_cast<std::uint16_t>(endpoint_->getPort());
      if (tls_front_) port_ = tls_front_->Serve(port_);
      return port_;
    } catch (const std::exception& e) {
      // Pistache's bind/parse errors carry the address and errno text, nothing secret.
      return UnavailableError("cannot listen on " + options.listen + ": " + e.what(),
                              "listen_failed");
    } catch (...) {
      return UnavailableError("cannot listen on " + options.listen, "listen_failed");
    }
  }

  std::uint16_t port() const override { return port_; }

  void Shutdown() override {
    if (stopped_.exchange(true)) return;
    if (tls_front_) tls_front_->Shutdown();
    if (endpoint_) {
      try {
        endpoint_->shutdown();
      } catch (...) {
      }
    }
    vault_->Shutdown();
  }

 private:
  std::unique_ptr<vault::Vault> vault_;
  std::shared_ptr<ServerState> state_;
  std::unique_ptr<Http::Endpoint> endpoint_;
  std::unique_ptr<internal::TlsFront> tls_front_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                              store::CredentialStore* store, kms::KeyManager* keys,
                                              const Clock* clock) {
  vault::VaultOptions vault_options;
  vault_options.audit = options.audit;
  auto vault = std::make_unique<vault::Vault>(store, keys, clock, vault_options);
  auto state = std::make_shared<ServerState>();
  state->vault = vault.get();
  state->max_body_bytes = options.max_body_bytes;
  state->metrics = std::make_unique<internal::Metrics>(
      vault.get(), internal::BuildInfo{options.build_version, options.build_commit});
  if (options.auth_failures_per_minute_per_ip > 0 || options.requests_per_second_per_identity > 0) {
    state->limits = std::make_unique<internal::RequestLimits>(
        options.auth_failures_per_minute_per_ip, options.requests_per_second_per_identity);
  }
  state->json_log = options.json_log;
  state->mcp = std::make_unique<McpHandler>(
      vault.get(), McpOptions{.underscore_names = options.mcp_underscore_names,
                              .max_body_bytes = options.max_body_bytes});
  auto server = std::make_unique<PistacheServer>(std::move(vault), std::move(state));
  SR_RETURN_IF_ERROR(server->Listen(options).status());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace strongroom::api
