#include "cloister/crypto/x25519.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::from_hex;

TEST(X25519, Rfc7748Section61) {
  const Bytes alice_private = from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const Bytes bob_private = from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto alice = x25519_from_private(alice_private);
  auto bob = x25519_from_private(bob_private);
  ASSERT_TRUE(alice.has_value());
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(hex_encode(alice->public_key), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(hex_encode(bob->public_key), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  EXPECT_EQ(alice->private_key.reveal(), alice_private);
  auto shared_a = x25519(alice_private, bob->public_key);
  auto shared_b = x25519(bob_private, alice->public_key);
  ASSERT_TRUE(shared_a.has_value());
  ASSERT_TRUE(shared_b.has_value());
  EXPECT_EQ(hex_encode(*shared_a), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*shared_a, *shared_b);
}

TEST(X25519, GeneratedPairsAgree) {
  X25519KeyPair a = x25519_generate();
  X25519KeyPair b = x25519_generate();
  ASSERT_EQ(a.private_key.reveal().size(), 32u);
  ASSERT_EQ(a.public_key.size(), 32u);
  EXPECT_NE(a.public_key, b.public_key);
  auto derived = x25519_from_private(a.private_key.reveal());
  ASSERT_TRUE(derived.has_value());
  EXPECT_EQ(derived->public_key, a.public_key);
  EXPECT_EQ(x25519(a.private_key.reveal(), b.public_key).value(), x25519(b.private_key.reveal(), a.public_key).value());
}

TEST(X25519, WrongSizesRejected) {
  X25519KeyPair a = x25519_generate();
  EXPECT_EQ(x25519_from_private(Bytes(31, 1)).error().code, ErrorCode::bad_key);
  EXPECT_EQ(x25519(Bytes(33, 1), a.public_key).error().code, ErrorCode::bad_key);
  EXPECT_EQ(x25519(a.private_key.reveal(), Bytes(31, 9)).error().code, ErrorCode::bad_key);
}

TEST(X25519, SmallOrderPointGivesNoSharedSecret) {
  X25519KeyPair a = x25519_generate();
  // The all-zero point and the point of order 8 (RFC 7748 §6.1 check) both yield an all-zero secret.
  for (const Bytes& point :
       {Bytes(32, 0), from_hex("0100000000000000000000000000000000000000000000000000000000000000"),
        from_hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")}) {
    auto shared = x25519(a.private_key.reveal(), point);
    ASSERT_FALSE(shared.has_value());
    EXPECT_EQ(shared.error().code, ErrorCode::crypto_failure);
  }
}

}  // namespace
}  // namespace cloister::crypto
