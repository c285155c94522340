#include "cloister/attestation/token_issuer.h"

#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/jwt.h"
#include "cloister/crypto/random.h"

namespace cloister::attestation {
namespace {
constexpr std::size_t kJwtIdBytes = 16;
}  // namespace

TokenIssuer::TokenIssuer(SigningKeys& keys, std::string issuer, std::chrono::seconds lifetime, const Clock& clock,
                         std::optional<std::string> jku)
    : keys_(keys),
      issuer_(std::move(issuer)),
      lifetime_(lifetime),
      clock_(clock),
      jku_(jku ? std::move(*jku) : issuer_ + std::string(kJwksPath)) {}

Result<std::string> TokenIssuer::issue(const VerifiedEvidence& evidence, BytesView runtime_data,
                                       std::optional<std::string> nonce, std::string_view policy_hash) const {
  if (auto bound = check_report_data_binding(evidence.claims.report_data, runtime_data); !bound) {
    return std::unexpected(bound.error());
  }
  auto runtime = parse_runtime_data(runtime_data);
  if (!runtime) return std::unexpected(runtime.error());

  const std::int64_t now = clock_.unix_seconds();
  nlohmann::json claims = to_claims_json(evidence);
  claims[claim::kIssuer] = issuer_;
  claims[claim::kIssuedAt] = now;
  claims[claim::kNotBefore] = now;
  claims[claim::kExpiresAt] = now + lifetime_.count();
  claims[claim::kJwtId] = crypto::random_hex(kJwtIdBytes);
  if (nonce) claims[claim::kNonce] = *nonce;
  claims[claim::kRuntime] = std::move(runtime->document);
  claims[claim::kPolicyHash] = std::string(policy_hash);

  const auto key = keys_.current();
  // jwt_sign sets alg "ES256", typ "JWT" and kid; jku is ours.
  const nlohmann::json extra_header = {{header::kJwkSetUrl, jku_}};
  return crypto::jwt_sign(key->private_key, crypto::JwsAlgorithm::es256, key->kid, claims, extra_header);
}

}  // namespace cloister::attestation
