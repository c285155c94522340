// HPKE (RFC 9180): the RFC's base-mode test vectors for every suite we implement, plus the
// failure paths (tampering, wrong keys, reordering, malformed encapsulations, limits).

#include "cloister/crypto/hpke.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/crypto/aead.h"
#include "cloister/crypto/hash.h"
#include "cloister/crypto/x25519.h"

namespace cloister::crypto::hpke {
namespace {

Bytes hex(std::string_view text) {
  auto bytes = hex_decode(text);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in a test vector: " << text;
  return bytes.value_or(Bytes{});
}

std::string hex_of(const Result<Bytes>& bytes) { return bytes ? hex_encode(*bytes) : bytes.error().to_string(); }

// ---------------------------------------------------------------------------------------------
// Test vectors. Hex typed in from RFC 9180 Appendix A (the auth48 text of draft-irtf-cfrg-hpke,
// identical to the RFC, where these appear as Appendix B); multi-line values are joined.
// Every vector uses pt = "Beauty is truth, truth beauty", aad = "Count-<sequence number>" and
// info = "Ode on a Grecian Urn".
// ---------------------------------------------------------------------------------------------

struct Encryption {
  std::uint64_t sequence_number;
  std::string_view nonce;
  std::string_view ciphertext;
};

struct Export {
  std::string_view exporter_context;
  std::size_t length;
  std::string_view exported_value;
};

struct Vector {
  std::string_view name;
  Suite suite;
  std::string_view info;
  std::string_view ikm_e;
  std::string_view pk_em;
  std::string_view sk_em;
  std::string_view ikm_r;  // empty where the source does not list it
  std::string_view pk_rm;
  std::string_view sk_rm;
  std::string_view enc;
  std::string_view shared_secret;
  std::string_view key_schedule_context;
  std::string_view secret;
  std::string_view key;
  std::string_view base_nonce;
  std::string_view exporter_secret;  // empty where the source does not list it
  std::vector<Encryption> encryptions;
  std::vector<Export> exports;
};

constexpr std::string_view kPlaintext = "4265617574792069732074727574682c20747275746820626561757479";
constexpr std::string_view kInfo = "4f6465206f6e2061204772656369616e2055726e";

std::vector<Vector> rfc9180_vectors() {
  std::vector<Vector> vectors;

  // RFC 9180 §A.1.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, Base Setup Information.
  vectors.push_back(Vector{
      .name = "A_1_1_X25519_Sha256_Aes128Gcm",
      .suite = {Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::aes_128_gcm},
      .info = kInfo,
      .ikm_e = "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
      .pk_em = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
      .sk_em = "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
      .ikm_r = "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
      .pk_rm = "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
      .sk_rm = "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
      .enc = "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
      .shared_secret = "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
      .key_schedule_context = "00725611c9d98c07c03f60095cd32d400d8347d45ed67097bbad50fc56da742d07cb6cffde367bb0565ba28b"
                              "b02c90744a20f5ef37f30523526106f637abb05449",
      .secret = "12fff91991e93b48de37e7daddb52981084bd8aa64289c3788471d9a9712f397",
      .key = "4531685d41d65f03dc48f6b8302c05b0",
      .base_nonce = "56d890e5accaaf011cff4b7d",
      .exporter_secret = "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
      // §A.1.1.1 Encryptions.
      .encryptions =
          {
              {0, "56d890e5accaaf011cff4b7d",
               "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"},
              {1, "56d890e5accaaf011cff4b7c",
               "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84"},
              {2, "56d890e5accaaf011cff4b7f",
               "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180"},
              {4, "56d890e5accaaf011cff4b79",
               "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d"},
              {255, "56d890e5accaaf011cff4b82",
               "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a"},
              {256, "56d890e5accaaf011cff4a7d",
               "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2"},
          },
      // §A.1.1.2 Exported Values.
      .exports =
          {
              {"", 32, "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"},
              {"00", 32, "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"},
              {"54657374436f6e74657874", 32, "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"},
          },
  });

  // RFC 9180 §A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, Base Setup Information.
  vectors.push_back(Vector{
      .name = "A_2_1_X25519_Sha256_ChaCha20Poly1305",
      .suite = {Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::chacha20_poly1305},
      .info = kInfo,
      .ikm_e = "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
      .pk_em = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
      .sk_em = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
      .ikm_r = "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
      .pk_rm = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
      .sk_rm = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
      .enc = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
      .shared_secret = "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7",
      .key_schedule_context = "00431df6cd95e11ff49d7013563baf7f11588c75a6611ee2a4404a49306ae4cfc5b69c5718a60cc5876c358d"
                              "3f7fc31ddb598503f67be58ea1e798c0bb19eb9796",
      .secret = "5b9cd775e64b437a2335cf499361b2e0d5e444d5cb41a8a53336d8fe402282c6",
      .key = "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
      .base_nonce = "5c4d98150661b848853b547f",
      .exporter_secret = "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
      // §A.2.1.1 Encryptions.
      .encryptions =
          {
              {0, "5c4d98150661b848853b547f",
               "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"},
              {1, "5c4d98150661b848853b547e",
               "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c"},
              {2, "5c4d98150661b848853b547d",
               "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b"},
              {4, "5c4d98150661b848853b547b",
               "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16"},
              {255, "5c4d98150661b848853b5480",
               "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c"},
              {256, "5c4d98150661b848853b557f",
               "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b"},
          },
      // §A.2.1.2 Exported Values.
      .exports =
          {
              {"", 32, "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"},
              {"00", 32, "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"},
              {"54657374436f6e74657874", 32, "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"},
          },
  });

  // RFC 9180 §A.7.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, Export-Only AEAD, Base Setup Information.
  vectors.push_back(Vector{
      .name = "A_7_1_X25519_Sha256_ExportOnly",
      .suite = {Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::export_only},
      .info = kInfo,
      .ikm_e = "55bc245ee4efda25d38f2d54d5bb6665291b99f8108a8c4b686c2b14893ea5d9",
      .pk_em = "e5e8f9bfff6c2f29791fc351d2c25ce1299aa5eaca78a757c0b4fb4bcd830918",
      .sk_em = "095182b502f1f91f63ba584c7c3ec473d617b8b4c2cec3fad5af7fa6748165ed",
      .ikm_r = "683ae0da1d22181e74ed2e503ebf82840deb1d5e872cade20f4b458d99783e31",
      .pk_rm = "194141ca6c3c3beb4792cd97ba0ea1faff09d98435012345766ee33aae2d7664",
      .sk_rm = "33d196c830a12f9ac65d6e565a590d80f04ee9b19c83c87f2c170d972a812848",
      .enc = "e5e8f9bfff6c2f29791fc351d2c25ce1299aa5eaca78a757c0b4fb4bcd830918",
      .shared_secret = "e81716ce8f73141d4f25ee9098efc968c91e5b8ce52ffff59d64039e82918b66",
      .key_schedule_context = "009bd09219212a8cf27c6bb5d54998c5240793a70ca0a892234bd5e082bc619b6a3f4c22aa6d9a0424c2b429"
                              "2fdf43b8257df93c2f6adbf6ddc9c64fee26bdd292",
      .secret = "04d64e0620aa047e9ab833b0ebcd4ff026cefbe44338fd7d1a93548102ee01af",
      .key = "",
      .base_nonce = "",
      .exporter_secret = "79dc8e0509cf4a3364ca027e5a0138235281611ca910e435e8ed58167c72f79b",
      .encryptions = {},
      // §A.7.1.1 Exported Values.
      .exports =
          {
              {"", 32, "7a36221bd56d50fb51ee65edfd98d06a23c4dc87085aa5866cb7087244bd2a36"},
              {"00", 32, "d5535b87099c6c3ce80dc112a2671c6ec8e811a2f284f948cec6dd1708ee33f0"},
              {"54657374436f6e74657874", 32, "ffaabc85a776136ca0c378e5d084c9140ab552b78f039d2e8775f26efff4c70e"},
          },
  });

  // DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM (Cloister's default suite), base mode. The
  // RFC's appendix has no entry for it; this is the entry (mode 0, kem_id 32, kdf_id 1, aead_id 2) of
  // the CFRG JSON the RFC cites as [TestVectors], github.com/cfrg/draft-irtf-cfrg-hpke
  // test-vectors.json at commit 5f503c564da00b0687b3de75f1dfbdfc4079ad31, as several independent
  // public test suites transcribe it: ikmR and exporter_secret were not among the values available,
  // and only the first encryption. The checks below show the values are consistent (ikmE derives
  // skEm/pkEm, skRm gives pkRm, the key schedule reproduces key/base_nonce, the ciphertext opens),
  // and tests/node/hpke_interop.mjs opens the same ciphertext and reproduces the same exports with
  // npm @hpke/core.
  vectors.push_back(Vector{
      .name = "Cfrg_X25519_Sha256_Aes256Gcm",
      .suite = kDefaultSuite,
      .info = kInfo,
      .ikm_e = "2cd7c601cefb3d42a62b04b7a9041494c06c7843818e0ce28a8f704ae7ab20f9",
      .pk_em = "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
      .sk_em = "179d4b53b6365c45b600c4163b61d95cbc2f4d9e36f1695558dce265ab8bab11",
      .ikm_r = "",
      .pk_rm = "430f4b9859665145a6b1ba274024487bd66f03a2dd577d7753c68d7d7d00c00c",
      .sk_rm = "497b4502664cfea5d5af0b39934dac72242a74f8480451e1aee7d6a53320333d",
      .enc = "6c93e09869df3402d7bf231bf540fadd35cd56be14f97178f0954db94b7fc256",
      .shared_secret = "3101c54c3a4f87439eaac080699ed9bbcc726ffe44e860c0424ccb7e3e2ead7b",
      .key_schedule_context = "004ce5472ecdd5093ba0aecb8f871ff13f1fbc90ee76f0e18ace1a1b7e565bafa306f6ef962c9ee7cea40407"
                              "b5d60f0f26990472faae3ac44c78366f1cac1ecde1",
      .secret = "2058ac9b02c1f52c1aaf08bedbec9198219751a94ef67b7d5f0c8b6e2b54ebfb",
      .key = "f50b0609186798729ed0564b36ef2ef8044f1f9d05636874d1f46c819c7a669f",
      .base_nonce = "151d9929e2449747889bc923",
      .exporter_secret = "",
      .encryptions =
          {
              {0, "151d9929e2449747889bc923",
               "e5d84cd531cfb583096e7cfa9641bd3079cf3a91cda813c52deb5f512be9931980a41de125a925cdad859d5b7a"},
          },
      .exports =
          {
              {"", 32, "ded6cffafaea6b812cbf3e241e88332adbc077aca81512914213810ee291770a"},
              {"00", 32, "04d3cb6cc116b28ffd22ad5bc276c60d31fec71ceb87ae24db811c64b7507339"},
              {"54657374436f6e74657874", 32, "7c5ded445732c14fe09727d29b4251c0fd38455fe8440571e687f0886aac94d2"},
          },
  });
  return vectors;
}

Bytes count_aad(std::uint64_t sequence_number) { return to_bytes("Count-" + std::to_string(sequence_number)); }

KeyPair key_pair_from_private(std::string_view private_key_hex) {
  auto pair = x25519_from_private(hex(private_key_hex));
  EXPECT_TRUE(pair.has_value());
  return pair ? std::move(*pair) : KeyPair{};
}

class HpkeVector : public testing::TestWithParam<Vector> {};

TEST_P(HpkeVector, DeriveKeyPairGivesTheListedKeys) {
  const Vector& v = GetParam();
  const KeyPair ephemeral = derive_key_pair(hex(v.ikm_e));
  EXPECT_EQ(hex_encode(ephemeral.private_key.reveal()), v.sk_em);
  EXPECT_EQ(hex_encode(ephemeral.public_key), v.pk_em);
  if (!v.ikm_r.empty()) {
    const KeyPair recipient = derive_key_pair(hex(v.ikm_r));
    EXPECT_EQ(hex_encode(recipient.private_key.reveal()), v.sk_rm);
    EXPECT_EQ(hex_encode(recipient.public_key), v.pk_rm);
  }
  EXPECT_EQ(hex_encode(key_pair_from_private(v.sk_rm).public_key), v.pk_rm);
}

TEST_P(HpkeVector, EncapAndDecapGiveTheSharedSecret) {
  const Vector& v = GetParam();
  auto encapsulation = encap(hex(v.pk_rm), key_pair_from_private(v.sk_em));
  ASSERT_TRUE(encapsulation.has_value()) << encapsulation.error().to_string();
  EXPECT_EQ(hex_encode(encapsulation->enc), v.enc);
  EXPECT_EQ(hex_encode(encapsulation->shared_secret.reveal()), v.shared_secret);

  auto decapsulated = decap(hex(v.enc), hex(v.sk_rm));
  ASSERT_TRUE(decapsulated.has_value()) << decapsulated.error().to_string();
  EXPECT_EQ(hex_encode(decapsulated->reveal()), v.shared_secret);
}

TEST_P(HpkeVector, KeyScheduleGivesTheListedSecrets) {
  const Vector& v = GetParam();
  auto schedule = key_schedule_base(v.suite, hex(v.shared_secret), hex(v.info));
  ASSERT_TRUE(schedule.has_value()) << schedule.error().to_string();
  EXPECT_EQ(hex_encode(schedule->key_schedule_context), v.key_schedule_context);
  EXPECT_EQ(hex_encode(schedule->secret.reveal()), v.secret);
  EXPECT_EQ(hex_encode(schedule->key.reveal()), v.key);
  EXPECT_EQ(hex_encode(schedule->base_nonce.reveal()), v.base_nonce);
  if (!v.exporter_secret.empty()) {
    EXPECT_EQ(hex_encode(schedule->exporter_secret.reveal()), v.exporter_secret);
  }
}

TEST_P(HpkeVector, ListedNoncesAreBaseNonceXorSequenceNumber) {
  // The RFC lists each encryption's nonce: sealing with that nonce directly must give the same
  // ciphertext as the context does (the context test below), which pins ComputeNonce down.
  const Vector& v = GetParam();
  if (v.encryptions.empty()) GTEST_SKIP() << "export-only: no encryptions";
  const auto algorithm = v.suite.aead == Aead::aes_128_gcm         ? AeadAlgorithm::aes_128_gcm
                         : v.suite.aead == Aead::chacha20_poly1305 ? AeadAlgorithm::chacha20_poly1305
                                                                   : AeadAlgorithm::aes_256_gcm;
  for (const Encryption& encryption : v.encryptions) {
    auto ciphertext =
        aead_seal(algorithm, hex(v.key), hex(encryption.nonce), count_aad(encryption.sequence_number), hex(kPlaintext));
    EXPECT_EQ(hex_of(ciphertext), encryption.ciphertext) << "sequence number " << encryption.sequence_number;
  }
}

TEST_P(HpkeVector, SenderContextReproducesEveryEncryptionAndExport) {
  const Vector& v = GetParam();
  auto setup = setup_base_sender(v.suite, hex(v.pk_rm), hex(v.info), key_pair_from_private(v.sk_em));
  ASSERT_TRUE(setup.has_value()) << setup.error().to_string();
  EXPECT_EQ(hex_encode(setup->enc), v.enc);

  for (const Export& expected : v.exports) {
    EXPECT_EQ(hex_of(setup->context.export_secret(hex(expected.exporter_context), expected.length)),
              expected.exported_value);
  }

  if (v.encryptions.empty()) {
    auto refused = setup->context.seal({}, hex(kPlaintext));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::hpke_unsupported_suite);
    return;
  }
  std::uint64_t next = 0;
  for (const Encryption& encryption : v.encryptions) {
    // Seal (and discard) the messages the RFC does not list, so the sequence number matches.
    for (; next < encryption.sequence_number; ++next) {
      ASSERT_TRUE(setup->context.seal(count_aad(next), hex(kPlaintext)).has_value());
    }
    ASSERT_EQ(setup->context.sequence_number(), encryption.sequence_number);
    EXPECT_EQ(hex_of(setup->context.seal(count_aad(next), hex(kPlaintext))), encryption.ciphertext)
        << "sequence number " << encryption.sequence_number;
    ++next;
  }
}

TEST_P(HpkeVector, RecipientContextOpensEveryEncryptionAndExports) {
  const Vector& v = GetParam();
  auto recipient = setup_base_recipient(v.suite, hex(v.enc), hex(v.sk_rm), hex(v.info));
  ASSERT_TRUE(recipient.has_value()) << recipient.error().to_string();

  for (const Export& expected : v.exports) {
    EXPECT_EQ(hex_of(recipient->export_secret(hex(expected.exporter_context), expected.length)),
              expected.exported_value);
  }

  if (v.encryptions.empty()) {
    auto refused = recipient->open({}, Bytes(32, 0));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::hpke_unsupported_suite);
    return;
  }
  // The unlisted messages in between come from a sender context on the same vector.
  auto sender = setup_base_sender(v.suite, hex(v.pk_rm), hex(v.info), key_pair_from_private(v.sk_em));
  ASSERT_TRUE(sender.has_value());
  std::uint64_t next = 0;
  for (const Encryption& encryption : v.encryptions) {
    for (; next < encryption.sequence_number; ++next) {
      auto filler = sender->context.seal(count_aad(next), hex(kPlaintext));
      ASSERT_TRUE(filler.has_value());
      ASSERT_EQ(hex_of(recipient->open(count_aad(next), *filler)), kPlaintext);
    }
    ASSERT_TRUE(sender->context.seal(count_aad(next), hex(kPlaintext)).has_value());
    EXPECT_EQ(hex_of(recipient->open(count_aad(next), hex(encryption.ciphertext))), kPlaintext)
        << "sequence number " << encryption.sequence_number;
    ++next;
  }
}

TEST_P(HpkeVector, SingleShotOpenReadsTheFirstEncryption) {
  const Vector& v = GetParam();
  if (v.encryptions.empty()) GTEST_SKIP() << "export-only: no encryptions";
  ASSERT_EQ(v.encryptions.front().sequence_number, 0u);
  auto plaintext =
      open(v.suite, hex(v.enc), hex(v.sk_rm), hex(v.info), count_aad(0), hex(v.encryptions.front().ciphertext));
  EXPECT_EQ(hex_of(plaintext), kPlaintext);
}

INSTANTIATE_TEST_SUITE_P(HpkeRfc9180, HpkeVector, testing::ValuesIn(rfc9180_vectors()),
                         [](const testing::TestParamInfo<Vector>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Round trips and failure paths with fresh keys.
// ---------------------------------------------------------------------------------------------

constexpr Suite kAes128{Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::aes_128_gcm};
constexpr Suite kChaCha{Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::chacha20_poly1305};
constexpr Suite kExportOnly{Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, Aead::export_only};

class HpkeSuiteRoundTrip : public testing::TestWithParam<Suite> {};

TEST_P(HpkeSuiteRoundTrip, ManyMessagesBothWays) {
  const Suite suite = GetParam();
  const KeyPair recipient_keys = generate_key_pair();
  const Bytes info = to_bytes("round trip info");
  auto sender = setup_base_sender(suite, recipient_keys.public_key, info);
  ASSERT_TRUE(sender.has_value()) << sender.error().to_string();
  EXPECT_EQ(sender->enc.size(), kEncSize);
  auto recipient = setup_base_recipient(suite, sender->enc, recipient_keys.private_key.reveal(), info);
  ASSERT_TRUE(recipient.has_value()) << recipient.error().to_string();

  for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 1000u, 70000u}) {
    const Bytes plaintext(size, static_cast<std::uint8_t>(size));
    const Bytes aad = to_bytes("aad " + std::to_string(size));
    auto ciphertext = sender->context.seal(aad, plaintext);
    ASSERT_TRUE(ciphertext.has_value());
    EXPECT_EQ(ciphertext->size(), size + kTagSize);
    auto opened = recipient->open(aad, *ciphertext);
    ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
    EXPECT_EQ(*opened, plaintext);
  }
  EXPECT_EQ(sender->context.sequence_number(), 7u);
  EXPECT_EQ(recipient->sequence_number(), 7u);
  EXPECT_EQ(hex_of(sender->context.export_secret(to_bytes("ctx"), 48)),
            hex_of(recipient->export_secret(to_bytes("ctx"), 48)));
}

TEST_P(HpkeSuiteRoundTrip, SingleShot) {
  const Suite suite = GetParam();
  const KeyPair recipient_keys = generate_key_pair();
  auto sealed = seal(suite, recipient_keys.public_key, to_bytes("info"), to_bytes("aad"), to_bytes("hello"));
  ASSERT_TRUE(sealed.has_value()) << sealed.error().to_string();
  auto opened = open(suite, sealed->enc, recipient_keys.private_key.reveal(), to_bytes("info"), to_bytes("aad"),
                     sealed->ciphertext);
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  EXPECT_EQ(to_string(*opened), "hello");
  // A second seal of the same message uses a fresh ephemeral key.
  auto again = seal(suite, recipient_keys.public_key, to_bytes("info"), to_bytes("aad"), to_bytes("hello"));
  ASSERT_TRUE(again.has_value());
  EXPECT_NE(again->enc, sealed->enc);
  EXPECT_NE(again->ciphertext, sealed->ciphertext);
}

INSTANTIATE_TEST_SUITE_P(HpkeAeads, HpkeSuiteRoundTrip, testing::Values(kAes128, kDefaultSuite, kChaCha),
                         [](const testing::TestParamInfo<Suite>& info) {
                           switch (info.param.aead) {
                             case Aead::aes_128_gcm:
                               return std::string("Aes128Gcm");
                             case Aead::aes_256_gcm:
                               return std::string("Aes256Gcm");
                             case Aead::chacha20_poly1305:
                               return std::string("ChaCha20Poly1305");
                             case Aead::export_only:
                               break;
                           }
                           return std::string("ExportOnly");
                         });

// One sealed message and what is needed to try opening variants of it.
struct Fixture {
  KeyPair recipient = generate_key_pair();
  Bytes info = to_bytes("negative tests");
  Bytes aad = to_bytes("associated");
  Bytes plaintext = to_bytes("the patient's report");
  Sealed sealed;

  Fixture() {
    auto result = seal(kDefaultSuite, recipient.public_key, info, aad, plaintext);
    EXPECT_TRUE(result.has_value());
    if (result) sealed = std::move(*result);
  }

  Result<Bytes> open_with(BytesView enc, BytesView private_key, BytesView info_used, BytesView aad_used,
                          BytesView ciphertext) const {
    return open(kDefaultSuite, enc, private_key, info_used, aad_used, ciphertext);
  }
  Result<Bytes> open_as_sealed() const {
    return open_with(sealed.enc, recipient.private_key.reveal(), info, aad, sealed.ciphertext);
  }
};

void expect_error(const Result<Bytes>& result, ErrorCode code) {
  ASSERT_FALSE(result.has_value()) << "opened: " << hex_encode(*result);
  EXPECT_EQ(result.error().code, code) << result.error().to_string();
}

TEST(HpkeNegative, UntouchedMessageOpens) {
  const Fixture f;
  auto opened = f.open_as_sealed();
  ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
  EXPECT_EQ(*opened, f.plaintext);
}

TEST(HpkeNegative, EveryTamperedCiphertextByteFails) {
  const Fixture f;
  for (std::size_t i = 0; i < f.sealed.ciphertext.size(); ++i) {
    Bytes tampered = f.sealed.ciphertext;
    tampered[i] ^= 0x01;
    expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), f.info, f.aad, tampered),
                 ErrorCode::hpke_open_failed);
  }
  Bytes truncated(f.sealed.ciphertext.begin(), f.sealed.ciphertext.end() - 1);
  expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), f.info, f.aad, truncated),
               ErrorCode::hpke_open_failed);
  expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), f.info, f.aad, {}),
               ErrorCode::hpke_open_failed);
}

TEST(HpkeNegative, TamperedAadFails) {
  const Fixture f;
  Bytes aad = f.aad;
  aad.back() ^= 0x80;
  expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), f.info, aad, f.sealed.ciphertext),
               ErrorCode::hpke_open_failed);
  expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), f.info, {}, f.sealed.ciphertext),
               ErrorCode::hpke_open_failed);
}

TEST(HpkeNegative, WrongInfoFails) {
  const Fixture f;
  expect_error(f.open_with(f.sealed.enc, f.recipient.private_key.reveal(), to_bytes("negative testz"), f.aad,
                           f.sealed.ciphertext),
               ErrorCode::hpke_open_failed);
}

TEST(HpkeNegative, TamperedEncFails) {
  const Fixture f;
  for (std::size_t i = 0; i < f.sealed.enc.size(); i += 7) {
    Bytes enc = f.sealed.enc;
    enc[i] ^= 0x04;
    expect_error(f.open_with(enc, f.recipient.private_key.reveal(), f.info, f.aad, f.sealed.ciphertext),
                 ErrorCode::hpke_open_failed);
  }
}

TEST(HpkeNegative, WrongRecipientKeyFails) {
  const Fixture f;
  const KeyPair other = generate_key_pair();
  expect_error(f.open_with(f.sealed.enc, other.private_key.reveal(), f.info, f.aad, f.sealed.ciphertext),
               ErrorCode::hpke_open_failed);
}

TEST(HpkeNegative, WrongSuiteFails) {
  const Fixture f;
  // Same key and enc, but the suite id is part of the key schedule.
  auto opened = open(kChaCha, f.sealed.enc, f.recipient.private_key.reveal(), f.info, f.aad, f.sealed.ciphertext);
  expect_error(opened, ErrorCode::hpke_open_failed);
}

TEST(HpkeNegative, MessagesMustBeOpenedInOrder) {
  const KeyPair recipient_keys = generate_key_pair();
  auto sender = setup_base_sender(kDefaultSuite, recipient_keys.public_key, {});
  ASSERT_TRUE(sender.has_value());
  auto first = sender->context.seal({}, to_bytes("message 0"));
  auto second = sender->context.seal({}, to_bytes("message 1"));
  ASSERT_TRUE(first && second);

  auto recipient = setup_base_recipient(kDefaultSuite, sender->enc, recipient_keys.private_key.reveal(), {});
  ASSERT_TRUE(recipient.has_value());
  expect_error(recipient->open({}, *second), ErrorCode::hpke_open_failed);
  EXPECT_EQ(recipient->sequence_number(), 0u) << "a failed open must not advance the sequence number";
  EXPECT_EQ(hex_of(recipient->open({}, *first)), hex_encode(to_bytes("message 0")));
  expect_error(recipient->open({}, *first), ErrorCode::hpke_open_failed);  // a replay
  EXPECT_EQ(hex_of(recipient->open({}, *second)), hex_encode(to_bytes("message 1")));
  EXPECT_EQ(recipient->sequence_number(), 2u);
}

TEST(HpkeNegative, BadEncLengthsAreBadEncapsulations) {
  const KeyPair recipient_keys = generate_key_pair();
  for (std::size_t size : {0u, 1u, 31u, 33u, 64u, 65u}) {
    auto context = setup_base_recipient(kDefaultSuite, Bytes(size, 0x42), recipient_keys.private_key.reveal(), {});
    ASSERT_FALSE(context.has_value()) << "enc of " << size << " bytes";
    EXPECT_EQ(context.error().code, ErrorCode::hpke_bad_encapsulation);
  }
}

// Small-order X25519 points (the DH result is all zero): u = 0, u = 1 and u = p - 1.
const std::vector<std::string_view> kSmallOrderPoints = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

TEST(HpkeNegative, AllZeroSharedSecretIsABadEncapsulation) {
  const KeyPair recipient_keys = generate_key_pair();
  for (std::string_view point : kSmallOrderPoints) {
    auto context = setup_base_recipient(kDefaultSuite, hex(point), recipient_keys.private_key.reveal(), {});
    ASSERT_FALSE(context.has_value()) << point;
    EXPECT_EQ(context.error().code, ErrorCode::hpke_bad_encapsulation) << point;
  }
}

TEST(HpkeNegative, SenderRefusesSmallOrderAndMalformedRecipientKeys) {
  for (std::string_view point : kSmallOrderPoints) {
    auto setup = setup_base_sender(kDefaultSuite, hex(point), {});
    ASSERT_FALSE(setup.has_value()) << point;
    EXPECT_EQ(setup.error().code, ErrorCode::bad_key) << point;
  }
  for (std::size_t size : {0u, 31u, 33u}) {
    auto setup = setup_base_sender(kDefaultSuite, Bytes(size, 0x09), {});
    ASSERT_FALSE(setup.has_value());
    EXPECT_EQ(setup.error().code, ErrorCode::bad_key);
  }
}

TEST(HpkeNegative, MalformedRecipientPrivateKeyIsBadKey) {
  const KeyPair recipient_keys = generate_key_pair();
  auto sealed = seal(kDefaultSuite, recipient_keys.public_key, {}, {}, to_bytes("x"));
  ASSERT_TRUE(sealed.has_value());
  auto context = setup_base_recipient(kDefaultSuite, sealed->enc, Bytes(31, 1), {});
  ASSERT_FALSE(context.has_value());
  EXPECT_EQ(context.error().code, ErrorCode::bad_key);
}

TEST(HpkeNegative, UnsupportedSuitesAreRefused) {
  const KeyPair keys = generate_key_pair();
  const std::vector<Suite> unsupported = {
      {static_cast<Kem>(0x0010), Kdf::hkdf_sha256, Aead::aes_256_gcm},         // DHKEM(P-256)
      {Kem::x25519_hkdf_sha256, static_cast<Kdf>(0x0003), Aead::aes_256_gcm},  // HKDF-SHA512
      {Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, static_cast<Aead>(0x0004)},  // unassigned
      {Kem::x25519_hkdf_sha256, Kdf::hkdf_sha256, static_cast<Aead>(0x0000)},  // reserved
  };
  for (const Suite& suite : unsupported) {
    EXPECT_FALSE(is_supported(suite));
    auto sender = setup_base_sender(suite, keys.public_key, {});
    ASSERT_FALSE(sender.has_value());
    EXPECT_EQ(sender.error().code, ErrorCode::hpke_unsupported_suite);
    auto recipient = setup_base_recipient(suite, keys.public_key, keys.private_key.reveal(), {});
    ASSERT_FALSE(recipient.has_value());
    EXPECT_EQ(recipient.error().code, ErrorCode::hpke_unsupported_suite);
    auto ids = suite_from_ids(static_cast<std::uint16_t>(suite.kem), static_cast<std::uint16_t>(suite.kdf),
                              static_cast<std::uint16_t>(suite.aead));
    ASSERT_FALSE(ids.has_value());
    EXPECT_EQ(ids.error().code, ErrorCode::hpke_unsupported_suite);
  }
  auto supported = suite_from_ids(0x0020, 0x0001, 0x0002);
  ASSERT_TRUE(supported.has_value());
  EXPECT_EQ(*supported, kDefaultSuite);
}

TEST(HpkeNegative, ExportOnlySuiteCannotSealOrOpenButExports) {
  const KeyPair keys = generate_key_pair();
  auto sender = setup_base_sender(kExportOnly, keys.public_key, to_bytes("info"));
  ASSERT_TRUE(sender.has_value());
  auto sealed = sender->context.seal({}, to_bytes("x"));
  ASSERT_FALSE(sealed.has_value());
  EXPECT_EQ(sealed.error().code, ErrorCode::hpke_unsupported_suite);
  auto recipient = setup_base_recipient(kExportOnly, sender->enc, keys.private_key.reveal(), to_bytes("info"));
  ASSERT_TRUE(recipient.has_value());
  EXPECT_EQ(hex_of(recipient->export_secret(to_bytes("a"), 32)),
            hex_of(sender->context.export_secret(to_bytes("a"), 32)));
  EXPECT_NE(hex_of(recipient->export_secret(to_bytes("a"), 32)), hex_of(recipient->export_secret(to_bytes("b"), 32)));
}

TEST(HpkeNegative, ExportLengthLimits) {
  const KeyPair keys = generate_key_pair();
  auto sender = setup_base_sender(kDefaultSuite, keys.public_key, {});
  ASSERT_TRUE(sender.has_value());
  auto empty = sender->context.export_secret({}, 0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_TRUE(empty->empty());
  auto longest = sender->context.export_secret({}, 255 * kKdfHashSize);
  ASSERT_TRUE(longest.has_value());
  EXPECT_EQ(longest->size(), 255 * kKdfHashSize);
  auto too_long = sender->context.export_secret({}, 255 * kKdfHashSize + 1);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, ErrorCode::invalid_argument);
}

TEST(HpkeNegative, MessageLimitIsEnforcedOnBothSides) {
  const KeyPair keys = generate_key_pair();
  auto sender = setup_base_sender(kDefaultSuite, keys.public_key, {});
  ASSERT_TRUE(sender.has_value());
  auto recipient = setup_base_recipient(kDefaultSuite, sender->enc, keys.private_key.reveal(), {});
  ASSERT_TRUE(recipient.has_value());
  constexpr std::uint64_t kLast = std::numeric_limits<std::uint64_t>::max() - 1;
  sender->context.set_sequence_number_for_testing(kLast);
  recipient->set_sequence_number_for_testing(kLast);

  // The last usable sequence number still works, and both sides agree on its nonce.
  auto last = sender->context.seal({}, to_bytes("last"));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(hex_of(recipient->open({}, *last)), hex_encode(to_bytes("last")));

  auto refused = sender->context.seal({}, to_bytes("one too many"));
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::hpke_message_limit);
  expect_error(recipient->open({}, *last), ErrorCode::hpke_message_limit);
}

TEST(HpkeKeys, DeriveKeyPairIsDeterministicAndRejectsShortIkm) {
  const Bytes ikm(32, 0x5A);
  const KeyPair a = derive_key_pair(ikm);
  const KeyPair b = derive_key_pair(ikm);
  EXPECT_EQ(a.private_key, b.private_key);
  EXPECT_EQ(a.public_key, b.public_key);
  EXPECT_NE(derive_key_pair(Bytes(33, 0x5A)).public_key, a.public_key);
  EXPECT_THROW(derive_key_pair(Bytes(31, 0x5A)), std::invalid_argument);
}

TEST(HpkeKeys, GeneratedKeysAreFreshAndConsistent) {
  const KeyPair a = generate_key_pair();
  const KeyPair b = generate_key_pair();
  EXPECT_NE(a.public_key, b.public_key);
  EXPECT_EQ(a.private_key.reveal().size(), kPrivateKeySize);
  EXPECT_EQ(a.public_key.size(), kPublicKeySize);
  auto derived = x25519_from_private(a.private_key.reveal());
  ASSERT_TRUE(derived.has_value());
  EXPECT_EQ(derived->public_key, a.public_key);
}

TEST(HpkeKeys, AeadSizes) {
  EXPECT_EQ(aead_key_size(Aead::aes_128_gcm), 16u);
  EXPECT_EQ(aead_key_size(Aead::aes_256_gcm), 32u);
  EXPECT_EQ(aead_key_size(Aead::chacha20_poly1305), 32u);
  EXPECT_EQ(aead_key_size(Aead::export_only), 0u);
  EXPECT_EQ(aead_nonce_size(Aead::aes_128_gcm), 12u);
  EXPECT_EQ(aead_nonce_size(Aead::export_only), 0u);
  EXPECT_THROW(aead_key_size(static_cast<Aead>(0x0004)), std::invalid_argument);
}

}  // namespace
}  // namespace cloister::crypto::hpke
