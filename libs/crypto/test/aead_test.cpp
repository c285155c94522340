#include "cloister/crypto/aead.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

using test::from_hex;

struct GcmCase {
  const char* name;
  AeadAlgorithm algorithm;
  const char* key;
  const char* iv;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

constexpr const char* kGcmPlaintext64 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
    "b16aedf5aa0de657ba637b391aafd255";
constexpr const char* kGcmPlaintext60 =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525"
    "b16aedf5aa0de657ba637b39";
constexpr const char* kGcmAad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 2-4 and 14-16.
const GcmCase kGcmCases[] = {
    {"2", AeadAlgorithm::aes_128_gcm, "00000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"3", AeadAlgorithm::aes_128_gcm, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
     kGcmPlaintext64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05"
     "1ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"4", AeadAlgorithm::aes_128_gcm, "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", kGcmAad,
     kGcmPlaintext60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05"
     "1ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"14", AeadAlgorithm::aes_256_gcm, "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"15", AeadAlgorithm::aes_256_gcm, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "", kGcmPlaintext64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"16", AeadAlgorithm::aes_256_gcm, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", kGcmAad, kGcmPlaintext60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838"
     "c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aead, GcmSpecVectors) {
  for (const auto& c : kGcmCases) {
    SCOPED_TRACE(std::string("GCM test case ") + c.name);
    Bytes key = from_hex(c.key);
    Bytes iv = from_hex(c.iv);
    Bytes aad = from_hex(c.aad);
    Bytes plaintext = from_hex(c.plaintext);
    Bytes expected = concat(from_hex(c.ciphertext), from_hex(c.tag));
    auto sealed = aead_seal(c.algorithm, key, iv, aad, plaintext);
    ASSERT_TRUE(sealed.has_value()) << sealed.error().to_string();
    EXPECT_EQ(hex_encode(*sealed), hex_encode(expected));
    auto opened = aead_open(c.algorithm, key, iv, aad, expected);
    ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(Aead, ChaCha20Poly1305Rfc8439) {
  const Bytes plaintext = to_bytes(
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen "
      "would be it.");
  const Bytes aad = from_hex("50515253c0c1c2c3c4c5c6c7");
  const Bytes key = from_hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  const Bytes nonce = from_hex("070000004041424344454647");
  const std::string expected =
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
      "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
      "3ff4def08e4b7a9de576d26586cec64b6116"
      "1ae10b594f09e26a7e902ecbd0600691";
  auto sealed = aead_seal(AeadAlgorithm::chacha20_poly1305, key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(hex_encode(*sealed), expected);
  auto opened = aead_open(AeadAlgorithm::chacha20_poly1305, key, nonce, aad, from_hex(expected));
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, plaintext);
}

class AeadNegative : public ::testing::TestWithParam<AeadAlgorithm> {};

TEST_P(AeadNegative, TamperAndTruncateFail) {
  const AeadAlgorithm algorithm = GetParam();
  const Bytes key(aead_key_size(algorithm), 0x11);
  const Bytes nonce(kAeadNonceSize, 0x22);
  const Bytes aad = to_bytes("header");
  const Bytes plaintext = to_bytes("patient record 42");
  auto sealed = aead_seal(algorithm, key, nonce, aad, plaintext);
  ASSERT_TRUE(sealed.has_value());
  ASSERT_EQ(sealed->size(), plaintext.size() + kAeadTagSize);

  auto expect_decrypt_failed = [&](const Result<Bytes>& result, const char* what) {
    ASSERT_FALSE(result.has_value()) << what;
    EXPECT_EQ(result.error().code, ErrorCode::decrypt_failed) << what;
  };
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    Bytes tampered = *sealed;
    tampered[i] ^= 0x01;
    expect_decrypt_failed(aead_open(algorithm, key, nonce, aad, tampered), "flipped bit");
  }
  Bytes truncated(sealed->begin(), sealed->end() - 1);
  expect_decrypt_failed(aead_open(algorithm, key, nonce, aad, truncated), "truncated by one byte");
  expect_decrypt_failed(aead_open(algorithm, key, nonce, aad, Bytes(sealed->begin(), sealed->begin() + 15)),
                        "shorter than a tag");
  expect_decrypt_failed(aead_open(algorithm, key, nonce, aad, {}), "empty");
  Bytes extended = *sealed;
  extended.push_back(0);
  expect_decrypt_failed(aead_open(algorithm, key, nonce, aad, extended), "extra byte");
  expect_decrypt_failed(aead_open(algorithm, key, nonce, to_bytes("Header"), *sealed), "other AAD");
  Bytes other_key = key;
  other_key[0] ^= 0x80;
  expect_decrypt_failed(aead_open(algorithm, other_key, nonce, aad, *sealed), "other key");
  Bytes other_nonce = nonce;
  other_nonce[11] ^= 0x01;
  expect_decrypt_failed(aead_open(algorithm, key, other_nonce, aad, *sealed), "other nonce");

  auto opened = aead_open(algorithm, key, nonce, aad, *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_EQ(*opened, plaintext);
}

TEST_P(AeadNegative, WrongSizesRejected) {
  const AeadAlgorithm algorithm = GetParam();
  const Bytes key(aead_key_size(algorithm), 0x11);
  auto bad_key = aead_seal(algorithm, Bytes(key.size() - 1, 0), Bytes(12, 0), {}, {});
  ASSERT_FALSE(bad_key.has_value());
  EXPECT_EQ(bad_key.error().code, ErrorCode::bad_key);
  auto bad_nonce = aead_seal(algorithm, key, Bytes(8, 0), {}, {});
  ASSERT_FALSE(bad_nonce.has_value());
  EXPECT_EQ(bad_nonce.error().code, ErrorCode::invalid_argument);
  auto bad_nonce_open = aead_open(algorithm, key, Bytes(16, 0), {}, Bytes(32, 0));
  ASSERT_FALSE(bad_nonce_open.has_value());
  EXPECT_EQ(bad_nonce_open.error().code, ErrorCode::invalid_argument);
}

TEST_P(AeadNegative, EmptyPlaintextRoundTrip) {
  const AeadAlgorithm algorithm = GetParam();
  const Bytes key(aead_key_size(algorithm), 0x33);
  const Bytes nonce(kAeadNonceSize, 0x44);
  auto sealed = aead_seal(algorithm, key, nonce, {}, {});
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(sealed->size(), kAeadTagSize);
  auto opened = aead_open(algorithm, key, nonce, {}, *sealed);
  ASSERT_TRUE(opened.has_value());
  EXPECT_TRUE(opened->empty());
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, AeadNegative,
                         ::testing::Values(AeadAlgorithm::aes_128_gcm, AeadAlgorithm::aes_256_gcm,
                                           AeadAlgorithm::chacha20_poly1305),
                         [](const ::testing::TestParamInfo<AeadAlgorithm>& info) {
                           switch (info.param) {
                             case AeadAlgorithm::aes_128_gcm: return std::string("Aes128Gcm");
                             case AeadAlgorithm::aes_256_gcm: return std::string("Aes256Gcm");
                             case AeadAlgorithm::chacha20_poly1305: return std::string("ChaCha20Poly1305");
                           }
                           return std::string("Unknown");
                         });

}  // namespace
}  // namespace cloister::crypto
