// snp collateral from files (the CLI's --collateral) and from the operator's collateral store.

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <fstream>

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "formats/snp/snp_collateral.h"
#include "formats/snp/snp_report.h"
#include "formats/snp/snp_verifier.h"
#include "snp_test_platform.h"
#include "test_support.h"

namespace cloister::attestation::snp {
namespace {

namespace fs = std::filesystem;
using test::read_report_milan;
using test::read_vector;
using test::read_vector_text;
using test::SnpTestPlatform;

constexpr std::int64_t k2025_01_01 = 1735689600;
constexpr std::int64_t k2025_06_01 = 1748736000;

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}
void write(const fs::path& path, const crypto::Bytes& content) { write(path, crypto::to_string(content)); }

fs::path vector_path(const std::string& relative) { return fs::path("..") / "shared" / "vectors" / relative; }

Result<VerifiedEvidence> verify_at(std::int64_t when, const crypto::Bytes& evidence, const Collateral& collateral,
                                   const SnpVerifier& verifier = SnpVerifier()) {
  const ManualClock clock = ManualClock::at_unix(when);
  return verifier.verify_report(Evidence{"snp", evidence, {}, std::nullopt}, collateral, VerificationContext{clock});
}

std::string tcb_name(std::uint64_t tcb) {
  char text[17];
  std::snprintf(text, sizeof text, "%016" PRIx64, tcb);
  return text;
}

TEST(SnpCollateralFiles, VcekDerAndKdsChain) {
  auto report = read_report_milan();
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  auto collateral = attestation::load_collateral_files("snp", {vector_path("virtee-sev/vcek_milan.der"),
                                                  vector_path("virtee-sev/cert_chain_milan")});
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(collateral->documents.contains("vcek"));
  EXPECT_TRUE(collateral->documents.contains("cert_chain"));
  EXPECT_FALSE(collateral->documents.contains("vlek"));
  auto verified = verify_at(k2025_01_01, *report, *collateral);
  EXPECT_TRUE(verified) << verified.error().to_string();
}

TEST(SnpCollateralFiles, VlekAndTrusteeBundle) {
  auto report = read_vector("coco-trustee/snp/test-vlek-report.bin");
  if (!report) GTEST_SKIP() << "../shared/vectors not present";
  auto collateral = attestation::load_collateral_files("snp", {vector_path("coco-trustee/snp/test-vlek.der"),
                                                  vector_path("coco-trustee/snp/milan_ask_ark_asvk.pem")});
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(collateral->documents.contains("vlek"));
  EXPECT_TRUE(verify_at(k2025_06_01, *report, *collateral));
}

TEST(SnpCollateralFiles, DirectoriesSkipWhatTheyDoNotUnderstand) {
  auto report = read_report_milan();
  auto vcek = read_vector("virtee-sev/vcek_milan.der");
  auto chain = read_vector_text("virtee-sev/cert_chain_milan");
  if (!report || !vcek || !chain) GTEST_SKIP() << "../shared/vectors not present";
  test::TempDir directory;
  write(directory.path() / "vcek.der", *vcek);
  write(directory.path() / "cert_chain.pem", *chain);
  write(directory.path() / "README.md", std::string_view("not a certificate"));
  fs::create_directories(directory.path() / "nested");
  auto collateral = attestation::load_collateral_files("snp", {directory.path()});
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(verify_at(k2025_01_01, *report, *collateral));
  // The same unknown file named explicitly is an error.
  EXPECT_EQ(attestation::load_collateral_files("snp", {directory.path() / "README.md"}).error().code, ErrorCode::bad_encoding);
}

TEST(SnpCollateralFiles, Errors) {
  const auto& platform = SnpTestPlatform::shared();
  test::TempDir directory;
  EXPECT_EQ(attestation::load_collateral_files("snp", {}).error().code, ErrorCode::collateral_missing);
  EXPECT_EQ(attestation::load_collateral_files("snp", {directory.path()}).error().code, ErrorCode::collateral_missing);
  EXPECT_EQ(attestation::load_collateral_files("snp", {directory.path() / "absent.der"}).error().code, ErrorCode::io_error);
  // Two different VCEKs.
  SnpTestPlatform other;
  write(directory.path() / "a.pem", platform.leaf.pem());
  write(directory.path() / "b.pem", other.leaf.pem());
  EXPECT_EQ(attestation::load_collateral_files("snp", {directory.path() / "a.pem", directory.path() / "b.pem"}).error().code,
            ErrorCode::invalid_argument);
  // The same one twice is fine.
  EXPECT_TRUE(attestation::load_collateral_files("snp", {directory.path() / "a.pem", directory.path() / "a.pem"}));
  write(directory.path() / "broken.pem", std::string_view("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
  EXPECT_EQ(attestation::load_collateral_files("snp", {directory.path() / "broken.pem"}).error().code, ErrorCode::cert_parse_failed);
  EXPECT_EQ(attestation::load_collateral_files("nope", {}).error().code, ErrorCode::unsupported_format);
}

TEST(SnpCollateralFiles, CrlFiles) {
  const auto& platform = SnpTestPlatform::shared();
  const auto crl = test::make_amd_crl(platform.ark, platform.ark_key, {}, test::kSnpTestNow - 60, test::kSnpTestNow + 60);
  test::TempDir directory;
  write(directory.path() / "crl.der", crl.der());
  write(directory.path() / "vcek.pem", platform.leaf.pem());
  write(directory.path() / "chain.pem", platform.ask.pem() + platform.ark.pem());
  auto collateral = attestation::load_collateral_files("snp", {directory.path()});
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  ASSERT_TRUE(collateral->documents.contains("crl"));
  EXPECT_EQ(crypto::base64_decode(collateral->documents["crl"].get<std::string>()).value(), crl.der());
  EXPECT_TRUE(verify_at(test::kSnpTestNow, platform.report(crypto::Bytes(64, 5)), *collateral, SnpVerifier({platform.ark})));
  EXPECT_EQ(verify_at(test::kSnpTestNow + 120, platform.report(crypto::Bytes(64, 5)), *collateral,
                      SnpVerifier({platform.ark}))
                .error()
                .code,
            ErrorCode::collateral_stale);
}

// ---- the collateral store ----

TEST(SnpCollateralStore, VcekByChipIdAndReportedTcb) {
  auto report = read_report_milan();
  auto vcek = read_vector("virtee-sev/vcek_milan.der");
  auto chain = read_vector_text("virtee-sev/cert_chain_milan");
  if (!report || !vcek || !chain) GTEST_SKIP() << "../shared/vectors not present";
  test::TempDir store;
  const auto chip = crypto::hex_encode(crypto::BytesView(*report).subspan(kChipIdOffset, kChipIdSize));
  // The layout docs/attestation-formats.md gives.
  write(store.path() / "snp" / "vcek" / chip / "7308000000000003.der", *vcek);
  write(store.path() / "snp" / "Milan" / "vcek_cert_chain.pem", *chain);
  auto collateral = attestation::load_collateral_store("snp", store.path(), *report);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  auto verified = verify_at(k2025_01_01, *report, *collateral);
  EXPECT_TRUE(verified) << verified.error().to_string();

  // Another reported TCB finds nothing.
  test::TempDir other_tcb;
  write(other_tcb.path() / "snp" / "vcek" / chip / "7308000000000004.der", *vcek);
  EXPECT_EQ(attestation::load_collateral_store("snp", other_tcb.path(), *report).error().code, ErrorCode::collateral_missing);
  // An empty store.
  test::TempDir empty;
  EXPECT_EQ(attestation::load_collateral_store("snp", empty.path(), *report).error().code, ErrorCode::collateral_missing);
  // Not a report.
  EXPECT_EQ(attestation::load_collateral_store("snp", store.path(), crypto::Bytes(100, 1)).error().code, ErrorCode::evidence_malformed);
}

TEST(SnpCollateralStore, VlekByReportedTcb) {
  auto report = read_vector("coco-trustee/snp/test-vlek-report.bin");
  auto vlek = read_vector("coco-trustee/snp/test-vlek.der");
  auto chain = read_vector_text("google-go-sev-guest/ask_ark_milan_vlek.pem");
  if (!report || !vlek || !chain) GTEST_SKIP() << "../shared/vectors not present";
  test::TempDir store;
  write(store.path() / "snp" / "vlek" / "d9180000000000" "04.pem", crypto::Certificate::from_der(*vlek)->pem());
  write(store.path() / "snp" / "Milan" / "vlek_cert_chain.pem", *chain);
  auto collateral = attestation::load_collateral_store("snp", store.path(), *report);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(verify_at(k2025_06_01, *report, *collateral));
}

TEST(SnpCollateralStore, TurinEightByteHwIdAndChainFromTheStore) {
  SnpTestPlatform turin({.generation = Generation::turin});
  const auto report = turin.report(crypto::Bytes(64, 9));
  test::TempDir store;
  const auto hw_id = crypto::hex_encode(crypto::BytesView(turin.chip_id).first(8));
  write(store.path() / "snp" / "vcek" / hw_id / (tcb_name(turin.reported_tcb()) + ".der"), turin.leaf.der());
  write(store.path() / "snp" / "Turin" / "vcek_cert_chain.pem", turin.ask.pem() + turin.ark.pem());
  const auto crl = test::make_amd_crl(turin.ark, turin.ark_key, {2}, test::kSnpTestNow - 60, test::kSnpTestNow + 60);
  write(store.path() / "snp" / "Turin" / "vcek_crl.der", crl.der());
  auto collateral = attestation::load_collateral_store("snp", store.path(), report);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(collateral->documents.contains("crl"));
  // The store's CRL revokes the ASK.
  EXPECT_EQ(verify_at(test::kSnpTestNow, report, *collateral, SnpVerifier({turin.ark})).error().code,
            ErrorCode::cert_revoked);
  fs::remove(store.path() / "snp" / "Turin" / "vcek_crl.der");
  collateral = attestation::load_collateral_store("snp", store.path(), report);
  ASSERT_TRUE(collateral);
  EXPECT_TRUE(verify_at(test::kSnpTestNow, report, *collateral, SnpVerifier({turin.ark})));
}

TEST(SnpCollateralStore, EvidenceThatCarriesItsVcekNeedsOnlyTheChain) {
  const auto& platform = SnpTestPlatform::shared();
  const auto evidence = crypto::concat(platform.report(crypto::Bytes(64, 2)),
                                       serialize_cert_table({{kGuidVcek, platform.leaf.der()}}));
  test::TempDir store;
  write(store.path() / "snp" / "Milan" / "vcek_cert_chain.pem", platform.ask.pem() + platform.ark.pem());
  auto collateral = attestation::load_collateral_store("snp", store.path(), evidence);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_FALSE(collateral->documents.contains("vcek"));
  EXPECT_TRUE(verify_at(test::kSnpTestNow, evidence, *collateral, SnpVerifier({platform.ark})));
}

}  // namespace
}  // namespace cloister::attestation::snp
