#pragma once
// TokenVerifier: the one library relying parties use to check attestation tokens (docs/tokens.md,
// "How a relying party verifies a token").

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "cloister/attestation/policy.h"
#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::attestation {

// Where the attestation service's JWKS comes from. The HTTP implementation (OIDC discovery →
// jwks_uri) lives in the services layer.
class JwksSource {
 public:
  virtual ~JwksSource();
  // The JWK Set ({"keys":[…]}); jwks_unavailable (or another code) when it cannot be had.
  virtual Result<nlohmann::json> fetch() = 0;
};

// A fixed JWKS: for tests and for relying parties that pin the keys offline.
class StaticJwksSource final : public JwksSource {
 public:
  explicit StaticJwksSource(nlohmann::json jwks);
  Result<nlohmann::json> fetch() override;

 private:
  nlohmann::json jwks_;
};

struct TokenVerifierOptions {
  std::string issuer;                                  // pinned: `iss` must equal it
  Policy policy;                                       // the relying party's own policy
  std::chrono::seconds skew{30};                       // allowed clock difference for exp/nbf
  std::chrono::seconds min_refresh_interval{30};       // at most one JWKS fetch per interval
  std::optional<std::string> audience;                 // when set, `aud` must contain it
};

struct VerifiedToken {
  nlohmann::json claims;
  std::string jti;
  std::string tee;
  bool simulated = false;
  std::int64_t expires_at = 0;       // exp, Unix seconds
  crypto::PublicKey tls_key;         // the attested TLS key (runtime data, kid "tls")
  crypto::Bytes hpke_public_key;     // the attested X25519 key (runtime data, kid "hpke")
};

class TokenVerifier {
 public:
  // The clock must outlive the verifier. Throws std::invalid_argument for a null source or an empty
  // issuer (a verifier that pins no issuer is a configuration error, not a lenient mode).
  TokenVerifier(std::shared_ptr<JwksSource> jwks, TokenVerifierOptions options, const Clock& clock);
  ~TokenVerifier();
  TokenVerifier(const TokenVerifier&) = delete;
  TokenVerifier& operator=(const TokenVerifier&) = delete;

  // Thread-safe. In order: compact JWS shape; alg ES256 only (jose_alg_none, jose_alg_not_allowed);
  // key by kid from the cached JWKS — on a miss the JWKS is fetched again at most once per
  // min_refresh_interval, then jose_unknown_kid (jwks_unavailable when no JWKS could ever be had);
  // signature; iss (token_wrong_issuer); exp/nbf with skew (token_expired, token_not_yet_valid);
  // aud when configured; claim types (token_claims_invalid); the policy (policy_*); the runtime
  // claim (runtime_data_invalid).
  Result<VerifiedToken> verify(std::string_view token) const;

  // How many times the JWKS was fetched (for metrics and tests).
  std::uint64_t jwks_fetches() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// channel_binding_mismatch unless the client certificate's SubjectPublicKeyInfo (DER) is the token's
// TLS key.
Status check_channel_binding(const VerifiedToken& token, crypto::BytesView client_certificate_spki_der);

}  // namespace cloister::attestation
