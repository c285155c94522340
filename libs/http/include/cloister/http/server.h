#pragma once
// The HTTPS server every Cloister service runs (Boost.Beast behind a pimpl).
//
// Built-in routes on every server (they are added to the router; adding them again throws):
//   GET /healthz  200 {"status":"ok"} while the process serves
//   GET /readyz   200 {"status":"ready"}, or 503 problem `unavailable` after set_ready(false)
//                 and during stop(); a server starts ready
//   GET /metrics  Prometheus text format 0.0.4 of the Metrics registry
// They run on the I/O threads, outside the in-flight limit, so probes answer under load.
//
// Every response carries X-Request-Id (the client's when it is 1..64 chars of [A-Za-z0-9_-],
// else a new one), X-Content-Type-Options: nosniff, Cache-Control: no-store (unless the handler
// set one) and, over TLS, Strict-Transport-Security. There is no Server banner.
//
// Limits (all answered with problem+json, then the connection is closed):
//   header larger than max_header_bytes            → 431 header_too_large
//   body larger than max_body_bytes                → 413 payload_too_large
//   malformed request                              → 400 bad_request
//   request not fully received within request_timeout (from its first byte) → connection closed
//   more than max_in_flight requests in handlers   → 429 too_many_requests with Retry-After: 1
//     (429, not 503: the server is healthy, the caller should back off; 503 means not ready)
//   more than max_connections open connections     → new connections are closed at once
// A keep-alive connection may idle for idle_timeout between requests.
//
// TLS: 1.2 and 1.3 only; 1.2 offers ECDHE with AES-GCM or ChaCha20-Poly1305 only; TLS 1.3
// default suites; server cipher preference; no compression, renegotiation, session tickets or
// session resumption. With client_ca_pem set, client certificates are requested and verified
// against it; require_client_certificate refuses handshakes without one.
//
// Metrics: cloister_http_requests_total{method,route,status},
// cloister_http_request_duration_seconds{route} (histogram), cloister_http_connections_active,
// cloister_http_tls_handshake_failures_total, cloister_tls_certificate_expiry_timestamp_seconds (the
// certificate's notAfter; TLS servers only). route is the matched pattern, "(unmatched)" for
// requests no route matched or that failed before routing.
// CORS (cors_allowed_origins non-empty; for a browser page on another origin, e.g. the hospital
// portal on its static host): a request whose Origin is on the list ("*" admits any) gets
// Access-Control-Allow-Origin: <that origin>, Vary: Origin and Access-Control-Expose-Headers
// (X-Request-Id, ETag, Location, Retry-After); a preflight (OPTIONS with Access-Control-Request-Method)
// from such an origin is answered 204 with the path's methods, the headers a client may send
// (Content-Type, Authorization, If-Match, X-Request-Id) and Max-Age 600, before routing and without
// running a handler (route label "(preflight)"). Other origins get no CORS header (the browser then
// refuses the answer) and their preflights 403 forbidden. No credentials (cookies) are ever allowed.
// Access log: one JSON line per request (method, route, status, duration_ms, request_id, bytes,
// bytes_in) — never headers, bodies or raw paths.

#include "cloister/core/error.h"
#include "cloister/core/metrics.h"
#include "cloister/core/sensitive.h"
#include "cloister/http/router.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cloister::http {

struct TlsServerOptions {
  std::string certificate_chain_pem;  // leaf first, then intermediates
  Sensitive<std::string> private_key_pem;
  std::string client_ca_pem;  // empty: no client certificates requested
  bool require_client_certificate = false;  // needs client_ca_pem
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see Server::port()
  TlsServerOptions tls;
  bool plaintext = false;  // tests and development only, and only when asked for explicitly
  int threads = 2;          // I/O threads (TLS, parsing, writing)
  int handler_threads = 8;  // threads that run route handlers (they may block)
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds idle_timeout{60000};
  std::size_t max_connections = 1024;
  std::size_t max_in_flight = 256;
  std::string service_name;  // in the access log
  std::vector<std::string> cors_allowed_origins;  // exact origins ("https://portal.example:443" style) or "*"
};

class Server {
 public:
  // metrics may be null: the server then keeps a registry of its own.
  // Throws std::invalid_argument if the router already has a built-in route.
  Server(ServerOptions options, Router router, std::shared_ptr<Metrics> metrics);
  ~Server();  // stops with no grace if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Loads the TLS configuration (config_invalid), binds and listens (io_error), starts threads.
  Status start();
  // The bound port (after start()).
  std::uint16_t port() const;
  void set_ready(bool ready);
  bool ready() const;
  Metrics& metrics();

  // Stops accepting, closes idle connections, lets requests already received finish (their
  // responses carry Connection: close) for up to grace, then closes everything and joins the
  // threads. Handlers still running after grace are waited for. Idempotent; never call it from
  // a handler.
  void stop(std::chrono::milliseconds grace);
  // Blocks until stop() has finished (from any thread), or returns at once if not started.
  void wait();

  struct Impl;  // implementation detail (src/server.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cloister::http
