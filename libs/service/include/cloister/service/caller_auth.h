#pragma once
// Checks an attested caller (step 6 of DESIGN.md): `Authorization: Attestation <token>` over
// mutual TLS. The token is verified offline with the attestation service's published keys (JWKS
// through OIDC discovery, cached by kid), against the service's relying-party policy (policy.*),
// and the client certificate's key must be the TLS key the token attests (channel binding), so a
// stolen token alone is useless.

#include "cloister/attestation/token_verifier.h"
#include "cloister/core/config.h"
#include "cloister/http/client.h"
#include "cloister/http/router.h"

#include <memory>
#include <string>

namespace prometheus {
class Registry;
}

namespace cloister::service {

inline constexpr std::string_view kAttestationScheme = "Attestation";

// Fetches the JWKS through OIDC discovery: GET <issuer>/.well-known/openid-configuration, then
// its jwks_uri (which must be on the issuer's origin). jwks_unavailable on any failure.
class HttpJwksSource final : public attestation::JwksSource {
 public:
  HttpJwksSource(std::string issuer_url, http::Client client);
  Result<nlohmann::json> fetch() override;

 private:
  std::string issuer_url_;
  http::Client client_;
};

class CallerAuth {
 public:
  // From attestation.url / attestation.issuer and policy.*; the client trusts tls.ca_file.
  static Result<std::unique_ptr<CallerAuth>> create(const Config& config, prometheus::Registry& registry,
                                                    const Clock& clock = SystemClock::instance());
  CallerAuth(std::shared_ptr<attestation::JwksSource> jwks, attestation::TokenVerifierOptions options,
             const Clock& clock, prometheus::Registry& registry);
  ~CallerAuth();

  // attestation_required (no or malformed header), client_certificate_required (no client
  // certificate), any TokenVerifier error, channel_binding_mismatch. Each refusal is counted in
  // cloister_caller_auth_total{outcome=<code>} and logged with the request id and the token's jti
  // (never the token).
  Result<attestation::VerifiedToken> authenticate(const http::Request& request) const;

  // Wraps a handler so it runs only for an authenticated caller.
  http::Handler require(std::function<Result<http::Response>(const http::Request&, const attestation::VerifiedToken&)>
                            handler) const;

  const attestation::Policy& policy() const;
  // The token verifier (shared: e.g. the platform verifies the provider's token with it).
  std::shared_ptr<attestation::TokenVerifier> verifier() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The relying-party policy from the policy.* options.
Result<attestation::Policy> policy_from_config(const Config& config);

}  // namespace cloister::service
