#include "portal_server.h"

#include "cloister/core/config.h"
#include "cloister/core/log.h"
#include "cloister/http/server.h"
#include "cloister/service/service_runtime.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <csignal>
#include <iostream>
#include <map>
#include <set>

namespace cloister::cli {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxFiles = 512;
constexpr std::uintmax_t kMaxFileBytes = 32 * 1024 * 1024;

std::string content_type_for(const fs::path& file) {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".map", "application/json"}, {".svg", "image/svg+xml"},
      {".png", "image/png"}, {".ico", "image/x-icon"}, {".woff2", "font/woff2"}, {".txt", "text/plain; charset=utf-8"},
  };
  auto found = types.find(file.extension().string());
  return found == types.end() ? "application/octet-stream" : found->second;
}

// scheme://host[:port] of a URL, or "" when it is not http(s).
std::string origin_of(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const auto name = url.substr(0, scheme);
  if (name != "https" && name != "http") return {};
  auto end = url.find_first_of("/?#", scheme + 3);
  auto origin = url.substr(0, end);
  // Only characters a CSP source may hold (no spaces, quotes or semicolons from a hostile file).
  for (char c : origin) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view(":/.-[]").find(c) != std::string_view::npos)) {
      return {};
    }
  }
  return origin;
}

void add_security_headers(http::Response& response, const std::string& csp) {
  response.set_header("Content-Security-Policy", csp);
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("Referrer-Policy", "no-referrer");
  response.set_header("Cross-Origin-Opener-Policy", "same-origin");
  response.set_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  response.set_header("Cache-Control", "no-cache");
}

}  // namespace

std::string portal_content_security_policy(const std::string& config_json) {
  std::set<std::string> connect = {"'self'"};
  auto document = nlohmann::json::parse(config_json, nullptr, false);
  if (document.is_object()) {
    for (const auto* member : {"platform_url", "attestation_url"}) {
      if (document.contains(member) && document[member].is_string()) {
        if (auto origin = origin_of(document[member].get<std::string>()); !origin.empty()) connect.insert(origin);
      }
    }
  }
  std::string sources;
  for (const auto& source : connect) sources += " " + source;
  return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; font-src 'self'; "
         "connect-src" + sources + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

struct PortalServer::Impl {
  std::unique_ptr<http::Server> server;
};

PortalServer::PortalServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PortalServer::~PortalServer() { stop(); }
std::uint16_t PortalServer::port() const { return impl_->server->port(); }
void PortalServer::stop() {
  if (impl_ && impl_->server) impl_->server->stop(std::chrono::milliseconds(1000));
}

Result<std::unique_ptr<PortalServer>> PortalServer::start(const PortalServerOptions& options) {
  std::error_code error;
  if (!fs::is_regular_file(options.portal_dir / "index.html", error)) {
    return fail(ErrorCode::config_invalid, options.portal_dir.string() + " holds no index.html (build the portal: cmake --build build --target cloister_portal)");
  }
  // Each file becomes one route; the set is fixed at start (a new build needs a restart).
  http::Router router;
  const auto config_file = options.config_file;
  auto csp = [config_file]() {
    return portal_content_security_policy(service::read_text_file(config_file.string()).value_or("{}"));
  };
  std::size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(options.portal_dir, error); !error && it != fs::recursive_directory_iterator();
       it.increment(error)) {
    if (!it->is_regular_file(error) || it->file_size(error) > kMaxFileBytes) continue;
    auto relative = fs::relative(it->path(), options.portal_dir, error).generic_string();
    if (relative == "config.json" || relative.empty() || relative.front() == '.') continue;
    if (++files > kMaxFiles) return fail(ErrorCode::config_invalid, "the portal directory holds too many files");
    auto path = it->path();
    auto handler = [path, csp](const http::Request&) -> Result<http::Response> {
      auto body = service::read_text_file(path.string());
      if (!body) return fail(ErrorCode::not_found, "no such file");
      http::Response response;
      response.status = 200;
      response.body = std::move(*body);
      response.set_header("Content-Type", content_type_for(path));
      add_security_headers(response, csp());
      return response;
    };
    router.add("GET", "/" + relative, handler, "portal file");
    if (relative == "index.html") router.add("GET", "/", handler, "the portal");
  }
  router.add("GET", "/config.json", [config_file, csp](const http::Request&) -> Result<http::Response> {
    auto body = service::read_text_file(config_file.string());
    if (!body) return fail(ErrorCode::not_found, "no hospital configuration");
    http::Response response;
    response.status = 200;
    response.body = std::move(*body);
    response.set_header("Content-Type", "application/json");
    add_security_headers(response, csp());
    return response;
  }, "the hospital's configuration");

  Config config(service::common_options(), "CLOISTER_PORTAL_");
  const auto tls = options.certificate_file.empty()
                       ? std::map<std::string, std::string>{{"tls.issuer_cert_file", options.ca_certificate.string()},
                                                            {"tls.issuer_key_file", options.ca_key.string()}}
                       : std::map<std::string, std::string>{{"tls.cert_file", options.certificate_file.string()},
                                                            {"tls.key_file", options.key_file.string()}};
  for (const auto& [key, value] : tls) {
    if (auto set = config.set(key, value); !set) return std::unexpected(set.error());
  }
  if (auto names = config.set_json("tls.server_names", nlohmann::json::array({"localhost", options.host})); !names) {
    return std::unexpected(names.error());
  }
  auto identity = service::make_tls_identity(config, "cloister-portal");
  if (!identity) return std::unexpected(identity.error());
  http::ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.tls.certificate_chain_pem = identity->certificate_chain_pem;
  server_options.tls.private_key_pem = identity->private_key_pem();
  server_options.threads = 1;
  server_options.handler_threads = 2;
  server_options.max_body_bytes = 1024;
  server_options.service_name = "cloister-portal";
  auto impl = std::make_unique<Impl>();
  impl->server = std::make_unique<http::Server>(std::move(server_options), std::move(router), nullptr);
  if (auto started = impl->server->start(); !started) return std::unexpected(started.error());
  return std::unique_ptr<PortalServer>(new PortalServer(std::move(impl)));
}

int run_serve_portal(const PortalServerOptions& options) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto server = PortalServer::start(options);
  if (!server) {
    std::cerr << "cloister serve-portal: " << server.error().to_string() << "\n";
    return 1;
  }
  log::info("portal serving", {{"host", options.host}, {"port", (*server)->port()}, {"dir", options.portal_dir.string()}});
  int received = 0;
  while (received != SIGINT && received != SIGTERM) received = sigwaitinfo(&stop_signals, nullptr);
  (*server)->stop();
  log::info("portal stopped", {{"signal", received}});
  return 0;
}

}  // namespace cloister::cli
