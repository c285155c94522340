// Sealed messages (the OHTTP pattern over HPKE): round trips, the documented byte format, and
// tampering with every byte of requests and responses.

#include "cloister/crypto/sealed_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"

namespace cloister::crypto::sealed {
namespace {

constexpr hpke::Suite kAes128{hpke::Kem::x25519_hkdf_sha256, hpke::Kdf::hkdf_sha256, hpke::Aead::aes_128_gcm};
constexpr hpke::Suite kChaCha{hpke::Kem::x25519_hkdf_sha256, hpke::Kdf::hkdf_sha256, hpke::Aead::chacha20_poly1305};
constexpr hpke::Suite kExportOnly{hpke::Kem::x25519_hkdf_sha256, hpke::Kdf::hkdf_sha256, hpke::Aead::export_only};
constexpr std::uint8_t kKeyId = 0x2A;

std::size_t response_nonce_size(const hpke::Suite& suite) {
  return std::max(hpke::aead_key_size(suite.aead), hpke::aead_nonce_size(suite.aead));
}

AeadAlgorithm algorithm(const hpke::Suite& suite) {
  switch (suite.aead) {
    case hpke::Aead::aes_128_gcm:
      return AeadAlgorithm::aes_128_gcm;
    case hpke::Aead::chacha20_poly1305:
      return AeadAlgorithm::chacha20_poly1305;
    default:
      return AeadAlgorithm::aes_256_gcm;
  }
}

void expect_error(ErrorCode actual, std::initializer_list<ErrorCode> allowed, const std::string& where) {
  EXPECT_TRUE(std::find(allowed.begin(), allowed.end(), actual) != allowed.end())
      << where << ": got " << error_name(actual);
}

std::string suite_name(const testing::TestParamInfo<hpke::Suite>& info) {
  switch (info.param.aead) {
    case hpke::Aead::aes_128_gcm:
      return "Aes128Gcm";
    case hpke::Aead::aes_256_gcm:
      return "Aes256Gcm";
    case hpke::Aead::chacha20_poly1305:
      return "ChaCha20Poly1305";
    case hpke::Aead::export_only:
      break;
  }
  return "ExportOnly";
}

class SealedMessage : public testing::TestWithParam<hpke::Suite> {
 protected:
  hpke::KeyPair server_ = hpke::generate_key_pair();
};

TEST_P(SealedMessage, RequestAndResponseRoundTrip) {
  const hpke::Suite suite = GetParam();
  const Bytes request_body = to_bytes(R"({"patient":"Jane Roe","study":"CT chest"})");
  auto request = seal_request(server_.public_key, kKeyId, request_body, suite);
  ASSERT_TRUE(request.has_value()) << request.error().to_string();
  EXPECT_EQ(request->message.size(), kHeaderSize + hpke::kEncSize + request_body.size() + hpke::kTagSize);

  auto opened = open_request(request->message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  EXPECT_EQ(opened->plaintext, request_body);
  EXPECT_EQ(opened->key_id, kKeyId);

  const Bytes response_body = to_bytes(R"({"finding":"no acute abnormality"})");
  auto response = opened->sealer.seal(response_body);
  ASSERT_TRUE(response.has_value()) << response.error().to_string();
  EXPECT_EQ(response->size(), response_nonce_size(suite) + response_body.size() + hpke::kTagSize);
  auto answer = request->opener.open(*response);
  ASSERT_TRUE(answer.has_value()) << answer.error().to_string();
  EXPECT_EQ(*answer, response_body);
}

TEST_P(SealedMessage, EmptyBodiesRoundTrip) {
  auto request = seal_request(server_.public_key, kKeyId, {}, GetParam());
  ASSERT_TRUE(request.has_value());
  auto opened = open_request(request->message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  EXPECT_TRUE(opened->plaintext.empty());
  auto response = opened->sealer.seal({});
  ASSERT_TRUE(response.has_value());
  auto answer = request->opener.open(*response);
  ASSERT_TRUE(answer.has_value()) << answer.error().to_string();
  EXPECT_TRUE(answer->empty());
}

// Rebuilds both directions from the byte format in sealed_message.h with the HPKE API alone, so
// the documented format (which the portal implements in JavaScript) is what the code does.
TEST_P(SealedMessage, BytesFollowTheDocumentedFormat) {
  const hpke::Suite suite = GetParam();
  const Bytes request_body = to_bytes("documented format");
  auto request = seal_request(server_.public_key, kKeyId, request_body, suite);
  ASSERT_TRUE(request.has_value());
  const Bytes& message = request->message;

  const auto aead_id = static_cast<std::uint16_t>(suite.aead);
  Bytes expected_header = {kKeyId, 0x00, 0x20, 0x00, 0x01};  // key id, kem 0x0020, kdf 0x0001
  expected_header.push_back(static_cast<std::uint8_t>(aead_id >> 8));
  expected_header.push_back(static_cast<std::uint8_t>(aead_id & 0xFF));
  const Bytes header(message.begin(), message.begin() + kHeaderSize);
  ASSERT_EQ(hex_encode(header), hex_encode(expected_header));
  const Bytes enc(message.begin() + kHeaderSize, message.begin() + kHeaderSize + hpke::kEncSize);
  const Bytes ciphertext(message.begin() + kHeaderSize + hpke::kEncSize, message.end());

  Bytes info = to_bytes("cloister request");
  info.push_back(0x00);
  info.insert(info.end(), header.begin(), header.end());
  auto context = hpke::setup_base_recipient(suite, enc, server_.private_key.reveal(), info);
  ASSERT_TRUE(context.has_value()) << context.error().to_string();
  auto body = context->open({}, ciphertext);
  ASSERT_TRUE(body.has_value()) << body.error().to_string();
  EXPECT_EQ(*body, request_body);

  // The server's response, opened by hand with the documented derivation.
  auto opened = open_request(message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(opened.has_value());
  const Bytes response_body = to_bytes("documented response");
  auto response = opened->sealer.seal(response_body);
  ASSERT_TRUE(response.has_value());

  const std::size_t nonce_size = response_nonce_size(suite);
  auto secret = context->export_secret(to_bytes("cloister response"), nonce_size);
  ASSERT_TRUE(secret.has_value());
  const Bytes response_nonce(response->begin(), response->begin() + static_cast<std::ptrdiff_t>(nonce_size));
  const Bytes prk = hkdf_extract(HashAlgorithm::sha256, concat(enc, response_nonce), *secret);
  auto key = hkdf_expand(HashAlgorithm::sha256, prk, to_bytes("key"), hpke::aead_key_size(suite.aead));
  auto nonce = hkdf_expand(HashAlgorithm::sha256, prk, to_bytes("nonce"), hpke::aead_nonce_size(suite.aead));
  ASSERT_TRUE(key && nonce);
  auto plaintext = aead_open(algorithm(suite), *key, *nonce, {}, BytesView(*response).subspan(nonce_size));
  ASSERT_TRUE(plaintext.has_value()) << plaintext.error().to_string();
  EXPECT_EQ(*plaintext, response_body);
}

TEST_P(SealedMessage, EveryTamperedRequestByteFails) {
  const hpke::Suite suite = GetParam();
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("tamper with me"), suite);
  ASSERT_TRUE(request.has_value());
  for (std::size_t i = 0; i < request->message.size(); ++i) {
    Bytes tampered = request->message;
    tampered[i] ^= 0x01;
    auto opened = open_request(tampered, server_.private_key.reveal(), kKeyId);
    ASSERT_FALSE(opened.has_value()) << "byte " << i;
    if (i == 0) {
      EXPECT_EQ(opened.error().code, ErrorCode::hpke_unsupported_suite) << "the key id byte";
    } else if (i < kHeaderSize) {
      // A changed id names another (or no) suite; if that suite exists the info no longer matches.
      expect_error(opened.error().code, {ErrorCode::hpke_unsupported_suite, ErrorCode::hpke_open_failed},
                   "header byte " + std::to_string(i));
    } else {
      EXPECT_EQ(opened.error().code, ErrorCode::hpke_open_failed) << "byte " << i;
    }
  }
}

TEST_P(SealedMessage, TruncatedRequestsFail) {
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("truncate me"), GetParam());
  ASSERT_TRUE(request.has_value());
  for (std::size_t size :
       {std::size_t{0}, std::size_t{1}, kHeaderSize - 1, kHeaderSize, kHeaderSize + 31, kHeaderSize + hpke::kEncSize,
        kHeaderSize + hpke::kEncSize + hpke::kTagSize - 1, request->message.size() - 1}) {
    const Bytes truncated(request->message.begin(), request->message.begin() + static_cast<std::ptrdiff_t>(size));
    auto opened = open_request(truncated, server_.private_key.reveal(), kKeyId);
    ASSERT_FALSE(opened.has_value()) << size << " bytes";
    EXPECT_EQ(opened.error().code, ErrorCode::hpke_open_failed) << size << " bytes";
  }
  Bytes extended = request->message;
  extended.push_back(0x00);
  auto opened = open_request(extended, server_.private_key.reveal(), kKeyId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::hpke_open_failed);
}

TEST_P(SealedMessage, EveryTamperedResponseByteFails) {
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("question"), GetParam());
  ASSERT_TRUE(request.has_value());
  auto opened = open_request(request->message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(opened.has_value());
  auto response = opened->sealer.seal(to_bytes("answer"));
  ASSERT_TRUE(response.has_value());
  for (std::size_t i = 0; i < response->size(); ++i) {
    Bytes tampered = *response;
    tampered[i] ^= 0x80;
    auto answer = request->opener.open(tampered);
    ASSERT_FALSE(answer.has_value()) << "byte " << i;
    EXPECT_EQ(answer.error().code, ErrorCode::hpke_open_failed) << "byte " << i;
  }
  for (std::size_t size : {std::size_t{0}, response_nonce_size(GetParam()),
                           response_nonce_size(GetParam()) + hpke::kTagSize - 1, response->size() - 1}) {
    auto answer = request->opener.open(BytesView(*response).first(size));
    ASSERT_FALSE(answer.has_value()) << size << " bytes";
    EXPECT_EQ(answer.error().code, ErrorCode::hpke_open_failed) << size << " bytes";
  }
}

TEST_P(SealedMessage, ResponseOpensOnlyForItsOwnRequest) {
  const hpke::Suite suite = GetParam();
  auto first = seal_request(server_.public_key, kKeyId, to_bytes("first"), suite);
  auto second = seal_request(server_.public_key, kKeyId, to_bytes("first"), suite);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->message, second->message);
  auto first_opened = open_request(first->message, server_.private_key.reveal(), kKeyId);
  auto second_opened = open_request(second->message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(first_opened && second_opened);
  auto first_response = first_opened->sealer.seal(to_bytes("for the first"));
  auto second_response = second_opened->sealer.seal(to_bytes("for the second"));
  ASSERT_TRUE(first_response && second_response);

  EXPECT_EQ(second->opener.open(*first_response).error().code, ErrorCode::hpke_open_failed);
  EXPECT_EQ(first->opener.open(*second_response).error().code, ErrorCode::hpke_open_failed);
  EXPECT_EQ(to_string(first->opener.open(*first_response).value()), "for the first");
  EXPECT_EQ(to_string(second->opener.open(*second_response).value()), "for the second");
}

TEST_P(SealedMessage, EachResponseUsesAFreshNonce) {
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("q"), GetParam());
  ASSERT_TRUE(request.has_value());
  auto opened = open_request(request->message, server_.private_key.reveal(), kKeyId);
  ASSERT_TRUE(opened.has_value());
  auto a = opened->sealer.seal(to_bytes("same answer"));
  auto b = opened->sealer.seal(to_bytes("same answer"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(to_string(request->opener.open(*a).value()), "same answer");
  EXPECT_EQ(to_string(request->opener.open(*b).value()), "same answer");
}

TEST_P(SealedMessage, KeyIdMismatchIsUnsupported) {
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("x"), GetParam());
  ASSERT_TRUE(request.has_value());
  auto opened = open_request(request->message, server_.private_key.reveal(), kKeyId + 1);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::hpke_unsupported_suite);
}

TEST_P(SealedMessage, WrongServerKeyFails) {
  auto request = seal_request(server_.public_key, kKeyId, to_bytes("x"), GetParam());
  ASSERT_TRUE(request.has_value());
  const hpke::KeyPair other = hpke::generate_key_pair();
  auto opened = open_request(request->message, other.private_key.reveal(), kKeyId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::hpke_open_failed);
}

INSTANTIATE_TEST_SUITE_P(SealedAeads, SealedMessage, testing::Values(kAes128, hpke::kDefaultSuite, kChaCha),
                         suite_name);

TEST(SealedRequest, DefaultSuiteIsAes256Gcm) {
  const hpke::KeyPair server = hpke::generate_key_pair();
  auto request = seal_request(server.public_key, 1, to_bytes("x"));
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(hex_encode(BytesView(request->message).first(kHeaderSize)), "01002000010002");
}

TEST(SealedRequest, UnsupportedSuitesAreRefused) {
  const hpke::KeyPair server = hpke::generate_key_pair();
  auto export_only = seal_request(server.public_key, kKeyId, to_bytes("x"), kExportOnly);
  ASSERT_FALSE(export_only.has_value());
  EXPECT_EQ(export_only.error().code, ErrorCode::hpke_unsupported_suite);
  auto unknown = seal_request(server.public_key, kKeyId, to_bytes("x"),
                              {hpke::Kem::x25519_hkdf_sha256, hpke::Kdf::hkdf_sha256, static_cast<hpke::Aead>(9)});
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, ErrorCode::hpke_unsupported_suite);

  // A request whose header names export-only (or an unknown KEM) is refused before any crypto.
  auto request = seal_request(server.public_key, kKeyId, to_bytes("x"));
  ASSERT_TRUE(request.has_value());
  Bytes as_export_only = request->message;
  as_export_only[5] = 0xFF;
  as_export_only[6] = 0xFF;
  EXPECT_EQ(open_request(as_export_only, server.private_key.reveal(), kKeyId).error().code,
            ErrorCode::hpke_unsupported_suite);
  Bytes as_p256 = request->message;
  as_p256[2] = 0x10;
  EXPECT_EQ(open_request(as_p256, server.private_key.reveal(), kKeyId).error().code, ErrorCode::hpke_unsupported_suite);
}

TEST(SealedRequest, MalformedRecipientKeysAreBadKey) {
  auto short_key = seal_request(Bytes(31, 7), kKeyId, to_bytes("x"));
  ASSERT_FALSE(short_key.has_value());
  EXPECT_EQ(short_key.error().code, ErrorCode::bad_key);
  auto small_order = seal_request(Bytes(32, 0), kKeyId, to_bytes("x"));
  ASSERT_FALSE(small_order.has_value());
  EXPECT_EQ(small_order.error().code, ErrorCode::bad_key);
}

TEST(SealedRequest, SmallOrderEncIsOpenFailed) {
  const hpke::KeyPair server = hpke::generate_key_pair();
  auto request = seal_request(server.public_key, kKeyId, to_bytes("x"));
  ASSERT_TRUE(request.has_value());
  Bytes zero_enc = request->message;
  std::fill(zero_enc.begin() + kHeaderSize, zero_enc.begin() + kHeaderSize + hpke::kEncSize, 0);
  auto opened = open_request(zero_enc, server.private_key.reveal(), kKeyId);
  ASSERT_FALSE(opened.has_value());
  EXPECT_EQ(opened.error().code, ErrorCode::hpke_open_failed);
}

}  // namespace
}  // namespace cloister::crypto::sealed
