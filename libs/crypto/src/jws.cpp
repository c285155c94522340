#include "cloister/crypto/jws.h"

#include <algorithm>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/rsa.h"
#include "strict_json.h"

namespace cloister::crypto {
namespace {

constexpr std::size_t kMaxCompactSize = 1 << 20;
constexpr int kMinRsaBits = 2048;

HashAlgorithm hash_of(JwsAlgorithm algorithm) {
  return algorithm == JwsAlgorithm::es384 ? HashAlgorithm::sha384 : HashAlgorithm::sha256;
}

KeyType key_type_of(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::es256: return KeyType::ec_p256;
    case JwsAlgorithm::es384: return KeyType::ec_p384;
    case JwsAlgorithm::ps256: return KeyType::rsa;
  }
  return KeyType::rsa;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

std::string_view jws_algorithm_name(JwsAlgorithm algorithm) {
  switch (algorithm) {
    case JwsAlgorithm::es256: return "ES256";
    case JwsAlgorithm::es384: return "ES384";
    case JwsAlgorithm::ps256: return "PS256";
  }
  return "?";
}

Result<JwsAlgorithm> jws_algorithm_from_name(std::string_view name) {
  for (JwsAlgorithm algorithm : {JwsAlgorithm::es256, JwsAlgorithm::es384, JwsAlgorithm::ps256}) {
    if (name == jws_algorithm_name(algorithm)) return algorithm;
  }
  return fail(ErrorCode::jose_alg_not_allowed, "unsupported JWS algorithm");
}

bool jws_key_matches(JwsAlgorithm algorithm, const PublicKey& key) {
  auto type = key.try_type();
  if (type != key_type_of(algorithm)) return false;
  return *type != KeyType::rsa || key.bits() >= kMinRsaBits;
}

Result<std::string> jws_sign(const PrivateKey& key, JwsAlgorithm algorithm, nlohmann::json header, BytesView payload) {
  if (header.is_null()) header = nlohmann::json::object();
  if (!header.is_object()) return fail(ErrorCode::invalid_argument, "JWS header must be a JSON object");
  if (!jws_key_matches(algorithm, key.public_key())) {
    return fail(ErrorCode::jose_key_mismatch, "key does not fit " + std::string(jws_algorithm_name(algorithm)));
  }
  header["alg"] = jws_algorithm_name(algorithm);
  auto header_text = detail::dump_json(header);
  if (!header_text) return fail(ErrorCode::invalid_argument, "JWS header is not valid UTF-8 JSON");
  std::string signing_input = base64url_encode(as_bytes(*header_text));
  signing_input.push_back('.');
  signing_input += base64url_encode(payload);

  Bytes signature;
  if (algorithm == JwsAlgorithm::ps256) {
    auto signed_bytes = rsa_pss_sign(key, HashAlgorithm::sha256, as_bytes(signing_input));
    if (!signed_bytes) return std::unexpected(signed_bytes.error());
    signature = std::move(*signed_bytes);
  } else {
    auto der = ecdsa_sign(key, hash_of(algorithm), as_bytes(signing_input));
    if (!der) return std::unexpected(der.error());
    auto raw = ecdsa_der_to_raw(*der, ec_component_size(key_type_of(algorithm)));
    if (!raw) return std::unexpected(raw.error());
    signature = std::move(*raw);
  }
  signing_input.push_back('.');
  signing_input += base64url_encode(signature);
  return signing_input;
}

Result<VerifiedJws> jws_verify(std::string_view compact, const JwsKeyResolver& resolver,
                               std::span<const JwsAlgorithm> allowed) {
  if (compact.empty() || compact.size() > kMaxCompactSize) return fail(ErrorCode::jose_malformed, "JWS size out of range");
  const std::size_t first = compact.find('.');
  const std::size_t second = first == std::string_view::npos ? first : compact.find('.', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      compact.find('.', second + 1) != std::string_view::npos) {
    return fail(ErrorCode::jose_malformed, "JWS compact serialization must have exactly three parts");
  }
  const std::string_view header_part = compact.substr(0, first);
  const std::string_view payload_part = compact.substr(first + 1, second - first - 1);
  const std::string_view signature_part = compact.substr(second + 1);

  auto header_bytes = base64url_decode(header_part);
  if (!header_bytes || header_bytes->empty()) return fail(ErrorCode::jose_malformed, "JWS header is not base64url");
  auto header = detail::parse_strict_json_object(to_string(*header_bytes));
  if (!header) return fail(ErrorCode::jose_malformed, "JWS header is not a JSON object (or repeats a member)");
  auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string()) return fail(ErrorCode::jose_malformed, "JWS header has no string alg");
  const std::string& alg_name = alg->get_ref<const std::string&>();
  if (iequals(alg_name, "none")) return fail(ErrorCode::jose_alg_none, "unsecured JWS refused");
  auto algorithm = jws_algorithm_from_name(alg_name);
  if (!algorithm || std::find(allowed.begin(), allowed.end(), *algorithm) == allowed.end()) {
    return fail(ErrorCode::jose_alg_not_allowed, "JWS algorithm not allowed");
  }
  // No extension is understood, so any "crit" must be refused (RFC 7515 §4.1.11).
  if (header->contains("crit")) return fail(ErrorCode::jose_malformed, "JWS crit header is not supported");

  auto payload = base64url_decode(payload_part);
  if (!payload) return fail(ErrorCode::jose_malformed, "JWS payload is not base64url");
  auto signature = base64url_decode(signature_part);
  if (!signature) return fail(ErrorCode::jose_malformed, "JWS signature is not base64url");

  auto key = resolver(*header);
  if (!key) return std::unexpected(key.error());
  if (!jws_key_matches(*algorithm, *key)) {
    return fail(ErrorCode::jose_key_mismatch, "key does not fit " + std::string(jws_algorithm_name(*algorithm)));
  }

  const BytesView signing_input = as_bytes(compact.substr(0, second));
  if (*algorithm == JwsAlgorithm::ps256) {
    if (!rsa_pss_verify(*key, HashAlgorithm::sha256, signing_input, *signature, -1)) {
      return fail(ErrorCode::jose_signature_invalid, "JWS signature does not verify");
    }
  } else {
    const std::size_t component = ec_component_size(key_type_of(*algorithm));
    if (signature->size() != 2 * component) {
      return fail(ErrorCode::jose_signature_format, "ECDSA JWS signature must be raw r||s of " +
                                                        std::to_string(2 * component) + " bytes");
    }
    auto der = ecdsa_raw_to_der(*signature);
    if (!der) return fail(ErrorCode::jose_signature_format, "ECDSA JWS signature is malformed");
    if (!ecdsa_verify(*key, hash_of(*algorithm), signing_input, *der)) {
      return fail(ErrorCode::jose_signature_invalid, "JWS signature does not verify");
    }
  }
  return VerifiedJws{std::move(*header), std::move(*payload)};
}

}  // namespace cloister::crypto
