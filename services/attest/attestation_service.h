#pragma once
// cloister-attest: the verifier of DESIGN.md. Routes (docs/api.md):
//   POST /attest/nonce                       a one-time nonce for fresh evidence
//   POST /attest/{format}                    evidence + runtime data (+ nonce) → {"token"}
//   GET  /.well-known/openid-configuration   OIDC discovery (issuer, jwks_uri)
//   GET  /.well-known/jwks.json              the token-signing public keys
//   GET  /policy                             the appraisal policy and its hash

#include "cloister/attestation/evidence_verifier.h"
#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/policy.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/attestation/token_issuer.h"
#include "cloister/http/router.h"
#include "nonce_store.h"

#include <atomic>
#include <memory>
#include <vector>

namespace prometheus {
class Registry;
template <class T>
class Family;
class Counter;
}  // namespace prometheus

namespace cloister::attest {

struct AttestationServiceOptions {
  std::chrono::seconds token_lifetime{300};
  std::chrono::seconds nonce_lifetime{300};
  attestation::Policy policy;
  attestation::FormatConfig formats;
};

class AttestationService {
 public:
  AttestationService(AttestationServiceOptions options, attestation::SigningKeys keys, const Clock& clock,
                     prometheus::Registry& registry);
  ~AttestationService();

  // The issuer is known once the server has bound its port; until then /attest answers 503.
  void set_issuer(std::string issuer);
  void add_routes(http::Router& router);

 private:
  Result<http::Response> attest(const http::Request& request);
  Result<http::Response> discovery(const http::Request& request) const;
  Result<http::Response> jwks(const http::Request& request) const;

  AttestationServiceOptions options_;
  attestation::SigningKeys keys_;
  const Clock& clock_;
  std::vector<std::unique_ptr<attestation::EvidenceVerifier>> verifiers_;
  NonceStore nonces_;
  std::string policy_hash_;
  struct Issuer;
  std::atomic<std::shared_ptr<const Issuer>> issuer_;  // set once by set_issuer
  prometheus::Family<prometheus::Counter>* outcomes_ = nullptr;
};

}  // namespace cloister::attest
