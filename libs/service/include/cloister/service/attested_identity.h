#pragma once
// The "attested service" bootstrap shared by cloister-platform, cloister-keys and cloister-infer
// (steps 2, 4 and 5 of DESIGN.md): at start the service generates its TLS key (TlsIdentity) and an
// X25519 HPKE key pair, writes both public keys into its runtime data, asks its TEE for evidence
// binding SHA-256(runtime data), and exchanges the evidence at cloister-attest for a token. A
// background thread renews the token before it expires (at two thirds of its lifetime, retrying
// with bounded exponential backoff on failure). GET /attestation serves the evidence, the runtime
// data and the current token, so relying parties (the portal, peers) can check for themselves.

#include "cloister/core/config.h"
#include "cloister/core/sensitive.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/hpke.h"
#include "cloister/http/client.h"
#include "cloister/http/router.h"
#include "cloister/service/tls_identity.h"

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace cloister::service {

class AttestedIdentity {
 public:
  // Creates the HPKE key, the runtime data and the attester (tee.format). Does not contact the
  // attestation service yet.
  static Result<std::unique_ptr<AttestedIdentity>> create(const Config& config, const TlsIdentity& tls,
                                                          prometheus::Registry& registry);
  ~AttestedIdentity();

  // One attempt to get a fresh token (new evidence each time). Thread-safe.
  Status refresh();
  // Starts the renewal thread: first attempt now, then before expiry; on_ready(true) when a token
  // is held, on_ready(false) if it expires without renewal (the service stops being ready).
  void start(std::function<void(bool)> on_ready);
  void stop();

  bool has_token() const;
  // The current token (empty before the first success). Tokens are secrets in logs: Sensitive.
  Sensitive<std::string> token() const;
  const crypto::Bytes& runtime_data() const;
  const crypto::Bytes& hpke_public_key() const;
  const Sensitive<crypto::Bytes>& hpke_private_key() const;
  std::string format() const;

  // {"format", "evidence" (base64url), "runtime_data" (base64url), "runtime" (the JSON), "token"}.
  nlohmann::json document() const;
  // GET /attestation: document(), or 503 unavailable before the first token.
  http::Handler attestation_handler() const;
  // Adds GET /attestation (and, with the `alias`, e.g. "/v1/attestation", the same handler).
  void add_routes(http::Router& router, const std::string& alias = {});

  // A client for calling other attested services: mutual TLS with this service's certificate and
  // key, trusting tls.ca_file. Send `authorization_header()` with each call.
  http::Client make_client() const;
  // {"Authorization", "Attestation <token>"}
  std::pair<std::string, std::string> authorization_header() const;
  // The same client, accepting only servers whose key's SPKI SHA-256 (hex) is one of `pins`
  // (e.g. the TLS key a peer's attestation token names).
  http::Client make_client_pinned(std::vector<std::string> pins) const;

 private:
  AttestedIdentity();
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace cloister::service
