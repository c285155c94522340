#include "sealed_model.h"

#include "cloister/crypto/hash.h"
#include "cloister/crypto/hpke.h"
#include "cloister/crypto/random.h"

#include <gtest/gtest.h>

namespace cloister::infer {
namespace {

struct Fixture {
  crypto::hpke::KeyPair key = crypto::hpke::generate_key_pair();
  crypto::Bytes onnx = crypto::random_bytes(4096);
  std::string manifest = R"({"name":"m","version":"1"})";
  crypto::Bytes sealed() const {
    return seal_model(onnx, manifest, "m", "1", "models", 3, key.public_key).value();
  }
};

TEST(SealedModel, OpensOnlyWithThePrivateKeyAndTheSameManifest) {
  Fixture f;
  auto sealed = f.sealed();
  auto header = read_sealed_header(sealed);
  ASSERT_TRUE(header) << header.error().to_string();
  EXPECT_EQ(header->key_name, "models");
  EXPECT_EQ(header->key_version, 3u);
  EXPECT_EQ(header->model, "m");
  EXPECT_EQ(header->model_sha256, crypto::hex_encode(crypto::sha256(f.onnx)));
  EXPECT_EQ(header->manifest_sha256, crypto::hex_encode(crypto::sha256(crypto::as_bytes(f.manifest))));
  // The plaintext is nowhere in the file.
  const std::string text = crypto::to_string(sealed);
  EXPECT_EQ(text.find(crypto::to_string(crypto::BytesView(f.onnx).first(64))), std::string::npos);

  auto opened = open_model(sealed, f.manifest, f.key.private_key.reveal());
  ASSERT_TRUE(opened) << opened.error().to_string();
  EXPECT_EQ(opened->reveal(), f.onnx);

  auto other = crypto::hpke::generate_key_pair();
  EXPECT_EQ(open_model(sealed, f.manifest, other.private_key.reveal()).error().code, ErrorCode::model_integrity_failed);
  auto relabelled = open_model(sealed, R"({"name":"m","version":"1","labels":["x"]})", f.key.private_key.reveal());
  ASSERT_FALSE(relabelled);
  EXPECT_EQ(relabelled.error().code, ErrorCode::model_integrity_failed);
  EXPECT_NE(relabelled.error().detail.find("manifest"), std::string::npos);
}

TEST(SealedModel, EveryByteIsAuthenticated) {
  Fixture f;
  auto sealed = f.sealed();
  // Flip a byte in the magic, the length, the header and the ciphertext: never opens, never crashes.
  const std::size_t stride = sealed.size() / 97 + 1;
  for (std::size_t i = 0; i < sealed.size(); i += stride) {
    auto tampered = sealed;
    tampered[i] ^= 0x01;
    auto opened = open_model(tampered, f.manifest, f.key.private_key.reveal());
    ASSERT_FALSE(opened) << "byte " << i;
    EXPECT_EQ(opened.error().code, ErrorCode::model_integrity_failed);
  }
  for (std::size_t length : {std::size_t{0}, std::size_t{8}, std::size_t{12}, sealed.size() / 2, sealed.size() - 1}) {
    auto truncated = crypto::Bytes(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_EQ(open_model(truncated, f.manifest, f.key.private_key.reveal()).error().code, ErrorCode::model_integrity_failed);
  }
}

TEST(SealedModel, EachSealingUsesAFreshKey) {
  Fixture f;
  EXPECT_NE(f.sealed(), f.sealed());
}

}  // namespace
}  // namespace cloister::infer
