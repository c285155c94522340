#include "cloister/crypto/jwt.h"

#include <gtest/gtest.h>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/jwk.h"
#include "test_util.h"

namespace cloister::crypto {
namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1750000000;  // 2025-06-15T15:06:40Z (manual clock)

class Jwt : public ::testing::Test {
 protected:
  Jwt() : clock_(ManualClock::at_unix(kNow)) {
    EXPECT_TRUE(keys_.add("k1", key_.public_key()).has_value());
    EXPECT_TRUE(keys_.add("k384", p384_.public_key()).has_value());
    options_.issuer = "https://verifier.cloister.test";
    options_.audience = "medical-platform";
    options_.clock = &clock_;
    resolver_ = [this](const json& header) { return keys_.resolve(header); };
  }

  json claims() const {
    return json{{"iss", "https://verifier.cloister.test"},
                {"aud", "medical-platform"},
                {"sub", "workload-7"},
                {"iat", kNow - 10},
                {"nbf", kNow - 10},
                {"exp", kNow + 300}};
  }

  std::string sign(const json& claims, std::string_view kid = "k1") const {
    auto token = jwt_sign(key_, JwsAlgorithm::es256, kid, claims);
    EXPECT_TRUE(token.has_value()) << token.error().to_string();
    return token.value_or("");
  }

  void expect_code(std::string_view token, ErrorCode code, const char* what) const {
    auto result = jwt_verify(token, resolver_, options_);
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, code) << what << ": " << result.error().to_string();
  }

  // Replace the signature part of a compact token.
  static std::string with_signature(const std::string& token, BytesView signature) {
    return token.substr(0, token.rfind('.') + 1) + base64url_encode(signature);
  }
  static Bytes signature_of(const std::string& token) {
    return base64url_decode(token.substr(token.rfind('.') + 1)).value();
  }

  PrivateKey key_ = PrivateKey::generate(KeyType::ec_p256);
  PrivateKey p384_ = PrivateKey::generate(KeyType::ec_p384);
  JwkSet keys_;
  ManualClock clock_;
  JwtVerifyOptions options_;
  JwsKeyResolver resolver_;
};

TEST_F(Jwt, Es256SignVerifyWithJwkSetResolver) {
  const std::string token = sign(claims());
  auto verified = jwt_verify(token, resolver_, options_);
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  EXPECT_EQ(verified->claims, claims());
  EXPECT_EQ(verified->header, (json{{"alg", "ES256"}, {"kid", "k1"}, {"typ", "JWT"}}));
  // The published JWKS document works the same after a JSON round trip.
  auto published = JwkSet::parse(json::parse(keys_.to_json().value().dump()));
  ASSERT_TRUE(published.has_value());
  auto again = jwt_verify(token, [&](const json& h) { return published->resolve(h); }, options_);
  EXPECT_TRUE(again.has_value());
}

TEST_F(Jwt, Ps256Verify) {
  PrivateKey rsa = PrivateKey::generate(KeyType::rsa);
  ASSERT_TRUE(keys_.add("rsa", rsa.public_key()).has_value());
  auto token = jwt_sign(rsa, JwsAlgorithm::ps256, "rsa", claims(), json{{"x5t#S256", "abc"}});
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  expect_code(*token, ErrorCode::jose_alg_not_allowed, "PS256 not on the default list");
  options_.allowed_algorithms = {JwsAlgorithm::es256, JwsAlgorithm::ps256};
  auto verified = jwt_verify(*token, resolver_, options_);
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  EXPECT_EQ(verified->header["alg"], "PS256");
  EXPECT_EQ(verified->header["x5t#S256"], "abc");
  EXPECT_EQ(verified->header["typ"], "JWT");
}

TEST_F(Jwt, AlgNone) {
  const std::string token = base64url_encode(as_bytes(R"({"alg":"none","kid":"k1"})")) + "." +
                            base64url_encode(as_bytes(claims().dump())) + ".";
  expect_code(token, ErrorCode::jose_alg_none, "alg none");
}

TEST_F(Jwt, Hs256WithPublicKeyPemAsSecret) {
  // libjwt 1.10 / CVE-2016-10555-style algorithm confusion: HMAC keyed with the ES256 public key PEM.
  const std::string signing_input = base64url_encode(as_bytes(R"({"alg":"HS256","kid":"k1","typ":"JWT"})")) + "." +
                                    base64url_encode(as_bytes(claims().dump()));
  const Bytes mac = hmac(HashAlgorithm::sha256, as_bytes(key_.public_key().pem()), as_bytes(signing_input));
  expect_code(signing_input + "." + base64url_encode(mac), ErrorCode::jose_alg_not_allowed, "HS256 confusion");
}

TEST_F(Jwt, UnknownKid) { expect_code(sign(claims(), "k2"), ErrorCode::jose_unknown_kid, "unknown kid"); }

TEST_F(Jwt, MissingKid) { expect_code(sign(claims(), ""), ErrorCode::jose_unknown_kid, "no kid"); }

TEST_F(Jwt, KeyOfWrongCurve) {
  // Signed with P-256 but the kid names the P-384 key.
  expect_code(sign(claims(), "k384"), ErrorCode::jose_key_mismatch, "P-384 key for ES256");
}

TEST_F(Jwt, DerSignatureInsteadOfRaw) {
  const std::string token = sign(claims());
  auto der = ecdsa_raw_to_der(signature_of(token));
  ASSERT_TRUE(der.has_value());
  expect_code(with_signature(token, *der), ErrorCode::jose_signature_format, "DER signature");
}

TEST_F(Jwt, TruncatedSignature) {
  const std::string token = sign(claims());
  Bytes signature = signature_of(token);
  signature.pop_back();
  expect_code(with_signature(token, signature), ErrorCode::jose_signature_format, "63-byte signature");
  expect_code(with_signature(token, {}), ErrorCode::jose_signature_format, "empty signature");
}

TEST_F(Jwt, SignatureWithExtraByte) {
  const std::string token = sign(claims());
  Bytes signature = signature_of(token);
  signature.push_back(0);
  expect_code(with_signature(token, signature), ErrorCode::jose_signature_format, "65-byte signature");
}

TEST_F(Jwt, FlippedSignatureBit) {
  const std::string token = sign(claims());
  Bytes signature = signature_of(token);
  signature[10] ^= 0x01;
  expect_code(with_signature(token, signature), ErrorCode::jose_signature_invalid, "flipped bit");
  expect_code(with_signature(token, Bytes(64, 0)), ErrorCode::jose_signature_invalid, "r = s = 0");
}

TEST_F(Jwt, TamperedHeader) {
  const std::string token = sign(claims());
  const std::string header = base64url_encode(as_bytes(R"({"alg":"ES256","kid":"k1","typ":"JWT","x":1})"));
  expect_code(header + token.substr(token.find('.')), ErrorCode::jose_signature_invalid, "tampered header");
}

TEST_F(Jwt, TamperedPayload) {
  const std::string token = sign(claims());
  json other = claims();
  other["sub"] = "workload-8";
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  const std::string tampered =
      token.substr(0, first + 1) + base64url_encode(as_bytes(other.dump())) + token.substr(second);
  expect_code(tampered, ErrorCode::jose_signature_invalid, "tampered payload");
}

TEST_F(Jwt, Expired) {
  json c = claims();
  c["exp"] = kNow - 61;  // beyond the 60 s skew
  expect_code(sign(c), ErrorCode::token_expired, "expired");
  c["exp"] = kNow - 60;  // now - skew >= exp
  expect_code(sign(c), ErrorCode::token_expired, "expired at the skew boundary");
  c["exp"] = kNow - 59;  // within the skew
  EXPECT_TRUE(jwt_verify(sign(c), resolver_, options_).has_value());
  clock_.advance(std::chrono::seconds(1));
  expect_code(sign(c), ErrorCode::token_expired, "after the clock moved");
}

TEST_F(Jwt, NotYetValid) {
  json c = claims();
  c["nbf"] = kNow + 61;
  expect_code(sign(c), ErrorCode::token_not_yet_valid, "nbf in the future");
  c["nbf"] = kNow + 60;
  EXPECT_TRUE(jwt_verify(sign(c), resolver_, options_).has_value());
}

TEST_F(Jwt, WrongIssuer) {
  json c = claims();
  c["iss"] = "https://evil.test";
  expect_code(sign(c), ErrorCode::token_wrong_issuer, "wrong issuer");
  c.erase("iss");
  expect_code(sign(c), ErrorCode::token_wrong_issuer, "missing issuer");
}

TEST_F(Jwt, WrongAudience) {
  json c = claims();
  c["aud"] = "diagnostic-provider";
  expect_code(sign(c), ErrorCode::token_wrong_audience, "wrong audience");
  c["aud"] = json::array({"a", "b"});
  expect_code(sign(c), ErrorCode::token_wrong_audience, "audience array without us");
  c["aud"] = json::array({"a", "medical-platform"});
  EXPECT_TRUE(jwt_verify(sign(c), resolver_, options_).has_value());
  c.erase("aud");
  expect_code(sign(c), ErrorCode::token_wrong_audience, "missing audience");
}

TEST_F(Jwt, PayloadNotAnObject) {
  for (const char* payload : {"[1,2,3]", "\"claims\"", "42", "{\"exp\":1", "{\"exp\":1,\"exp\":9999999999}"}) {
    auto token = jws_sign(key_, JwsAlgorithm::es256, json{{"kid", "k1"}}, as_bytes(payload));
    ASSERT_TRUE(token.has_value());
    expect_code(*token, ErrorCode::jose_malformed, payload);
  }
}

TEST_F(Jwt, CritHeader) {
  auto token = jwt_sign(key_, JwsAlgorithm::es256, "k1", claims(), json{{"crit", json::array({"exp"})}});
  ASSERT_TRUE(token.has_value());
  expect_code(*token, ErrorCode::jose_malformed, "crit");
}

TEST_F(Jwt, WrongTypedClaims) {
  const std::pair<const char*, json> cases[] = {
      {"exp", "tomorrow"}, {"exp", true},       {"nbf", json::array()}, {"iat", "now"},
      {"iss", 7},          {"sub", json::object()}, {"jti", 1},          {"aud", 5},
      {"aud", json::array({"medical-platform", 3})},
  };
  for (const auto& [name, value] : cases) {
    json c = claims();
    c[name] = value;
    expect_code(sign(c), ErrorCode::token_claims_invalid, (std::string(name) + "=" + value.dump()).c_str());
  }
  json c = claims();
  c.erase("exp");
  expect_code(sign(c), ErrorCode::token_claims_invalid, "exp required");
  options_.require_exp = false;
  EXPECT_TRUE(jwt_verify(sign(c), resolver_, options_).has_value());
}

TEST_F(Jwt, FractionalNumericDates) {
  json c = claims();
  c["exp"] = static_cast<double>(kNow) + 0.5;
  EXPECT_TRUE(jwt_verify(sign(c), resolver_, options_).has_value());
}

TEST_F(Jwt, SignRejectsNonObjectClaims) {
  EXPECT_EQ(jwt_sign(key_, JwsAlgorithm::es256, "k1", json::array()).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(jwt_sign(key_, JwsAlgorithm::ps256, "k1", claims()).error().code, ErrorCode::jose_key_mismatch);
}

TEST_F(Jwt, MissingClockIsAProgrammerError) {
  options_.clock = nullptr;
  EXPECT_THROW((void)jwt_verify(sign(claims()), resolver_, options_), std::invalid_argument);
}

}  // namespace
}  // namespace cloister::crypto
