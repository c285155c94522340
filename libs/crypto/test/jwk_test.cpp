#include "cloister/crypto/jwk.h"

#include <gtest/gtest.h>

#include "cloister/crypto/base64.h"
#include "test_util.h"

namespace cloister::crypto {
namespace {

using nlohmann::json;

const char* const kRfc7638Modulus =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs"
    "tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5"
    "hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

json rfc7638_key() {
  return json{{"kty", "RSA"}, {"n", kRfc7638Modulus}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
}

json rfc7517_a1_ec_key() {
  return json{{"kty", "EC"},
              {"crv", "P-256"},
              {"x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"},
              {"y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
              {"use", "enc"},
              {"kid", "1"}};
}

void expect_jwk_invalid(const json& jwk, const char* what) {
  auto key = jwk_to_public_key(jwk);
  ASSERT_FALSE(key.has_value()) << what;
  EXPECT_EQ(key.error().code, ErrorCode::jwk_invalid) << what << ": " << key.error().to_string();
}

TEST(Jwk, Rfc7638Thumbprint) {
  auto thumbprint = jwk_thumbprint(rfc7638_key());
  ASSERT_TRUE(thumbprint.has_value());
  EXPECT_EQ(*thumbprint, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
  // The RSA key itself imports, and its exported JWK has the same thumbprint.
  auto key = jwk_to_public_key(rfc7638_key());
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(key->type(), KeyType::rsa);
  EXPECT_EQ(key->bits(), 2048);
  auto exported = public_key_to_jwk(*key);
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ((*exported)["n"], kRfc7638Modulus);
  EXPECT_EQ((*exported)["e"], "AQAB");
  EXPECT_EQ(jwk_thumbprint(*exported).value(), *thumbprint);
  EXPECT_EQ(jwk_thumbprint(json{{"kty", "RSA"}, {"n", kRfc7638Modulus}}).error().code, ErrorCode::jwk_invalid);
  EXPECT_EQ(jwk_thumbprint(json{{"kty", "RSA"}, {"n", kRfc7638Modulus}, {"e", 65537}}).error().code,
            ErrorCode::jwk_invalid);
}

TEST(Jwk, Rfc7517A1EcKeyImport) {
  auto key = jwk_to_public_key(rfc7517_a1_ec_key());
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(key->type(), KeyType::ec_p256);
  auto exported = public_key_to_jwk(*key);
  ASSERT_TRUE(exported.has_value());
  EXPECT_EQ(*exported, (json{{"kty", "EC"},
                             {"crv", "P-256"},
                             {"x", "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"},
                             {"y", "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}}));
}

TEST(Jwk, RoundTripsAllTypes) {
  for (KeyType type : {KeyType::ec_p256, KeyType::ec_p384, KeyType::x25519, KeyType::rsa}) {
    PublicKey key = PrivateKey::generate(type).public_key();
    auto jwk = public_key_to_jwk(key);
    ASSERT_TRUE(jwk.has_value());
    auto back = jwk_to_public_key(*jwk);
    ASSERT_TRUE(back.has_value()) << jwk->dump();
    EXPECT_EQ(*back, key);
    EXPECT_TRUE(jwk_thumbprint(*jwk).has_value());
  }
  PublicKey x = PrivateKey::generate(KeyType::x25519).public_key();
  json jwk = public_key_to_jwk(x).value();
  EXPECT_EQ(jwk["kty"], "OKP");
  EXPECT_EQ(jwk["crv"], "X25519");
  EXPECT_FALSE(jwk.contains("y"));
}

TEST(Jwk, RejectsPrivateAndMalformedKeys) {
  json with_d = rfc7517_a1_ec_key();
  with_d["d"] = "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE";
  expect_jwk_invalid(with_d, "private EC key");
  json rsa_private = rfc7638_key();
  rsa_private["p"] = "AQAB";
  expect_jwk_invalid(rsa_private, "private RSA member");
  expect_jwk_invalid(json{{"kty", "oct"}, {"k", "AAAA"}}, "symmetric key");
  expect_jwk_invalid(json::array(), "not an object");
  expect_jwk_invalid(json{{"crv", "P-256"}}, "no kty");
  expect_jwk_invalid(json{{"kty", 1}}, "kty not a string");
  expect_jwk_invalid(json{{"kty", "EC"}, {"crv", "P-521"}, {"x", "AA"}, {"y", "AA"}}, "unsupported curve");
  expect_jwk_invalid(json{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", base64url_encode(Bytes(32, 9))}}, "Ed25519");

  json short_x = rfc7517_a1_ec_key();
  short_x["x"] = base64url_encode(BytesView(base64url_decode(short_x["x"].get<std::string>()).value()).first(31));
  expect_jwk_invalid(short_x, "31-byte x");
  json long_y = rfc7517_a1_ec_key();
  Bytes y = base64url_decode(long_y["y"].get<std::string>()).value();
  y.insert(y.begin(), 0);
  long_y["y"] = base64url_encode(y);
  expect_jwk_invalid(long_y, "33-byte y with leading zero");
  json off_curve = rfc7517_a1_ec_key();
  Bytes bad_y = base64url_decode(off_curve["y"].get<std::string>()).value();
  bad_y[31] ^= 1;
  off_curve["y"] = base64url_encode(bad_y);
  expect_jwk_invalid(off_curve, "point off the curve");
  json p384_claim = rfc7517_a1_ec_key();
  p384_claim["crv"] = "P-384";
  expect_jwk_invalid(p384_claim, "P-256 coordinates labelled P-384");
  json padded = rfc7517_a1_ec_key();
  padded["x"] = padded["x"].get<std::string>() + "=";
  expect_jwk_invalid(padded, "padded base64url");

  json small_rsa = rfc7638_key();
  small_rsa["n"] = base64url_encode(BytesView(base64url_decode(kRfc7638Modulus).value()).first(128));
  expect_jwk_invalid(small_rsa, "1024-bit modulus");
  json even_e = rfc7638_key();
  even_e["e"] = "AAI";  // 2
  expect_jwk_invalid(even_e, "even exponent");
}

TEST(JwkSet, ParseFindAndPublish) {
  PublicKey a = PrivateKey::generate(KeyType::ec_p256).public_key();
  PublicKey b = PrivateKey::generate(KeyType::ec_p384).public_key();
  JwkSet published;
  ASSERT_TRUE(published.add("key-a", a).has_value());
  ASSERT_TRUE(published.add("key-b", b).has_value());
  EXPECT_EQ(published.add("key-a", b).error().code, ErrorCode::conflict);
  json document = published.to_json().value();
  ASSERT_EQ(document["keys"].size(), 2u);

  auto set = JwkSet::parse(document);
  ASSERT_TRUE(set.has_value()) << set.error().to_string();
  EXPECT_EQ(set->kids(), (std::vector<std::string>{"key-a", "key-b"}));
  EXPECT_EQ(set->find("key-b").value(), b);
  EXPECT_EQ(set->find("key-c").error().code, ErrorCode::jose_unknown_kid);
  EXPECT_EQ(set->resolve(json{{"alg", "ES256"}, {"kid", "key-a"}}).value(), a);
  EXPECT_EQ(set->resolve(json{{"alg", "ES256"}}).error().code, ErrorCode::jose_unknown_kid);
  EXPECT_EQ(set->resolve(json{{"alg", "ES256"}, {"kid", 7}}).error().code, ErrorCode::jose_unknown_kid);

  json duplicate = document;
  duplicate["keys"][1]["kid"] = "key-a";
  EXPECT_EQ(JwkSet::parse(duplicate).error().code, ErrorCode::jwk_invalid);
  json missing_kid = document;
  missing_kid["keys"][0].erase("kid");
  EXPECT_EQ(JwkSet::parse(missing_kid).error().code, ErrorCode::jwk_invalid);
  json bad_key = document;
  bad_key["keys"][0]["d"] = "AAAA";
  EXPECT_EQ(JwkSet::parse(bad_key).error().code, ErrorCode::jwk_invalid);
  EXPECT_EQ(JwkSet::parse(json{{"keys", json::object()}}).error().code, ErrorCode::jwk_invalid);
  EXPECT_EQ(JwkSet::parse(json::array()).error().code, ErrorCode::jwk_invalid);
  EXPECT_TRUE(JwkSet::parse(json{{"keys", json::array()}})->kids().empty());
}

}  // namespace
}  // namespace cloister::crypto
