#include "cloister/crypto/rsa.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "test_util.h"

namespace cloister::crypto {
namespace {

// PKCS#1 v1.5 signing is only needed here (the library verifies it, e.g. for X.509).
Bytes pkcs1_sign(const PrivateKey& key, const char* digest, BytesView message) {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_PKEY_CTX* key_context = nullptr;
  EXPECT_EQ(EVP_DigestSignInit_ex(context, &key_context, digest, nullptr, nullptr,
                                  static_cast<EVP_PKEY*>(key.native()), nullptr), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING), 1);
  std::size_t size = 0;
  EVP_DigestSign(context, nullptr, &size, message.data(), message.size());
  Bytes signature(size);
  EXPECT_EQ(EVP_DigestSign(context, signature.data(), &size, message.data(), message.size()), 1);
  signature.resize(size);
  EVP_MD_CTX_free(context);
  return signature;
}

class Rsa : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { key_ = new PrivateKey(PrivateKey::generate(KeyType::rsa)); }
  static void TearDownTestSuite() {
    delete key_;
    key_ = nullptr;
  }
  static PrivateKey* key_;
};
PrivateKey* Rsa::key_ = nullptr;

TEST_F(Rsa, PssRoundTripAndNegatives) {
  const PublicKey public_key = key_->public_key();
  EXPECT_EQ(public_key.bits(), 2048);
  const Bytes message = to_bytes("VCEK certificate body");
  for (HashAlgorithm hash : {HashAlgorithm::sha256, HashAlgorithm::sha384}) {
    auto signature = rsa_pss_sign(*key_, hash, message);
    ASSERT_TRUE(signature.has_value());
    EXPECT_EQ(signature->size(), 256u);
    EXPECT_TRUE(rsa_pss_verify(public_key, hash, message, *signature).has_value());
    EXPECT_TRUE(rsa_pss_verify(public_key, hash, message, *signature, static_cast<int>(digest_size(hash))).has_value());
    // Wrong salt length, other hash, tampering, PKCS#1 instead of PSS.
    EXPECT_EQ(rsa_pss_verify(public_key, hash, message, *signature, 0).error().code, ErrorCode::signature_invalid);
    const HashAlgorithm other = hash == HashAlgorithm::sha256 ? HashAlgorithm::sha384 : HashAlgorithm::sha256;
    EXPECT_EQ(rsa_pss_verify(public_key, other, message, *signature).error().code, ErrorCode::signature_invalid);
    Bytes tampered = *signature;
    tampered[100] ^= 0x04;
    EXPECT_EQ(rsa_pss_verify(public_key, hash, message, tampered).error().code, ErrorCode::signature_invalid);
    Bytes truncated(signature->begin(), signature->end() - 1);
    EXPECT_EQ(rsa_pss_verify(public_key, hash, message, truncated).error().code, ErrorCode::signature_invalid);
    EXPECT_EQ(rsa_pss_verify(public_key, hash, to_bytes("other"), *signature).error().code,
              ErrorCode::signature_invalid);
    EXPECT_EQ(rsa_pkcs1_verify(public_key, hash, message, *signature).error().code, ErrorCode::signature_invalid);
  }
}

TEST_F(Rsa, Pkcs1RoundTripAndNegatives) {
  const PublicKey public_key = key_->public_key();
  const Bytes message = to_bytes("certificate tbs");
  Bytes signature = pkcs1_sign(*key_, "SHA256", message);
  EXPECT_TRUE(rsa_pkcs1_verify(public_key, HashAlgorithm::sha256, message, signature).has_value());
  EXPECT_EQ(rsa_pkcs1_verify(public_key, HashAlgorithm::sha384, message, signature).error().code,
            ErrorCode::signature_invalid);
  Bytes tampered = signature;
  tampered[0] ^= 0x01;
  EXPECT_EQ(rsa_pkcs1_verify(public_key, HashAlgorithm::sha256, message, tampered).error().code,
            ErrorCode::signature_invalid);
  EXPECT_EQ(rsa_pss_verify(public_key, HashAlgorithm::sha256, message, signature).error().code,
            ErrorCode::signature_invalid);
  EXPECT_EQ(rsa_pkcs1_verify(PrivateKey::generate(KeyType::rsa).public_key(), HashAlgorithm::sha256, message,
                             signature)
                .error()
                .code,
            ErrorCode::signature_invalid);
}

TEST_F(Rsa, WrongKeyTypes) {
  PrivateKey ec = PrivateKey::generate(KeyType::ec_p256);
  EXPECT_EQ(rsa_pss_sign(ec, HashAlgorithm::sha256, as_bytes("m")).error().code, ErrorCode::bad_key);
  EXPECT_EQ(rsa_pss_verify(ec.public_key(), HashAlgorithm::sha256, as_bytes("m"), Bytes(256, 1)).error().code,
            ErrorCode::bad_key);
  EXPECT_EQ(rsa_pkcs1_verify(ec.public_key(), HashAlgorithm::sha256, as_bytes("m"), Bytes(256, 1)).error().code,
            ErrorCode::bad_key);
}

}  // namespace
}  // namespace cloister::crypto
