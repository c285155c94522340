#pragma once
// TLS configuration shared by the server and the client, on plain OpenSSL objects so that this
// translation unit stays free of Asio/Beast.

#include "cloister/core/error.h"
#include "cloister/http/client.h"
#include "cloister/http/request.h"
#include "cloister/http/server.h"

#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cloister::http::tls {

// TLS 1.2 AEAD suites with ECDHE only (the TLS 1.3 suites are OpenSSL's defaults, all AEAD).
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256";
inline constexpr const char* kTls13Ciphersuites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
inline constexpr const char* kGroups = "X25519:P-256:P-384";

// Protocol floor, suites, options, certificate/key and client-certificate verification.
Status configure_server_context(SSL_CTX* context, const TlsServerOptions& options);
// Protocol floor, suites, trust anchors and the optional client certificate.
Status configure_client_context(SSL_CTX* context, const ClientOptions& options);
// SNI (DNS names only) and host name / IP address verification for one connection.
Status prepare_client_connection(SSL* ssl, std::string_view host, bool host_is_ip);
// Checks the server's SPKI SHA-256 against the pins (no-op when there are none).
Status check_spki_pins(SSL* ssl, const std::vector<std::string>& pins);
// Why the peer's certificate failed verification, or "" when it did not.
std::string verify_failure(SSL* ssl);
// The verified client certificate, if the peer sent one.
std::optional<PeerCertificate> peer_certificate(SSL* ssl);
// Drains OpenSSL's thread-local error queue into one line.
std::string drain_errors();

}  // namespace cloister::http::tls
