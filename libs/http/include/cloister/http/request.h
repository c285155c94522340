#pragma once
// A parsed HTTP request as handlers see it. The server fills every member; handlers only read.

#include "cloister/core/error.h"
#include "cloister/http/headers.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace cloister::http {

// The client certificate of a mutual-TLS connection, present only when the server asked for one
// (TlsServerOptions::client_ca_pem) and it verified against the configured client CAs.
// Channel binding compares spki_der with the key in the caller's attestation token.
struct PeerCertificate {
  std::string der;       // the leaf certificate, DER
  std::string spki_der;  // its SubjectPublicKeyInfo, DER
  std::string subject;   // RFC 2253 form, e.g. "CN=platform,O=Cloister"
};

struct Request {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // origin-form request target, e.g. "/v2/models/x?verbose=1"
  std::string path;    // target up to '?', not percent-decoded
  std::map<std::string, std::string> query;  // percent-decoded ('+' is a space); last value wins
  Headers headers;
  std::string body;
  std::string request_id;      // the X-Request-Id echoed in the response
  std::string remote_address;  // peer IP address
  std::optional<PeerCertificate> peer;
  std::map<std::string, std::string> path_params;  // "{name}" segments of the route, percent-decoded

  // Case-insensitive header lookup (shorthand for headers.get(name)).
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The body parsed as JSON; invalid_json (with a safe detail: never the body) when it is not.
  Result<nlohmann::json> json() const;
  // A path parameter, or an empty view when the route has none of that name.
  std::string_view param(std::string_view name) const;
};

// Percent-decoding of one path segment or query component; nullopt on a malformed escape.
// With plus_as_space, '+' decodes to ' ' (application/x-www-form-urlencoded query strings).
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space = false);
// "a=1&b=x%20y" → {a: "1", b: "x y"}; malformed pairs are skipped, never an error.
std::map<std::string, std::string> parse_query(std::string_view query);

}  // namespace cloister::http
