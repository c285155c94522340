#pragma once
// Helpers for cloister-keys' unit tests: temporary directories, requests handed to the router as the
// server would (no sockets), and attested callers with real tokens — signed by real signing keys,
// verified by the real CallerAuth, channel-bound to a real TLS key — for any TEE's claims.

#include "cloister/attestation/runtime_data.h"
#include "cloister/core/temp_dir.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/attestation/token_issuer.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/keys.h"
#include "cloister/crypto/random.h"
#include "cloister/http/router.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

namespace cloister::keys::test {

using cloister::TempDir;

inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline std::string first_line(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Every byte of every file under `directory` (the database, its WAL and shared-memory files).
inline std::string all_file_bytes(const std::filesystem::path& directory) {
  std::string bytes;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) bytes += read_all(entry.path());
  }
  return bytes;
}

// A caller in some TEE: its TLS and HPKE keys and the claims of its evidence.
struct Caller {
  crypto::PrivateKey tls_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  crypto::hpke::KeyPair hpke = crypto::hpke::generate_key_pair();
  attestation::VerifiedEvidence evidence;
  std::string token;

  std::string spki() const { return crypto::to_string(tls_key.public_key().spki_der()); }
};

// Claims of a production-like SGX enclave (the tests vary them).
inline attestation::BaseClaims sgx_claims() {
  attestation::BaseClaims claims;
  claims.tee = "sgx";
  claims.measurement = std::string(64, 'a');
  claims.signer = std::string(64, 'b');
  claims.product_id = 1;
  claims.svn = 3;
  claims.debuggable = false;
  claims.tcb_status = "UpToDate";
  return claims;
}

inline attestation::BaseClaims sim_claims() {
  attestation::BaseClaims claims;
  claims.tee = "sim";
  claims.measurement = std::string(96, 'c');
  claims.svn = 1;
  claims.debuggable = false;
  claims.tcb_status = "Simulated";
  return claims;
}

// A token for a fresh caller with these claims, from `issuer`.
inline Caller make_caller(const attestation::TokenIssuer& issuer, attestation::BaseClaims claims) {
  Caller caller;
  auto runtime = attestation::make_runtime_data(caller.tls_key.public_key(), caller.hpke.public_key);
  claims.report_data = attestation::report_data_for(runtime);
  caller.evidence.format = claims.tee;
  caller.evidence.claims = std::move(claims);
  caller.token = issuer.issue(caller.evidence, runtime, std::nullopt, "test-policy").value();
  return caller;
}

// The jti claim of a token (its payload, unverified: for assertions only).
inline std::string jti_of(const std::string& token) {
  auto first = token.find('.');
  auto second = token.find('.', first + 1);
  auto payload = crypto::base64url_decode(token.substr(first + 1, second - first - 1)).value();
  return nlohmann::json::parse(payload.begin(), payload.end()).at("jti").get<std::string>();
}

// Hands a request to the router as the server would.
inline http::Response call(const http::Router& router, std::string method, std::string target, std::string body = {},
                           http::Headers headers = {}, std::optional<std::string> peer_spki = std::nullopt) {
  http::Request request;
  request.method = std::move(method);
  request.target = target;
  auto question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = http::parse_query(target.substr(question + 1));
  request.body = std::move(body);
  request.headers = std::move(headers);
  request.remote_address = "192.0.2.7";
  request.request_id = "test-request";
  if (peer_spki) request.peer = http::PeerCertificate{"", *peer_spki, "CN=caller"};
  return router.handle(request);
}

inline nlohmann::json body_of(const http::Response& response) {
  return nlohmann::json::parse(response.body, nullptr, false);
}

}  // namespace cloister::keys::test
