#pragma once
// JSON Web Keys (RFC 7517/7518): EC P-256/P-384, OKP X25519 and RSA public keys; RFC 7638
// thumbprints; key sets looked up by key id.

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

// jwk_invalid on anything malformed or unsupported, and on a JWK that carries private members
// ("d", "p", "q", "dp", "dq", "qi", "oth", "k"). EC points must be on the curve with exact-length
// coordinates; RSA moduli must be 2048–16384 bits.
Result<PublicKey> jwk_to_public_key(const nlohmann::json& jwk);
// {kty, crv, x, y} / {kty, crv, x} / {kty, n, e}.
Result<nlohmann::json> public_key_to_jwk(const PublicKey& key);
// RFC 7638: SHA-256 over the required members in lexicographic order, base64url.
Result<std::string> jwk_thumbprint(const nlohmann::json& jwk);

class JwkSet {
 public:
  JwkSet() = default;
  // {"keys": [...]}: every entry needs a string "kid"; duplicate kids and bad keys are jwk_invalid.
  static Result<JwkSet> parse(const nlohmann::json& jwks);

  // jose_unknown_kid when absent.
  Result<PublicKey> find(std::string_view kid) const;
  // The key named by a JWS header's "kid" (jose_unknown_kid when missing, not a string or unknown);
  // use as a JwsKeyResolver: [&set](const nlohmann::json& h) { return set.resolve(h); }.
  Result<PublicKey> resolve(const nlohmann::json& header) const;
  std::vector<std::string> kids() const;  // document order

  // Building a set to publish (conflict on a duplicate kid) and its JSON form.
  Status add(std::string kid, const PublicKey& key);
  Result<nlohmann::json> to_json() const;

 private:
  std::vector<std::pair<std::string, PublicKey>> keys_;
};

}  // namespace cloister::crypto
