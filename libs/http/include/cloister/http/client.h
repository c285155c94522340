#pragma once
// A synchronous HTTPS client for service-to-service calls (Boost.Beast behind a pimpl).
// Thread-safe: each call opens its own connection on its own io_context.
//
// The server certificate must chain to ca_pem (or, when ca_pem is empty, the system trust
// store) and name the URL's host: DNS names are checked against the SAN dNSName entries (and
// sent as SNI), IP literals against iPAddress entries. pinned_spki_sha256_hex, when non-empty,
// additionally requires the server key's SPKI SHA-256 to be one of the pins.
//
// Errors (never exceptions): upstream_timeout when connecting, the handshake or the exchange
// ran past its timeout; upstream_failed for refused connections, TLS failures (with the reason)
// and malformed responses; invalid_argument for a bad URL or header; config_invalid when the
// options' PEM data does not load. Any HTTP status is a successful Result.
//
// Retries: idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS) are retried up to max_attempts
// when the connection could not be established (refused, reset, connect timeout) or closed
// before any response byte; never after a TLS verification failure or a response timeout.

#include "cloister/core/error.h"
#include "cloister/core/sensitive.h"
#include "cloister/http/response.h"

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cloister::http {

struct ClientOptions {
  std::string ca_pem;                               // trust anchors; empty: system store
  std::vector<std::string> pinned_spki_sha256_hex;  // optional server key pins, in addition
  std::string client_certificate_pem;               // mutual TLS (chain, leaf first)
  Sensitive<std::string> client_private_key_pem;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect + TLS handshake
  std::chrono::milliseconds request_timeout{30000};  // sending the request + reading the response
  int max_attempts = 3;
  bool plaintext = false;  // allows http:// URLs (tests and development only)
  std::size_t max_response_bytes = 64 * 1024 * 1024;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;

  // url: https://host[:port]/path?query (IPv6 as [::1]).
  Result<Response> request(std::string_view method, std::string_view url, const HeaderList& headers = {},
                           std::string body = {}) const;
  Result<Response> get(std::string_view url, const HeaderList& headers = {}) const;
  // Sends body.dump() with Content-Type: application/json.
  Result<Response> post_json(std::string_view url, const nlohmann::json& body, const HeaderList& headers = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex SHA-256 of the SubjectPublicKeyInfo of the first certificate in pem (the value
// pinned_spki_sha256_hex takes). cert_parse_failed when there is none.
Result<std::string> spki_sha256_hex_of_pem_certificate(std::string_view pem);

}  // namespace cloister::http
