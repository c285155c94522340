#include "cloister/crypto/hash.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::from_hex;
using test::repeat;
using test::sequence;

TEST(Sha2, Fips180Abc) {
  EXPECT_EQ(hex_encode(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha384(as_bytes("abc"))),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
            "8086072ba1e7cc2358baeca134c825a7");
  EXPECT_EQ(hex_encode(sha512(as_bytes("abc"))),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
}

TEST(Sha2, Empty) {
  EXPECT_EQ(hex_encode(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_encode(sha384({})),
            "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da"
            "274edebfe76f65fbd51ad2f14898b95b");
  EXPECT_EQ(hex_encode(sha512({})),
            "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
            "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
}

TEST(Sha2, IncrementalMatchesOneShot) {
  Hasher hasher(HashAlgorithm::sha384);
  hasher.update(as_bytes("a"));
  hasher.update({});
  hasher.update(as_bytes("bc"));
  EXPECT_EQ(hasher.finish(), sha384(as_bytes("abc")));
  EXPECT_EQ(digest(HashAlgorithm::sha256, as_bytes("abc")), sha256(as_bytes("abc")));
  EXPECT_EQ(digest_size(HashAlgorithm::sha256), 32u);
  EXPECT_EQ(digest_size(HashAlgorithm::sha384), 48u);
  EXPECT_EQ(digest_size(HashAlgorithm::sha512), 64u);
}

struct HmacCase {
  const char* name;
  Bytes key;
  Bytes data;
  const char* sha256;
  const char* sha384;
  const char* sha512;
};

TEST(Hmac, Rfc4231) {
  const Bytes large_key = repeat(0xaa, 131);
  const std::vector<HmacCase> cases = {
      {"1", repeat(0x0b, 20), to_bytes("Hi There"),
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
       "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6",
       "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
       "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
      {"2", to_bytes("Jefe"), to_bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
       "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649",
       "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
       "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
      {"3", repeat(0xaa, 20), repeat(0xdd, 50),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
       "88062608d3e6ad8a0aa2ace014c8a86f0aa635d947ac9febe83ef4e55966144b2a5ab39dc13814b94e3ab6e101a34f27",
       "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
       "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
      {"4", sequence(0x01, 0x19), repeat(0xcd, 50),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
       "3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb",
       "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
       "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
      {"6", large_key, to_bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
       "4ece084485813e9088d2c63a041bc5b44f9ef1012a2b588f3cd11f05033ac4c60c2ef6ab4030fe8296248df163f44952",
       "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
       "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
      {"7", large_key,
       to_bytes("This is a test using a larger than block-size key and a larger than block-size data. The key "
                "needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
       "6617178e941f020d351e2f254e8fd32c602420feb0b8fb9adccebb82461e99c5a678cc31e799176d3860e6110c46523e",
       "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
       "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string("RFC 4231 test case ") + c.name);
    EXPECT_EQ(hex_encode(hmac(HashAlgorithm::sha256, c.key, c.data)), c.sha256);
    EXPECT_EQ(hex_encode(hmac(HashAlgorithm::sha384, c.key, c.data)), c.sha384);
    EXPECT_EQ(hex_encode(hmac(HashAlgorithm::sha512, c.key, c.data)), c.sha512);
  }
}

TEST(Hmac, EmptyKeyAndData) {
  // HMAC-SHA256 with an empty key over an empty message (well-known value).
  EXPECT_EQ(hex_encode(hmac(HashAlgorithm::sha256, {}, {})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

struct HkdfCase {
  const char* name;
  Bytes ikm;
  Bytes salt;
  Bytes info;
  std::size_t length;
  const char* prk;
  const char* okm;
};

TEST(Hkdf, Rfc5869Sha256) {
  const std::vector<HkdfCase> cases = {
      {"1", repeat(0x0b, 22), sequence(0x00, 0x0c), sequence(0xf0, 0xf9), 42,
       "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
       "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"},
      {"2", sequence(0x00, 0x4f), sequence(0x60, 0xaf), sequence(0xb0, 0xff), 82,
       "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
       "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
       "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
       "cc30c58179ec3e87c14c01d5c1f3434f1d87"},
      {"3", repeat(0x0b, 22), {}, {}, 42, "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
       "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string("RFC 5869 test case ") + c.name);
    Bytes prk = hkdf_extract(HashAlgorithm::sha256, c.salt, c.ikm);
    EXPECT_EQ(hex_encode(prk), c.prk);
    auto okm = hkdf_expand(HashAlgorithm::sha256, prk, c.info, c.length);
    ASSERT_TRUE(okm.has_value()) << okm.error().to_string();
    EXPECT_EQ(hex_encode(*okm), c.okm);
    auto one_shot = hkdf(HashAlgorithm::sha256, c.salt, c.ikm, c.info, c.length);
    ASSERT_TRUE(one_shot.has_value());
    EXPECT_EQ(*one_shot, *okm);
  }
}

TEST(Hkdf, ExpandLimits) {
  Bytes prk = hkdf_extract(HashAlgorithm::sha256, {}, as_bytes("secret"));
  EXPECT_TRUE(hkdf_expand(HashAlgorithm::sha256, prk, {}, 255 * 32).has_value());
  auto too_long = hkdf_expand(HashAlgorithm::sha256, prk, {}, 255 * 32 + 1);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, ErrorCode::invalid_argument);
  auto empty = hkdf_expand(HashAlgorithm::sha256, prk, {}, 0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
}

TEST(Hkdf, EmptyInputsFollowTheDefinition) {
  // Extract = HMAC(salt or HashLen zeros, IKM); an empty HMAC key is equivalent to all-zero padding.
  EXPECT_EQ(hkdf_extract(HashAlgorithm::sha256, {}, {}), hmac(HashAlgorithm::sha256, Bytes(32, 0), {}));
  EXPECT_EQ(hkdf_extract(HashAlgorithm::sha384, as_bytes("salt"), {}), hmac(HashAlgorithm::sha384, as_bytes("salt"), {}));
  Bytes prk = hkdf_extract(HashAlgorithm::sha512, {}, as_bytes("ikm"));
  auto okm = hkdf_expand(HashAlgorithm::sha512, prk, {}, 10);
  ASSERT_TRUE(okm.has_value());
  Bytes t1 = hmac(HashAlgorithm::sha512, prk, Bytes{1});
  EXPECT_EQ(*okm, Bytes(t1.begin(), t1.begin() + 10));
  auto short_prk = hkdf_expand(HashAlgorithm::sha256, Bytes(16, 1), {}, 10);
  ASSERT_FALSE(short_prk.has_value());
  EXPECT_EQ(short_prk.error().code, ErrorCode::invalid_argument);
}

TEST(Hkdf, LongInfoMatchesShortPrefixDefinition) {
  // Infos beyond OpenSSL's internal buffer take the hand-written loop; check it against HMAC directly.
  Bytes prk = hkdf_extract(HashAlgorithm::sha384, as_bytes("salt"), as_bytes("ikm"));
  Bytes info = repeat(0x42, 2000);
  auto okm = hkdf_expand(HashAlgorithm::sha384, prk, info, 60);
  ASSERT_TRUE(okm.has_value());
  Bytes t1_input = info;
  t1_input.push_back(1);
  Bytes t1 = hmac(HashAlgorithm::sha384, prk, t1_input);
  Bytes t2_input = t1;
  t2_input.insert(t2_input.end(), info.begin(), info.end());
  t2_input.push_back(2);
  Bytes t2 = hmac(HashAlgorithm::sha384, prk, t2_input);
  Bytes expected = concat(t1, t2);
  expected.resize(60);
  EXPECT_EQ(*okm, expected);
}

TEST(Hex, RoundTripAndStrictness) {
  EXPECT_EQ(hex_encode(from_hex("00ff10Ab")), "00ff10ab");
  EXPECT_EQ(hex_decode("").value(), Bytes{});
  for (std::string_view bad : {"0", "zz", "0g", "0 ", "+1"}) {
    auto decoded = hex_decode(bad);
    ASSERT_FALSE(decoded.has_value()) << bad;
    EXPECT_EQ(decoded.error().code, ErrorCode::bad_encoding);
  }
}

TEST(Bytes, ConstantTimeEquality) {
  EXPECT_TRUE(equal_constant_time(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(equal_constant_time(as_bytes("abc"), as_bytes("ab")));
  EXPECT_TRUE(equal_constant_time({}, {}));
  Bytes secret = to_bytes("secret");
  cleanse(secret);
  EXPECT_EQ(secret, Bytes(6, 0));
}

}  // namespace
}  // namespace cloister::crypto
