#include "cloister/crypto/jws.h"

#include <gtest/gtest.h>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/jwk.h"
#include "test_util.h"

namespace cloister::crypto {
namespace {

using nlohmann::json;

constexpr JwsAlgorithm kEs256Only[] = {JwsAlgorithm::es256};
constexpr JwsAlgorithm kAll[] = {JwsAlgorithm::es256, JwsAlgorithm::es384, JwsAlgorithm::ps256};

// RFC 7515 Appendix A.3 (ES256), with the public part of its JWK.
const char* const kA3Compact =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

json a3_jwk() {
  return json{{"kty", "EC"},
              {"crv", "P-256"},
              {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
              {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
}

JwsKeyResolver fixed(const PublicKey& key) {
  return [key](const json&) -> Result<PublicKey> { return key; };
}

void expect_code(const Result<VerifiedJws>& result, ErrorCode code, const char* what) {
  ASSERT_FALSE(result.has_value()) << what;
  EXPECT_EQ(result.error().code, code) << what << ": " << result.error().to_string();
}

TEST(Jws, Rfc7515A3Es256Verifies) {
  auto key = jwk_to_public_key(a3_jwk());
  ASSERT_TRUE(key.has_value());
  auto verified = jws_verify(kA3Compact, fixed(*key), kEs256Only);
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  EXPECT_EQ(verified->header, (json{{"alg", "ES256"}}));
  EXPECT_EQ(to_string(verified->payload),
            "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  // The same JWS with the private member "d" in its JWK: the JWK is refused outright.
  json with_d = a3_jwk();
  with_d["d"] = "jpsQnnGQmL-YBIffH1136cLfBjEP9F8VGGE2MmQLoe0";
  EXPECT_EQ(jwk_to_public_key(with_d).error().code, ErrorCode::jwk_invalid);
  // Not allowed when only PS256 is on the list.
  constexpr JwsAlgorithm kPs256Only[] = {JwsAlgorithm::ps256};
  expect_code(jws_verify(kA3Compact, fixed(*key), kPs256Only), ErrorCode::jose_alg_not_allowed, "ES256 not allowed");
}

TEST(Jws, Rfc7515A1Hs256Rejected) {
  const char* compact =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      "."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      "."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  auto key = jwk_to_public_key(a3_jwk()).value();
  expect_code(jws_verify(compact, fixed(key), kAll), ErrorCode::jose_alg_not_allowed, "HS256");
}

TEST(Jws, Rfc7515A4Es512Rejected) {
  const char* compact =
      "eyJhbGciOiJFUzUxMiJ9"
      "."
      "UGF5bG9hZA"
      "."
      "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZ"
      "CPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
  auto key = jwk_to_public_key(a3_jwk()).value();
  expect_code(jws_verify(compact, fixed(key), kAll), ErrorCode::jose_alg_not_allowed, "ES512");
}

TEST(Jws, Rfc7515A5NoneRejected) {
  const char* compact =
      "eyJhbGciOiJub25lIn0"
      "."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
      ".";
  auto key = jwk_to_public_key(a3_jwk()).value();
  expect_code(jws_verify(compact, fixed(key), kAll), ErrorCode::jose_alg_none, "none");
  const std::string upper = base64url_encode(as_bytes(R"({"alg":"NONE"})")) + ".e30.";
  expect_code(jws_verify(upper, fixed(key), kAll), ErrorCode::jose_alg_none, "NONE");
}

struct AlgorithmCase {
  JwsAlgorithm algorithm;
  KeyType key_type;
  std::size_t signature_size;
};

class JwsRoundTrip : public ::testing::TestWithParam<AlgorithmCase> {};

TEST_P(JwsRoundTrip, SignVerify) {
  const AlgorithmCase c = GetParam();
  PrivateKey key = PrivateKey::generate(c.key_type);
  const Bytes payload = to_bytes("{\"hello\":\"world\"}");
  auto compact = jws_sign(key, c.algorithm, json{{"kid", "k1"}, {"typ", "JOSE"}}, payload);
  ASSERT_TRUE(compact.has_value()) << compact.error().to_string();
  auto verified = jws_verify(*compact, fixed(key.public_key()), kAll);
  ASSERT_TRUE(verified.has_value()) << verified.error().to_string();
  EXPECT_EQ(verified->payload, payload);
  EXPECT_EQ(verified->header["alg"], jws_algorithm_name(c.algorithm));
  EXPECT_EQ(verified->header["kid"], "k1");
  const std::string signature_part = compact->substr(compact->rfind('.') + 1);
  EXPECT_EQ(base64url_decode(signature_part)->size(), c.signature_size);
  // Wrong key of the right type.
  expect_code(jws_verify(*compact, fixed(PrivateKey::generate(c.key_type).public_key()), kAll),
              ErrorCode::jose_signature_invalid, "other key");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwsRoundTrip,
                         ::testing::Values(AlgorithmCase{JwsAlgorithm::es256, KeyType::ec_p256, 64},
                                           AlgorithmCase{JwsAlgorithm::es384, KeyType::ec_p384, 96},
                                           AlgorithmCase{JwsAlgorithm::ps256, KeyType::rsa, 256}),
                         [](const ::testing::TestParamInfo<AlgorithmCase>& info) {
                           return std::string(jws_algorithm_name(info.param.algorithm));
                         });

TEST(Jws, KeyTypeMustMatchAlgorithm) {
  PrivateKey p256 = PrivateKey::generate(KeyType::ec_p256);
  PrivateKey p384 = PrivateKey::generate(KeyType::ec_p384);
  EXPECT_EQ(jws_sign(p384, JwsAlgorithm::es256, json::object(), as_bytes("x")).error().code,
            ErrorCode::jose_key_mismatch);
  auto compact = jws_sign(p256, JwsAlgorithm::es256, json::object(), as_bytes("x")).value();
  expect_code(jws_verify(compact, fixed(p384.public_key()), kAll), ErrorCode::jose_key_mismatch, "P-384 for ES256");
  expect_code(jws_verify(compact, fixed(PrivateKey::generate(KeyType::rsa).public_key()), kAll),
              ErrorCode::jose_key_mismatch, "RSA for ES256");
  expect_code(jws_verify(compact, fixed(PrivateKey::generate(KeyType::x25519).public_key()), kAll),
              ErrorCode::jose_key_mismatch, "X25519 for ES256");
}

TEST(Jws, MalformedSerializations) {
  PrivateKey key = PrivateKey::generate(KeyType::ec_p256);
  const std::string compact = jws_sign(key, JwsAlgorithm::es256, json::object(), as_bytes("payload")).value();
  const auto resolver = fixed(key.public_key());
  const std::size_t first = compact.find('.');
  const std::size_t second = compact.find('.', first + 1);
  const std::string header = compact.substr(0, first);
  const std::string payload = compact.substr(first + 1, second - first - 1);
  const std::string signature = compact.substr(second + 1);
  auto b64 = [](std::string_view text) { return base64url_encode(as_bytes(text)); };

  for (const std::string& bad : {
           std::string(""),
           header + "." + payload,
           compact + ".",
           compact + "." + signature,
           header + "=." + payload + "." + signature,              // padding
           header + "." + payload + "=." + signature,
           header + "." + payload + "." + signature + "=",
           header + "." + payload + "+." + signature,             // standard alphabet
           " " + compact,
           b64("[\"ES256\"]") + "." + payload + "." + signature,  // header not an object
           b64("{\"alg\":\"ES256\"") + "." + payload + "." + signature,  // not JSON
           b64("{\"alg\":256}") + "." + payload + "." + signature,
           b64("{\"kid\":\"k\"}") + "." + payload + "." + signature,      // no alg
           b64("{\"alg\":\"ES256\",\"alg\":\"ES256\"}") + "." + payload + "." + signature,  // duplicate member
           b64("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}") + "." + payload + "." + signature,
           "." + payload + "." + signature,
       }) {
    expect_code(jws_verify(bad, resolver, kAll), ErrorCode::jose_malformed, bad.c_str());
  }
}

TEST(Jws, ResolverErrorsPropagate) {
  PrivateKey key = PrivateKey::generate(KeyType::ec_p256);
  const std::string compact = jws_sign(key, JwsAlgorithm::es256, json{{"kid", "nope"}}, as_bytes("x")).value();
  JwkSet empty;
  expect_code(jws_verify(compact, [&](const json& h) { return empty.resolve(h); }, kAll), ErrorCode::jose_unknown_kid,
              "unknown kid");
}

}  // namespace
}  // namespace cloister::crypto
