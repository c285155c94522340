#include "cloister/crypto/ecdsa.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::from_hex;

struct Curve {
  KeyType type;
  HashAlgorithm hash;
  std::size_t component;
};

class Ecdsa : public ::testing::TestWithParam<Curve> {};

TEST_P(Ecdsa, SignVerifyRoundTripAndNegatives) {
  const Curve curve = GetParam();
  PrivateKey key = PrivateKey::generate(curve.type);
  PublicKey public_key = key.public_key();
  const Bytes message = to_bytes("attestation report body");
  auto signature = ecdsa_sign(key, curve.hash, message);
  ASSERT_TRUE(signature.has_value()) << signature.error().to_string();
  EXPECT_TRUE(ecdsa_verify(public_key, curve.hash, message, *signature).has_value());

  auto expect_invalid = [&](const Status& status, const char* what) {
    ASSERT_FALSE(status.has_value()) << what;
    EXPECT_EQ(status.error().code, ErrorCode::signature_invalid) << what;
  };
  Bytes other_message = message;
  other_message[0] ^= 1;
  expect_invalid(ecdsa_verify(public_key, curve.hash, other_message, *signature), "other message");
  Bytes tampered = *signature;
  tampered[tampered.size() - 1] ^= 1;
  expect_invalid(ecdsa_verify(public_key, curve.hash, message, tampered), "tampered signature");
  expect_invalid(ecdsa_verify(public_key, curve.hash, message, {}), "empty signature");
  Bytes trailing = *signature;
  trailing.push_back(0);
  expect_invalid(ecdsa_verify(public_key, curve.hash, message, trailing), "trailing byte");
  expect_invalid(ecdsa_verify(PrivateKey::generate(curve.type).public_key(), curve.hash, message, *signature),
                 "other key");
  const HashAlgorithm other_hash = curve.hash == HashAlgorithm::sha256 ? HashAlgorithm::sha384 : HashAlgorithm::sha256;
  expect_invalid(ecdsa_verify(public_key, other_hash, message, *signature), "other hash");

  // DER ↔ raw round trip.
  auto raw = ecdsa_der_to_raw(*signature, curve.component);
  ASSERT_TRUE(raw.has_value());
  EXPECT_EQ(raw->size(), 2 * curve.component);
  auto der = ecdsa_raw_to_der(*raw);
  ASSERT_TRUE(der.has_value());
  EXPECT_EQ(*der, *signature);
  EXPECT_TRUE(ecdsa_verify(public_key, curve.hash, message, *der).has_value());
  // A raw signature is not DER.
  expect_invalid(ecdsa_verify(public_key, curve.hash, message, *raw), "raw instead of DER");
}

INSTANTIATE_TEST_SUITE_P(Curves, Ecdsa,
                         ::testing::Values(Curve{KeyType::ec_p256, HashAlgorithm::sha256, 32},
                                           Curve{KeyType::ec_p384, HashAlgorithm::sha384, 48}),
                         [](const ::testing::TestParamInfo<Curve>& info) {
                           return std::string(info.param.type == KeyType::ec_p256 ? "P256" : "P384");
                         });

TEST(EcdsaConversion, PadsShortComponents) {
  // r = 1, s = 0x80 (needs a leading zero in DER).
  const Bytes der = from_hex("3007020101020200" "80");
  auto raw = ecdsa_der_to_raw(der, 32);
  ASSERT_TRUE(raw.has_value());
  Bytes expected(64, 0);
  expected[31] = 0x01;
  expected[63] = 0x80;
  EXPECT_EQ(*raw, expected);
  EXPECT_EQ(ecdsa_raw_to_der(*raw).value(), der);
}

TEST(EcdsaConversion, RejectsMalformed) {
  auto expect_bad = [](const Result<Bytes>& result, const char* what) {
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, ErrorCode::bad_encoding) << what;
  };
  expect_bad(ecdsa_raw_to_der({}), "empty raw");
  expect_bad(ecdsa_raw_to_der(Bytes(63, 1)), "odd raw");
  expect_bad(ecdsa_der_to_raw({}, 32), "empty DER");
  expect_bad(ecdsa_der_to_raw(from_hex("3006020101020101" "00"), 32), "trailing byte");
  expect_bad(ecdsa_der_to_raw(from_hex("30060201010201"), 32), "truncated");
  expect_bad(ecdsa_der_to_raw(from_hex("300702020001020101"), 32), "non-minimal integer");
  expect_bad(ecdsa_der_to_raw(from_hex("3006020181020101"), 32), "negative r");
  expect_bad(ecdsa_der_to_raw(from_hex("308106020101020101"), 32), "non-minimal length (BER)");
  // 33-byte r does not fit a P-256 component.
  Bytes big = from_hex("3026022101");
  big.insert(big.end(), 32, 0x11);
  big.insert(big.end(), {0x02, 0x01, 0x01});
  big[1] = static_cast<std::uint8_t>(big.size() - 2);
  expect_bad(ecdsa_der_to_raw(big, 32), "component too large");
  EXPECT_TRUE(ecdsa_der_to_raw(big, 48).has_value());
}

TEST(Ecdsa, WrongKeyTypes) {
  PrivateKey rsa = PrivateKey::generate(KeyType::rsa);
  EXPECT_EQ(ecdsa_sign(rsa, HashAlgorithm::sha256, as_bytes("m")).error().code, ErrorCode::bad_key);
  EXPECT_EQ(ecdsa_verify(rsa.public_key(), HashAlgorithm::sha256, as_bytes("m"), Bytes(70, 1)).error().code,
            ErrorCode::bad_key);
  PrivateKey x = PrivateKey::generate(KeyType::x25519);
  EXPECT_EQ(ecdsa_sign(x, HashAlgorithm::sha256, as_bytes("m")).error().code, ErrorCode::bad_key);
}

}  // namespace
}  // namespace cloister::crypto
