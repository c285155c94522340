#include "cloister/crypto/jwk.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "openssl_util.h"
#include "strict_json.h"

namespace cloister::crypto {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;

Result<std::string> string_member(const nlohmann::json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return fail(ErrorCode::jwk_invalid, std::string("JWK member \"") + name + "\" missing or not a string");
  }
  return it->get<std::string>();
}

Result<Bytes> base64url_member(const nlohmann::json& jwk, const char* name) {
  auto text = string_member(jwk, name);
  if (!text) return std::unexpected(text.error());
  auto bytes = base64url_decode(*text);
  if (!bytes) return fail(ErrorCode::jwk_invalid, std::string("JWK member \"") + name + "\" is not base64url");
  return bytes;
}

Result<PublicKey> ec_from_jwk(const nlohmann::json& jwk) {
  auto curve = string_member(jwk, "crv");
  if (!curve) return std::unexpected(curve.error());
  KeyType type;
  if (*curve == "P-256") {
    type = KeyType::ec_p256;
  } else if (*curve == "P-384") {
    type = KeyType::ec_p384;
  } else {
    return fail(ErrorCode::jwk_invalid, "unsupported EC curve");
  }
  auto x = base64url_member(jwk, "x");
  if (!x) return std::unexpected(x.error());
  auto y = base64url_member(jwk, "y");
  if (!y) return std::unexpected(y.error());
  const std::size_t size = ec_component_size(type);
  if (x->size() != size || y->size() != size) return fail(ErrorCode::jwk_invalid, "EC coordinate has the wrong length");
  auto key = PublicKey::from_ec_point(type, *x, *y);
  if (!key) return fail(ErrorCode::jwk_invalid, "EC point is not on the curve");
  return key;
}

Result<PublicKey> okp_from_jwk(const nlohmann::json& jwk) {
  auto curve = string_member(jwk, "crv");
  if (!curve) return std::unexpected(curve.error());
  if (*curve != "X25519") return fail(ErrorCode::jwk_invalid, "unsupported OKP curve");
  auto x = base64url_member(jwk, "x");
  if (!x) return std::unexpected(x.error());
  auto key = PublicKey::from_x25519_raw(*x);
  if (!key) return fail(ErrorCode::jwk_invalid, "X25519 key must be 32 bytes");
  return key;
}

Result<PublicKey> rsa_from_jwk(const nlohmann::json& jwk) {
  auto modulus = base64url_member(jwk, "n");
  if (!modulus) return std::unexpected(modulus.error());
  auto exponent = base64url_member(jwk, "e");
  if (!exponent) return std::unexpected(exponent.error());
  if (exponent->empty() || exponent->size() > 8) return fail(ErrorCode::jwk_invalid, "RSA exponent size out of range");
  auto n = detail::make_bn(BN_bin2bn(modulus->data(), static_cast<int>(modulus->size()), nullptr));
  auto e = detail::make_bn(BN_bin2bn(exponent->data(), static_cast<int>(exponent->size()), nullptr));
  if (!n || !e) return fail(ErrorCode::crypto_failure, "BN_bin2bn failed");
  const int bits = BN_num_bits(n.get());
  if (bits < kMinRsaBits || bits > kMaxRsaBits) return fail(ErrorCode::jwk_invalid, "RSA modulus size out of range");
  if (!BN_is_odd(n.get()) || !BN_is_odd(e.get()) || BN_is_one(e.get())) {
    return fail(ErrorCode::jwk_invalid, "RSA modulus and exponent must be odd (and e > 1)");
  }
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> builder(OSSL_PARAM_BLD_new(), &OSSL_PARAM_BLD_free);
  if (!builder || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return fail(ErrorCode::crypto_failure, "OSSL_PARAM_BLD failed");
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(builder.get()),
                                                                 &OSSL_PARAM_free);
  auto context = detail::make_pkey_ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* raw_key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) != 1 ||
      EVP_PKEY_fromdata(context.get(), &raw_key, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    EVP_PKEY_free(raw_key);
    return fail(ErrorCode::jwk_invalid, "RSA key rejected: " + detail::openssl_error());
  }
  auto key = detail::make_pkey(raw_key);
  return PublicKey::from_native(key.get());
}

std::string bn_base64url(const BIGNUM* value) {
  Bytes bytes(static_cast<std::size_t>(BN_num_bytes(value)));
  BN_bn2bin(value, bytes.data());
  return base64url_encode(bytes);
}

}  // namespace

Result<PublicKey> jwk_to_public_key(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return fail(ErrorCode::jwk_invalid, "JWK is not a JSON object");
  for (const char* private_member : {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}) {
    if (jwk.contains(private_member)) {
      return fail(ErrorCode::jwk_invalid, std::string("JWK carries private member \"") + private_member + "\"");
    }
  }
  auto kty = string_member(jwk, "kty");
  if (!kty) return std::unexpected(kty.error());
  if (*kty == "EC") return ec_from_jwk(jwk);
  if (*kty == "OKP") return okp_from_jwk(jwk);
  if (*kty == "RSA") return rsa_from_jwk(jwk);
  return fail(ErrorCode::jwk_invalid, "unsupported JWK kty");
}

Result<nlohmann::json> public_key_to_jwk(const PublicKey& key) {
  auto type = key.try_type();
  if (!type) return fail(ErrorCode::bad_key, "key type has no JWK form here");
  switch (*type) {
    case KeyType::ec_p256:
    case KeyType::ec_p384: {
      auto point = key.ec_point();
      if (!point) return std::unexpected(point.error());
      const std::size_t size = ec_component_size(*type);
      BytesView view(*point);
      return nlohmann::json{{"kty", "EC"},
                            {"crv", *type == KeyType::ec_p256 ? "P-256" : "P-384"},
                            {"x", base64url_encode(view.subspan(1, size))},
                            {"y", base64url_encode(view.subspan(1 + size, size))}};
    }
    case KeyType::x25519: {
      auto raw = key.raw_x25519();
      if (!raw) return std::unexpected(raw.error());
      return nlohmann::json{{"kty", "OKP"}, {"crv", "X25519"}, {"x", base64url_encode(*raw)}};
    }
    case KeyType::rsa: {
      BIGNUM* n = nullptr;
      BIGNUM* e = nullptr;
      auto* pkey = static_cast<EVP_PKEY*>(key.native());
      bool ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
                EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1;
      auto n_owner = detail::make_bn(n);
      auto e_owner = detail::make_bn(e);
      if (!ok) return fail(ErrorCode::crypto_failure, "RSA parameter export failed: " + detail::openssl_error());
      return nlohmann::json{{"kty", "RSA"}, {"n", bn_base64url(n)}, {"e", bn_base64url(e)}};
    }
  }
  return fail(ErrorCode::bad_key, "unsupported key type");
}

Result<std::string> jwk_thumbprint(const nlohmann::json& jwk) {
  if (!jwk.is_object()) return fail(ErrorCode::jwk_invalid, "JWK is not a JSON object");
  auto kty = string_member(jwk, "kty");
  if (!kty) return std::unexpected(kty.error());
  std::vector<const char*> required;
  if (*kty == "EC") {
    required = {"crv", "x", "y"};
  } else if (*kty == "OKP") {
    required = {"crv", "x"};
  } else if (*kty == "RSA") {
    required = {"e", "n"};
  } else if (*kty == "oct") {
    required = {"k"};
  } else {
    return fail(ErrorCode::jwk_invalid, "unsupported JWK kty");
  }
  // nlohmann::json objects keep members sorted, and dump() emits no whitespace: exactly RFC 7638 §3.
  nlohmann::json members{{"kty", *kty}};
  for (const char* name : required) {
    auto value = string_member(jwk, name);
    if (!value) return std::unexpected(value.error());
    members[name] = *value;
  }
  auto text = detail::dump_json(members);
  if (!text) return fail(ErrorCode::jwk_invalid, "JWK member is not valid UTF-8");
  return base64url_encode(sha256(as_bytes(*text)));
}

Result<JwkSet> JwkSet::parse(const nlohmann::json& jwks) {
  if (!jwks.is_object()) return fail(ErrorCode::jwk_invalid, "JWK set is not a JSON object");
  auto keys = jwks.find("keys");
  if (keys == jwks.end() || !keys->is_array()) return fail(ErrorCode::jwk_invalid, "JWK set has no \"keys\" array");
  JwkSet set;
  for (const auto& jwk : *keys) {
    if (!jwk.is_object()) return fail(ErrorCode::jwk_invalid, "JWK set entry is not an object");
    auto kid = string_member(jwk, "kid");
    if (!kid) return std::unexpected(kid.error());
    auto key = jwk_to_public_key(jwk);
    if (!key) return fail(ErrorCode::jwk_invalid, "JWK \"" + *kid + "\": " + key.error().detail);
    auto added = set.add(*kid, *key);
    if (!added) return fail(ErrorCode::jwk_invalid, "duplicate kid \"" + *kid + "\" in JWK set");
  }
  return set;
}

Result<PublicKey> JwkSet::find(std::string_view kid) const {
  for (const auto& [id, key] : keys_) {
    if (id == kid) return key;
  }
  return fail(ErrorCode::jose_unknown_kid, "no key with this kid");
}

Result<PublicKey> JwkSet::resolve(const nlohmann::json& header) const {
  if (!header.is_object()) return fail(ErrorCode::jose_unknown_kid, "header is not an object");
  auto kid = header.find("kid");
  if (kid == header.end() || !kid->is_string()) return fail(ErrorCode::jose_unknown_kid, "header has no string kid");
  return find(kid->get_ref<const std::string&>());
}

std::vector<std::string> JwkSet::kids() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& entry : keys_) out.push_back(entry.first);
  return out;
}

Status JwkSet::add(std::string kid, const PublicKey& key) {
  for (const auto& entry : keys_) {
    if (entry.first == kid) return fail(ErrorCode::conflict, "duplicate kid");
  }
  keys_.emplace_back(std::move(kid), key);
  return {};
}

Result<nlohmann::json> JwkSet::to_json() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& [kid, key] : keys_) {
    auto jwk = public_key_to_jwk(key);
    if (!jwk) return std::unexpected(jwk.error());
    (*jwk)["kid"] = kid;
    keys.push_back(std::move(*jwk));
  }
  return nlohmann::json{{"keys", std::move(keys)}};
}

}  // namespace cloister::crypto
