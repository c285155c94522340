#include "cloister/crypto/keys.h"

#include <gtest/gtest.h>

#include "cloister/crypto/base64.h"
#include "cloister/crypto/x25519.h"
#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::from_hex;

class KeyRoundTrip : public ::testing::TestWithParam<KeyType> {};

TEST_P(KeyRoundTrip, PemAndSpki) {
  const KeyType type = GetParam();
  PrivateKey key = PrivateKey::generate(type);
  EXPECT_EQ(key.type(), type);
  PublicKey public_key = key.public_key();
  EXPECT_EQ(public_key.type(), type);

  const Sensitive<std::string> pem = key.pem();
  const std::string& private_pem = pem.reveal();
  EXPECT_EQ(private_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  auto reloaded = PrivateKey::from_pem(private_pem);
  ASSERT_TRUE(reloaded.has_value()) << reloaded.error().to_string();
  EXPECT_EQ(reloaded->public_key(), public_key);

  auto from_pem = PublicKey::from_pem(public_key.pem());
  ASSERT_TRUE(from_pem.has_value());
  EXPECT_EQ(*from_pem, public_key);
  auto from_der = PublicKey::from_spki_der(public_key.spki_der());
  ASSERT_TRUE(from_der.has_value());
  EXPECT_EQ(*from_der, public_key);
  EXPECT_NE(PrivateKey::generate(type).public_key(), public_key);

  // The public half carries no private material.
  EXPECT_EQ(public_key.pem().find("PRIVATE"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, KeyRoundTrip,
                         ::testing::Values(KeyType::ec_p256, KeyType::ec_p384, KeyType::x25519, KeyType::rsa),
                         [](const ::testing::TestParamInfo<KeyType>& info) {
                           switch (info.param) {
                             case KeyType::ec_p256: return std::string("P256");
                             case KeyType::ec_p384: return std::string("P384");
                             case KeyType::x25519: return std::string("X25519");
                             case KeyType::rsa: return std::string("Rsa");
                           }
                           return std::string("Unknown");
                         });

TEST(PublicKey, EcPointRoundTripAndCurveCheck) {
  for (KeyType type : {KeyType::ec_p256, KeyType::ec_p384}) {
    PublicKey key = PrivateKey::generate(type).public_key();
    auto point = key.ec_point();
    ASSERT_TRUE(point.has_value());
    const std::size_t size = ec_component_size(type);
    ASSERT_EQ(point->size(), 1 + 2 * size);
    BytesView view(*point);
    auto rebuilt = PublicKey::from_ec_point(type, view.subspan(1, size), view.subspan(1 + size, size));
    ASSERT_TRUE(rebuilt.has_value()) << rebuilt.error().to_string();
    EXPECT_EQ(*rebuilt, key);

    Bytes bad_y(view.begin() + 1 + size, view.end());
    bad_y.back() ^= 0x01;  // (x, y') is not on the curve
    auto off_curve = PublicKey::from_ec_point(type, view.subspan(1, size), bad_y);
    ASSERT_FALSE(off_curve.has_value());
    EXPECT_EQ(off_curve.error().code, ErrorCode::bad_key);

    auto short_x = PublicKey::from_ec_point(type, view.subspan(2, size - 1), view.subspan(1 + size, size));
    ASSERT_FALSE(short_x.has_value());
    EXPECT_EQ(short_x.error().code, ErrorCode::bad_key);
  }
  auto wrong_type = PublicKey::from_ec_point(KeyType::rsa, Bytes(32), Bytes(32));
  EXPECT_FALSE(wrong_type.has_value());
  EXPECT_FALSE(PublicKey::from_ec_point(KeyType::ec_p256, Bytes(32, 0), Bytes(32, 0)).has_value());
}

TEST(PublicKey, X25519RawMatchesX25519Module) {
  const Bytes private_raw = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto key = PrivateKey::from_x25519_raw(private_raw);
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->raw_x25519()->reveal(), private_raw);
  auto raw_public = key->public_key().raw_x25519();
  ASSERT_TRUE(raw_public.has_value());
  EXPECT_EQ(hex_encode(*raw_public), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto from_raw = PublicKey::from_x25519_raw(*raw_public);
  ASSERT_TRUE(from_raw.has_value());
  EXPECT_EQ(*from_raw, key->public_key());
  EXPECT_EQ(PublicKey::from_x25519_raw(Bytes(31)).error().code, ErrorCode::bad_key);
  EXPECT_EQ(PrivateKey::generate(KeyType::ec_p256).public_key().raw_x25519().error().code, ErrorCode::bad_key);
  EXPECT_EQ(PrivateKey::generate(KeyType::x25519).public_key().ec_point().error().code, ErrorCode::bad_key);
}

TEST(PublicKey, MalformedInputsRejected) {
  EXPECT_EQ(PublicKey::from_pem("not a pem").error().code, ErrorCode::bad_key);
  EXPECT_EQ(PublicKey::from_pem("").error().code, ErrorCode::bad_key);
  EXPECT_EQ(PublicKey::from_spki_der({}).error().code, ErrorCode::bad_key);
  EXPECT_EQ(PublicKey::from_spki_der(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}).error().code, ErrorCode::bad_key);
  Bytes spki = PrivateKey::generate(KeyType::ec_p256).public_key().spki_der();
  Bytes trailing = spki;
  trailing.push_back(0);
  EXPECT_EQ(PublicKey::from_spki_der(trailing).error().code, ErrorCode::bad_key);
  Bytes truncated(spki.begin(), spki.end() - 1);
  EXPECT_EQ(PublicKey::from_spki_der(truncated).error().code, ErrorCode::bad_key);
  EXPECT_EQ(PrivateKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").error().code,
            ErrorCode::bad_key);
}

TEST(PublicKey, UnsupportedCurveRejected) {
  // An Ed25519 SubjectPublicKeyInfo (RFC 8410 example) parses in OpenSSL but is not a supported type.
  auto der = base64_decode("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=");
  ASSERT_TRUE(der.has_value());
  auto key = PublicKey::from_spki_der(*der);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::bad_key);
}

TEST(PrivateKey, EncryptedPemRefusedWithoutPrompting) {
  // Traditional encrypted PEM header: must fail instead of asking for a passphrase on the terminal.
  const char* encrypted =
      "-----BEGIN EC PRIVATE KEY-----\n"
      "Proc-Type: 4,ENCRYPTED\n"
      "DEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n"
      "\n"
      "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"
      "-----END EC PRIVATE KEY-----\n";
  auto key = PrivateKey::from_pem(encrypted);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::bad_key);
}

TEST(PrivateKey, PemIsRedactedWhenPrinted) {
  auto pem = PrivateKey::generate(KeyType::ec_p256).pem();
  std::ostringstream out;
  out << pem;
  EXPECT_EQ(out.str(), "[redacted]");
}

}  // namespace
}  // namespace cloister::crypto
