#pragma once
// JWS compact serialization (RFC 7515) with ES256, ES384 (raw r ‖ s, RFC 7518 §3.4) and PS256.
// Verification is strict and allow-list based: "none", HMAC and anything not allowed are refused.

#include <nlohmann/json.hpp>

#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"
#include "cloister/crypto/keys.h"

namespace cloister::crypto {

enum class JwsAlgorithm { es256, es384, ps256 };

std::string_view jws_algorithm_name(JwsAlgorithm algorithm);  // "ES256", "ES384", "PS256"
// jose_alg_not_allowed for any other name.
Result<JwsAlgorithm> jws_algorithm_from_name(std::string_view name);
// The key type an algorithm needs: ES256 → P-256, ES384 → P-384, PS256 → RSA (≥ 2048 bits).
bool jws_key_matches(JwsAlgorithm algorithm, const PublicKey& key);

// header: a JSON object (or null); "alg" is set for you, everything else ("kid", "typ", ...) is
// taken as given. jose_key_mismatch when the key does not fit the algorithm.
Result<std::string> jws_sign(const PrivateKey& key, JwsAlgorithm algorithm, nlohmann::json header, BytesView payload);

struct VerifiedJws {
  nlohmann::json header;
  Bytes payload;
};

// Picks the verification key from the (not yet verified) protected header, usually by "kid".
using JwsKeyResolver = std::function<Result<PublicKey>(const nlohmann::json& header)>;

// Errors: jose_malformed (not three strict base64url parts, header not a JSON object with a string
// "alg", duplicate header members, "crit" present), jose_alg_none, jose_alg_not_allowed, the
// resolver's own error (e.g. jose_unknown_kid), jose_key_mismatch, jose_signature_format (an ECDSA
// signature that is not exactly 2 × the component size, e.g. DER), jose_signature_invalid.
Result<VerifiedJws> jws_verify(std::string_view compact, const JwsKeyResolver& resolver,
                               std::span<const JwsAlgorithm> allowed);

}  // namespace cloister::crypto
