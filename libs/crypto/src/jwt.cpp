#include "cloister/crypto/jwt.h"

#include <stdexcept>

#include "strict_json.h"

namespace cloister::crypto {
namespace {

constexpr const char* kIssuer = "iss";
constexpr const char* kSubject = "sub";
constexpr const char* kAudience = "aud";
constexpr const char* kExpiry = "exp";
constexpr const char* kNotBefore = "nbf";
constexpr const char* kIssuedAt = "iat";
constexpr const char* kJwtId = "jti";

// A NumericDate claim: nullopt when absent, an error when present but not a number.
Result<std::optional<double>> numeric_date(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::optional<double>{};
  if (!it->is_number()) return fail(ErrorCode::token_claims_invalid, std::string("claim ") + name + " is not numeric");
  return std::optional<double>(it->get<double>());
}

Status check_string_claim(const nlohmann::json& claims, const char* name) {
  auto it = claims.find(name);
  if (it != claims.end() && !it->is_string()) {
    return fail(ErrorCode::token_claims_invalid, std::string("claim ") + name + " is not a string");
  }
  return {};
}

}  // namespace

Result<VerifiedJwt> jwt_verify(std::string_view token, const JwsKeyResolver& resolver, const JwtVerifyOptions& options) {
  if (options.clock == nullptr) throw std::invalid_argument("jwt_verify: JwtVerifyOptions::clock is required");
  auto jws = jws_verify(token, resolver, options.allowed_algorithms);
  if (!jws) return std::unexpected(jws.error());
  auto claims = detail::parse_strict_json_object(to_string(jws->payload));
  if (!claims) return fail(ErrorCode::jose_malformed, "JWT payload is not a JSON object (or repeats a member)");

  for (const char* name : {kIssuer, kSubject, kJwtId}) {
    if (auto ok = check_string_claim(*claims, name); !ok) return std::unexpected(ok.error());
  }
  auto exp = numeric_date(*claims, kExpiry);
  if (!exp) return std::unexpected(exp.error());
  auto nbf = numeric_date(*claims, kNotBefore);
  if (!nbf) return std::unexpected(nbf.error());
  auto iat = numeric_date(*claims, kIssuedAt);
  if (!iat) return std::unexpected(iat.error());
  if (!exp->has_value() && options.require_exp) return fail(ErrorCode::token_claims_invalid, "claim exp is required");

  const double now = static_cast<double>(options.clock->unix_seconds());
  const double skew = static_cast<double>(options.skew.count());
  if (exp->has_value() && now - skew >= **exp) return fail(ErrorCode::token_expired, "token has expired");
  if (nbf->has_value() && **nbf > now + skew) return fail(ErrorCode::token_not_yet_valid, "token is not yet valid");

  if (!options.issuer.empty()) {
    auto iss = claims->find(kIssuer);
    if (iss == claims->end() || iss->get_ref<const std::string&>() != options.issuer) {
      return fail(ErrorCode::token_wrong_issuer, "token issuer is not the expected one");
    }
  }
  auto aud = claims->find(kAudience);
  bool audience_matches = false;
  if (aud != claims->end()) {
    if (aud->is_string()) {
      audience_matches = options.audience && aud->get_ref<const std::string&>() == *options.audience;
    } else if (aud->is_array()) {
      for (const auto& entry : *aud) {
        if (!entry.is_string()) return fail(ErrorCode::token_claims_invalid, "claim aud has a non-string entry");
        if (options.audience && entry.get_ref<const std::string&>() == *options.audience) audience_matches = true;
      }
    } else {
      return fail(ErrorCode::token_claims_invalid, "claim aud is neither a string nor an array");
    }
  }
  if (options.audience && !audience_matches) {
    return fail(ErrorCode::token_wrong_audience, "token is not intended for this audience");
  }
  return VerifiedJwt{std::move(jws->header), std::move(*claims)};
}

Result<std::string> jwt_sign(const PrivateKey& key, JwsAlgorithm algorithm, std::string_view kid,
                             const nlohmann::json& claims) {
  return jwt_sign(key, algorithm, kid, claims, nlohmann::json::object());
}

Result<std::string> jwt_sign(const PrivateKey& key, JwsAlgorithm algorithm, std::string_view kid,
                             const nlohmann::json& claims, const nlohmann::json& extra_header) {
  if (!claims.is_object()) return fail(ErrorCode::invalid_argument, "JWT claims must be a JSON object");
  if (!extra_header.is_null() && !extra_header.is_object()) {
    return fail(ErrorCode::invalid_argument, "extra JWT header must be a JSON object");
  }
  nlohmann::json header{{"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = std::string(kid);
  if (extra_header.is_object()) {
    for (const auto& [name, value] : extra_header.items()) header[name] = value;
  }
  auto payload = detail::dump_json(claims);
  if (!payload) return fail(ErrorCode::invalid_argument, "JWT claims are not valid UTF-8 JSON");
  return jws_sign(key, algorithm, std::move(header), as_bytes(*payload));
}

}  // namespace cloister::crypto
