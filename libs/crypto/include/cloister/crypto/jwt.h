#pragma once
// JWT (RFC 7519) on top of JWS: signature first, then the registered claims against an injected clock.

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/clock.h"
#include "cloister/core/error.h"
#include "cloister/crypto/jws.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

struct JwtVerifyOptions {
  std::vector<JwsAlgorithm> allowed_algorithms{JwsAlgorithm::es256};
  std::string issuer;                   // required match when non-empty
  std::optional<std::string> audience;  // when set, "aud" (string or array) must contain it
  const Clock* clock = nullptr;         // required (std::invalid_argument when missing)
  std::chrono::seconds skew{60};
  bool require_exp = true;
};

struct VerifiedJwt {
  nlohmann::json header;
  nlohmann::json claims;
};

// All jws_verify errors, then: jose_malformed (payload not a JSON object), token_claims_invalid
// (exp/nbf/iat not numeric, exp missing while required, iss/sub/jti not strings, aud not a string or
// array of strings), token_expired (now - skew >= exp), token_not_yet_valid (nbf > now + skew),
// token_wrong_issuer, token_wrong_audience.
Result<VerifiedJwt> jwt_verify(std::string_view token, const JwsKeyResolver& resolver, const JwtVerifyOptions& options);

// Header {alg, kid, typ: "JWT"} (kid omitted when empty). claims must be a JSON object.
Result<std::string> jwt_sign(const PrivateKey& key, JwsAlgorithm algorithm, std::string_view kid,
                             const nlohmann::json& claims);
// Same, with extra header members (alg is always set from `algorithm`).
Result<std::string> jwt_sign(const PrivateKey& key, JwsAlgorithm algorithm, std::string_view kid,
                             const nlohmann::json& claims, const nlohmann::json& extra_header);

}  // namespace cloister::crypto
