// RecordCipher: sealing of PHI and secret columns, bound to tenant/table/record/field.

#include "record_cipher.h"

#include "cloister/crypto/aead.h"
#include "cloister/crypto/random.h"

#include <gtest/gtest.h>

#include <string>

namespace cloister::platform {
namespace {

Sensitive<crypto::Bytes> random_key(std::size_t size = 32) { return Sensitive<crypto::Bytes>(crypto::random_bytes(size)); }

RecordCipher make_cipher(const Sensitive<crypto::Bytes>& key) {
  auto cipher = RecordCipher::create(key);
  if (!cipher) throw std::runtime_error(cipher.error().to_string());
  return std::move(*cipher);
}

const RecordLocation kHere{"tenant-a", "patients", "pat_42", "name"};
constexpr std::string_view kPlaintext = "Doe^Jane 1970-01-01";

class RecordCipherTest : public ::testing::Test {
 protected:
  Sensitive<crypto::Bytes> key_ = random_key();
  RecordCipher cipher_ = make_cipher(key_);
  crypto::Bytes sealed_ = cipher_.seal(kHere, crypto::as_bytes(kPlaintext)).value();
};

TEST_F(RecordCipherTest, RoundTripsAndHidesThePlaintext) {
  EXPECT_EQ(cipher_.open_text(kHere, sealed_).value(), kPlaintext);
  EXPECT_EQ(cipher_.open(kHere, sealed_).value(), crypto::to_bytes(kPlaintext));

  // Format: version ‖ nonce ‖ ciphertext ‖ tag; the plaintext is not in it.
  ASSERT_EQ(sealed_.size(), 1 + crypto::kAeadNonceSize + kPlaintext.size() + crypto::kAeadTagSize);
  EXPECT_EQ(sealed_[0], RecordCipher::kFormatVersion);
  EXPECT_EQ(crypto::to_string(sealed_).find("Doe^Jane"), std::string::npos);

  // A fresh nonce every time: equal plaintexts give different sealed values.
  auto again = cipher_.seal(kHere, crypto::as_bytes(kPlaintext)).value();
  EXPECT_NE(again, sealed_);
  EXPECT_EQ(cipher_.open_text(kHere, again).value(), kPlaintext);
}

TEST_F(RecordCipherTest, RoundTripsAnEmptyValue) {
  auto sealed = cipher_.seal(kHere, {}).value();
  EXPECT_EQ(sealed.size(), 1 + crypto::kAeadNonceSize + crypto::kAeadTagSize);
  EXPECT_TRUE(cipher_.open(kHere, sealed).value().empty());
}

TEST_F(RecordCipherTest, EveryPartOfTheLocationIsBound) {
  const RecordLocation elsewhere[] = {
      {"tenant-b", "patients", "pat_42", "name"},
      {"tenant-a", "studies", "pat_42", "name"},
      {"tenant-a", "patients", "pat_43", "name"},
      {"tenant-a", "patients", "pat_42", "birth_date"},
      // The separators keep parts apart: moving bytes across a boundary is another location.
      {"tenant-ap", "atients", "pat_42", "name"},
      {"tenant-a", "patients", "pat_42name", ""},
  };
  for (const auto& where : elsewhere) {
    auto opened = cipher_.open(where, sealed_);
    ASSERT_FALSE(opened) << where.tenant << "/" << where.table << "/" << where.id << "/" << where.field;
    EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed);
  }
}

TEST_F(RecordCipherTest, RefusesEveryFlippedByte) {
  for (std::size_t i = 0; i < sealed_.size(); ++i) {
    auto tampered = sealed_;
    tampered[i] ^= 0x01;
    auto opened = cipher_.open(kHere, tampered);
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed) << "byte " << i;
  }
}

TEST_F(RecordCipherTest, RefusesTruncatedAndExtendedValues) {
  for (std::size_t length = 0; length < sealed_.size(); ++length) {
    crypto::Bytes truncated(sealed_.begin(), sealed_.begin() + static_cast<std::ptrdiff_t>(length));
    auto opened = cipher_.open(kHere, truncated);
    ASSERT_FALSE(opened) << "length " << length;
    EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed) << "length " << length;
  }
  auto extended = sealed_;
  extended.push_back(0);
  auto opened = cipher_.open(kHere, extended);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed);
}

TEST_F(RecordCipherTest, RefusesAnUnknownFormatVersion) {
  auto other = sealed_;
  other[0] = 0x02;
  auto opened = cipher_.open(kHere, other);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed);
}

TEST_F(RecordCipherTest, RefusesAnotherDataKey) {
  auto other = make_cipher(random_key());
  auto opened = other.open(kHere, sealed_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, ErrorCode::decrypt_failed);

  // The same data key (e.g. after a restart) derives the same subkeys.
  auto same = make_cipher(Sensitive<crypto::Bytes>(key_.reveal()));
  EXPECT_EQ(same.open_text(kHere, sealed_).value(), kPlaintext);
}

TEST_F(RecordCipherTest, RefusesBadKeySizes) {
  for (std::size_t size : {0, 16, 31, 33, 64}) {
    auto cipher = RecordCipher::create(random_key(size));
    ASSERT_FALSE(cipher) << size;
    EXPECT_EQ(cipher.error().code, ErrorCode::bad_key) << size;
  }
}

TEST_F(RecordCipherTest, BlindIndexIsDeterministicAndSeparated) {
  auto index = cipher_.blind_index("tenant-a", "mrn", "12345");
  EXPECT_EQ(index.size(), 32u);
  EXPECT_EQ(cipher_.blind_index("tenant-a", "mrn", "12345"), index);
  // The same data key gives the same index (lookups survive restarts).
  EXPECT_EQ(make_cipher(Sensitive<crypto::Bytes>(key_.reveal())).blind_index("tenant-a", "mrn", "12345"), index);

  EXPECT_NE(cipher_.blind_index("tenant-b", "mrn", "12345"), index);
  EXPECT_NE(cipher_.blind_index("tenant-a", "ssn", "12345"), index);
  EXPECT_NE(cipher_.blind_index("tenant-a", "mrn", "12346"), index);
  EXPECT_NE(cipher_.blind_index("tenant-am", "rn", "12345"), index);
  EXPECT_NE(cipher_.blind_index("tenant-a", "mrn1", "2345"), index);
  EXPECT_NE(make_cipher(random_key()).blind_index("tenant-a", "mrn", "12345"), index);
  // It is not the value itself nor an unkeyed hash of it.
  EXPECT_EQ(crypto::to_string(index).find("12345"), std::string::npos);
}

TEST_F(RecordCipherTest, CacheKeyIsADerivedSubkey) {
  const auto& cache = cipher_.cache_key().reveal();
  EXPECT_EQ(cache.size(), 32u);
  EXPECT_NE(cache, key_.reveal());
  EXPECT_EQ(make_cipher(Sensitive<crypto::Bytes>(key_.reveal())).cache_key().reveal(), cache);
  EXPECT_NE(make_cipher(random_key()).cache_key().reveal(), cache);
}

}  // namespace
}  // namespace cloister::platform
