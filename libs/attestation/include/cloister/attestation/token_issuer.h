#pragma once
// TokenIssuer: turns verified evidence into an attestation token (compact JWS, ES256), as
// docs/tokens.md describes: header {alg, typ "JWT", kid, jku}, claims iss, iat, nbf, exp, jti,
// nonce (when given), the base claims, format, x-cloister-simulated, x-cloister-format-claims,
// runtime (the runtime-data JSON object), report_data (lower-case hex) and policy_hash.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cloister/attestation/claims.h"
#include "cloister/attestation/signing_keys.h"
#include "cloister/core/clock.h"
#include "cloister/core/error.h"

namespace cloister::attestation {

inline constexpr std::string_view kJwksPath = "/.well-known/jwks.json";

class TokenIssuer {
 public:
  // jku defaults to issuer + kJwksPath. The keys and clock must outlive the issuer.
  TokenIssuer(SigningKeys& keys, std::string issuer, std::chrono::seconds lifetime, const Clock& clock,
              std::optional<std::string> jku = std::nullopt);

  // Checks again that the evidence's report data binds runtime_data (report_data_mismatch) and that
  // it parses (runtime_data_invalid), then signs with the current key. Thread-safe.
  Result<std::string> issue(const VerifiedEvidence& evidence, BytesView runtime_data,
                            std::optional<std::string> nonce, std::string_view policy_hash) const;

  const std::string& issuer() const { return issuer_; }
  const std::string& jku() const { return jku_; }

 private:
  SigningKeys& keys_;
  std::string issuer_;
  std::chrono::seconds lifetime_;
  const Clock& clock_;
  std::string jku_;
};

}  // namespace cloister::attestation
