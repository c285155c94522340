// AMD certificates: the compiled-in ARK pins and the VCEK/VLEK extensions, on AMD's real certificates.

#include <gtest/gtest.h>

#include "cloister/crypto/hash.h"
#include "cloister/crypto/rsa.h"
#include "formats/snp/snp_certs.h"
#include "snp_test_platform.h"

namespace cloister::attestation::snp {
namespace {

using test::read_vector;
using test::read_vector_text;

std::optional<crypto::Certificate> vector_certificate(const std::string& relative) {
  auto bytes = read_vector(relative);
  if (!bytes) return std::nullopt;
  auto certificate = crypto::Certificate::from_der(*bytes);
  EXPECT_TRUE(certificate) << relative << ": " << certificate.error().to_string();
  if (!certificate) return std::nullopt;
  return *certificate;
}

TEST(AmdRoots, TheThreeArksArePinnedByFingerprint) {
  const auto& arks = default_arks();
  ASSERT_EQ(arks.size(), 3u);
  const char* fingerprints[] = {"69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd",
                                "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1",
                                "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"};
  const char* names[] = {"ARK-Milan", "ARK-Genoa", "ARK-Turin"};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(crypto::hex_encode(crypto::sha256(arks[i].der())), fingerprints[i]);
    EXPECT_EQ(common_name(arks[i].subject()), names[i]);
    EXPECT_EQ(arks[i].subject(), arks[i].issuer());
    EXPECT_EQ(arks[i].public_key().bits(), 4096);
    // Self-signed with RSASSA-PSS / SHA-384.
    EXPECT_TRUE(arks[i].verify_signature(arks[i].public_key())) << names[i];
  }
}

TEST(AmdRoots, MatchTheArksOfTheSharedVectors) {
  const char* files[] = {"virtee-sev/milan_ark.pem", "virtee-sev/genoa_ark.pem", "virtee-sev/turin_ark.pem"};
  for (std::size_t i = 0; i < 3; ++i) {
    auto pem = read_vector_text(files[i]);
    if (!pem) GTEST_SKIP() << "../shared/vectors not present";
    auto certificate = crypto::Certificate::from_pem(*pem);
    ASSERT_TRUE(certificate);
    EXPECT_EQ(*certificate, default_arks()[i]) << files[i];
  }
}

TEST(AmdCertificates, MilanVcek) {
  auto vcek = vector_certificate("virtee-sev/vcek_milan.der");
  if (!vcek) GTEST_SKIP() << "../shared/vectors not present";
  auto endorsed = read_signing_key_certificate(*vcek);
  ASSERT_TRUE(endorsed) << endorsed.error().to_string();
  EXPECT_EQ(endorsed->kind, SigningKey::vcek);
  EXPECT_EQ(endorsed->generation, Generation::milan);
  EXPECT_EQ(endorsed->product_name, "Milan-B0");
  EXPECT_EQ(endorsed->tcb, (TcbVersion{3, 0, 8, 115, std::nullopt}));
  ASSERT_TRUE(endorsed->hw_id);
  EXPECT_EQ(endorsed->hw_id->size(), 64u);
  auto report = test::read_report_milan();
  ASSERT_TRUE(report);
  EXPECT_EQ(*endorsed->hw_id, crypto::Bytes(report->begin() + kChipIdOffset, report->begin() + kChipIdOffset + 64));
}

TEST(AmdCertificates, GoSevGuestVcek) {
  auto vcek = vector_certificate("google-go-sev-guest/vcek.testcer");
  if (!vcek) GTEST_SKIP() << "../shared/vectors not present";
  auto endorsed = read_signing_key_certificate(*vcek);
  ASSERT_TRUE(endorsed) << endorsed.error().to_string();
  EXPECT_EQ(endorsed->tcb, (TcbVersion{2, 0, 5, 68, std::nullopt}));
  EXPECT_TRUE(crypto::hex_encode(*endorsed->hw_id).starts_with("3ac3fe21"));
}

TEST(AmdCertificates, MilanVlekHasNoHwId) {
  auto vlek = vector_certificate("coco-trustee/snp/test-vlek.der");
  if (!vlek) GTEST_SKIP() << "../shared/vectors not present";
  auto endorsed = read_signing_key_certificate(*vlek);
  ASSERT_TRUE(endorsed) << endorsed.error().to_string();
  EXPECT_EQ(endorsed->kind, SigningKey::vlek);
  EXPECT_EQ(endorsed->generation, Generation::milan);
  EXPECT_EQ(endorsed->product_name, "Milan");
  EXPECT_EQ(endorsed->tcb, (TcbVersion{4, 0, 24, 217, std::nullopt}));
  EXPECT_FALSE(endorsed->hw_id);
}

TEST(AmdCertificates, TurinVcekHasFmcAndAnEightByteHwId) {
  auto vcek = vector_certificate("virtee-sev/vcek_turin.der");
  if (!vcek) GTEST_SKIP() << "../shared/vectors not present";
  auto endorsed = read_signing_key_certificate(*vcek);
  ASSERT_TRUE(endorsed) << endorsed.error().to_string();
  EXPECT_EQ(endorsed->generation, Generation::turin);
  EXPECT_EQ(endorsed->product_name, "Turin");
  EXPECT_TRUE(endorsed->tcb.fmc.has_value());
  ASSERT_TRUE(endorsed->hw_id);
  EXPECT_EQ(crypto::hex_encode(*endorsed->hw_id), "1e550a8ee5cf9f4d");
}

// N6: synthetic VCEK-shaped certificates carrying the hwID raw and DER-wrapped.
TEST(AmdCertificates, HwIdInBothEncodings) {
  auto legacy = vector_certificate("coco-trustee/snp/test-vcek-invalid-legacy.der");
  auto wrapped = vector_certificate("coco-trustee/snp/test-vcek-invalid-new.der");
  if (!legacy || !wrapped) GTEST_SKIP() << "../shared/vectors not present";
  crypto::Bytes expected(64);
  for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<std::uint8_t>(i);
  for (const auto* certificate : {&*legacy, &*wrapped}) {
    auto endorsed = read_signing_key_certificate(*certificate);
    ASSERT_TRUE(endorsed) << endorsed.error().to_string();
    ASSERT_TRUE(endorsed->hw_id);
    EXPECT_EQ(*endorsed->hw_id, expected);
  }
  EXPECT_EQ(legacy->extension_der(kOidHwId)->size(), 64u);
  EXPECT_EQ(wrapped->extension_der(kOidHwId)->size(), 66u);
}

TEST(AmdCertificates, AskAndArkAreNotSigningKeys) {
  EXPECT_EQ(read_signing_key_certificate(default_arks()[0]).error().code, ErrorCode::cert_parse_failed);
  const auto& platform = test::SnpTestPlatform::shared();
  EXPECT_EQ(read_signing_key_certificate(platform.ask).error().code, ErrorCode::cert_parse_failed);
  EXPECT_TRUE(read_signing_key_certificate(platform.leaf));
}

TEST(AmdCertificates, ShapeChecks) {
  const auto& platform = test::SnpTestPlatform::shared();
  auto ia5 = [](const std::string& text) {
    crypto::Bytes out(text.size() + 2);
    out[0] = 0x16;
    out[1] = static_cast<std::uint8_t>(text.size());
    std::copy(text.begin(), text.end(), out.begin() + 2);
    return out;
  };
  // A VCEK-shaped certificate under the platform's ASK (issuer SEV-Milan) with these extensions.
  auto leaf = [&](const std::string& product, bool with_hw_id, bool with_snp_spl,
                  const crypto::PrivateKey& key = crypto::PrivateKey::generate(crypto::KeyType::ec_p384)) {
    test::AmdCertificateSpec spec{.common_name = "SEV-VCEK"};
    spec.extensions = {{std::string(kOidProductName), ia5(product)},
                       {std::string(kOidBootloaderSpl), test::der_integer(3)},
                       {std::string(kOidTeeSpl), test::der_integer(0)},
                       {std::string(kOidMicrocodeSpl), test::der_integer(200)}};
    if (with_snp_spl) spec.extensions.push_back({std::string(kOidSnpSpl), test::der_integer(8)});
    if (with_hw_id) spec.extensions.push_back({std::string(kOidHwId), crypto::Bytes(64, 1)});
    return test::make_amd_certificate(key.public_key(), spec, platform.ask_key, &platform.ask);
  };
  auto good = read_signing_key_certificate(leaf("Milan-B1", true, true));
  ASSERT_TRUE(good) << good.error().to_string();
  EXPECT_EQ(good->tcb, (TcbVersion{3, 0, 8, 200, std::nullopt}));
  EXPECT_TRUE(read_signing_key_certificate(leaf("Bergamo", true, true)));  // unknown names are recorded
  EXPECT_EQ(read_signing_key_certificate(leaf("Genoa", true, true)).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(read_signing_key_certificate(leaf("Milan", false, true)).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(read_signing_key_certificate(leaf("Milan", true, false)).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(read_signing_key_certificate(leaf("Milan", true, true, crypto::PrivateKey::generate(crypto::KeyType::ec_p256)))
                .error()
                .code,
            ErrorCode::cert_parse_failed);
}

TEST(AmdExtensions, SplValues) {
  EXPECT_EQ(decode_spl(crypto::Bytes{0x02, 0x01, 0x00}).value(), 0);
  EXPECT_EQ(decode_spl(crypto::Bytes{0x02, 0x01, 0x73}).value(), 115);
  EXPECT_EQ(decode_spl(crypto::Bytes{0x02, 0x02, 0x00, 0xd9}).value(), 217);
  const crypto::Bytes bad[] = {{},
                               {0x02},
                               {0x02, 0x00},
                               {0x02, 0x01},
                               {0x02, 0x01, 0x80},              // negative
                               {0x02, 0x02, 0x00, 0x7f},        // not minimal
                               {0x02, 0x02, 0x01, 0x00},        // 256
                               {0x02, 0x03, 0x00, 0x00, 0xff},  // too long
                               {0x04, 0x01, 0x05},              // not an INTEGER
                               {0x02, 0x01, 0x05, 0x00}};       // trailing byte
  for (const auto& value : bad) {
    EXPECT_EQ(decode_spl(value).error().code, ErrorCode::cert_parse_failed) << crypto::hex_encode(value);
  }
}

TEST(AmdExtensions, ProductNameAndHwId) {
  EXPECT_EQ(decode_product_name(crypto::Bytes{0x16, 0x05, 'G', 'e', 'n', 'o', 'a'}).value(), "Genoa");
  EXPECT_FALSE(decode_product_name(crypto::Bytes{0x0c, 0x05, 'G', 'e', 'n', 'o', 'a'}));  // UTF8String
  EXPECT_FALSE(decode_product_name(crypto::Bytes{0x16, 0x01, 0x07}));
  EXPECT_FALSE(decode_product_name(crypto::Bytes{0x16, 0x06, 'G', 'e', 'n', 'o', 'a'}));
  EXPECT_EQ(decode_hw_id(crypto::Bytes(8, 1)).value().size(), 8u);
  crypto::Bytes wrapped{0x04, 0x08};
  wrapped.resize(10, 2);
  EXPECT_EQ(decode_hw_id(wrapped).value(), crypto::Bytes(8, 2));
  for (std::size_t size : {0u, 7u, 9u, 32u, 63u, 65u, 67u}) {
    EXPECT_FALSE(decode_hw_id(crypto::Bytes(size, 1))) << size;
  }
}

TEST(AmdExtensions, CommonName) {
  EXPECT_EQ(common_name("CN=SEV-VCEK,O=Advanced Micro Devices,ST=CA,L=Santa Clara,C=US,OU=Engineering"), "SEV-VCEK");
  EXPECT_EQ(common_name("OU=Engineering,CN=ARK-Milan"), "ARK-Milan");
  EXPECT_EQ(common_name("O=A\\, B,CN=x\\,y"), "x,y");
  EXPECT_EQ(common_name("O=CN=no"), "");
  EXPECT_EQ(common_name(""), "");
  EXPECT_EQ(common_name("CN="), "");
}

TEST(AmdExtensions, SyntheticPlatformShapes) {
  // The test platform's certificates read like AMD's, in every product and both key kinds.
  for (auto generation : {Generation::milan, Generation::genoa, Generation::turin}) {
    for (auto kind : {SigningKey::vcek, SigningKey::vlek}) {
      test::SnpTestPlatform platform({.generation = generation, .kind = kind});
      auto endorsed = read_signing_key_certificate(platform.leaf);
      ASSERT_TRUE(endorsed) << endorsed.error().to_string();
      EXPECT_EQ(endorsed->generation, generation);
      EXPECT_EQ(endorsed->kind, kind);
      EXPECT_EQ(endorsed->hw_id.has_value(), kind == SigningKey::vcek);
      EXPECT_EQ(endorsed->tcb.fmc.has_value(), generation == Generation::turin);
    }
  }
}

}  // namespace
}  // namespace cloister::attestation::snp
