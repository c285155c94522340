#pragma once
// The hospital portal's static files, served by `cloister up` (DESIGN.md step 1: "a static site,
// served from any static host; locally by the CLI") on its own origin — never by the platform, whose
// code the portal is there to check. HTTPS with a certificate from the development CA.
//
//   GET /              index.html
//   GET /<file>        every file of the portal directory (the npm build: app.js, styles.css, …)
//   GET /config.json   the hospital's configuration (hospital_config.h), read from its file at each
//                      request, so the hospital's edits apply at the next page load
//
// Every answer carries a strict Content-Security-Policy (scripts and styles from this origin only;
// connections only to this origin and to the platform and attestation URLs the configuration
// names), X-Frame-Options DENY / frame-ancestors 'none', Referrer-Policy no-referrer and
// Cache-Control no-cache (the browser revalidates: a new build is seen at once).

#include "cloister/core/error.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace cloister::cli {

struct PortalServerOptions {
  std::filesystem::path portal_dir;   // the built portal (index.html, app.js, …)
  std::filesystem::path config_file;  // served as /config.json
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;             // 0: ephemeral
  // TLS: a fixed certificate chain and key (production: the hospital's certificate), or else a
  // certificate issued at start by the development CA.
  std::filesystem::path certificate_file;
  std::filesystem::path key_file;
  std::filesystem::path ca_certificate;
  std::filesystem::path ca_key;
};

class PortalServer {
 public:
  // config_invalid when portal_dir has no index.html; io_error when the port cannot be bound.
  static Result<std::unique_ptr<PortalServer>> start(const PortalServerOptions& options);
  ~PortalServer();
  std::uint16_t port() const;
  void stop();

  struct Impl;

 private:
  explicit PortalServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `cloister serve-portal`: the portal's file server alone, until SIGINT/SIGTERM (the portal's
// container image runs this). Exit status 0 after a signal, 1 when it cannot start.
int run_serve_portal(const PortalServerOptions& options);

// The Content-Security-Policy for a configuration document (exposed for tests).
std::string portal_content_security_policy(const std::string& config_json);

}  // namespace cloister::cli
