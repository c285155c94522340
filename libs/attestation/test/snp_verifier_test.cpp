// The snp verifier: every SNP case of ../shared/vectors/MANIFEST.md (N1, N2, N4, N6) with its
// expected outcome, chain and byte-flip negatives, and what only a synthetic platform can show
// (TCB, chip id and product mismatches, CRLs, VLEK and Turin layouts).

#include <gtest/gtest.h>

#include <set>

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/policy.h"
#include "cloister/attestation/runtime_data.h"
#include "cloister/crypto/base64.h"
#include "cloister/crypto/hash.h"
#include "formats/snp/snp_certs.h"
#include "formats/snp/snp_collateral.h"
#include "formats/snp/snp_report.h"
#include "formats/snp/snp_verifier.h"
#include "snp_test_platform.h"
#include "test_support.h"

namespace cloister::attestation::snp {
namespace {

using test::read_report_milan;
using test::read_vector;
using test::read_vector_text;
using test::SnpReportFields;
using test::SnpTestPlatform;

// Instants (UTC).
constexpr std::int64_t k2022_01_01 = 1640995200;
constexpr std::int64_t k2024_12_10T22_00 = 1733868000;   // before the VLEK's notBefore (22:14:21)
constexpr std::int64_t k2025_01_01 = 1735689600;
constexpr std::int64_t k2025_06_01 = 1748736000;
constexpr std::int64_t k2025_12_10T22_15 = 1765404900;   // after the VLEK's notAfter (22:14:21)
constexpr std::int64_t k2030_05_01 = 1903910400;          // after the Milan VCEK's notAfter (2030-04-03)

Result<VerifiedEvidence> verify_at(std::int64_t when, const crypto::Bytes& report, const Collateral& collateral,
                                   const SnpVerifier& verifier = SnpVerifier()) {
  const ManualClock clock = ManualClock::at_unix(when);
  return verifier.verify_report(Evidence{"snp", report, {}, std::nullopt}, collateral, VerificationContext{clock});
}

Collateral collateral_of(std::initializer_list<std::pair<std::string_view, std::string>> members) {
  Collateral collateral;
  for (const auto& [name, value] : members) collateral.documents[std::string(name)] = value;
  return collateral;
}

std::string pem_of_der(const crypto::Bytes& der) { return crypto::Certificate::from_der(der).value().pem(); }

// The real Milan case N1: report, VCEK and the KDS chain.
struct MilanCase {
  crypto::Bytes report;
  crypto::Bytes vcek_der;
  std::string chain;

  static std::optional<MilanCase> load() {
    auto report = read_report_milan();
    auto vcek = read_vector("virtee-sev/vcek_milan.der");
    auto chain = read_vector_text("virtee-sev/cert_chain_milan");
    if (!report || !vcek || !chain) return std::nullopt;
    return MilanCase{*report, *vcek, *chain};
  }
  Collateral collateral() const {
    return collateral_of({{kCollateralVcek, pem_of_der(vcek_der)}, {kCollateralCertChain, chain}});
  }
};

#define LOAD_OR_SKIP(var, expr)                                  \
  auto var = (expr);                                             \
  if (!var) GTEST_SKIP() << "../shared/vectors not present"

// ---- N1: virtee-sev Milan report, VALID ----

TEST(SnpRealVectors, N1MilanReportIsValid) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  auto verified = verify_at(k2025_01_01, milan->report, milan->collateral());
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto& claims = verified->claims;
  EXPECT_EQ(verified->format, "snp");
  EXPECT_EQ(claims.tee, "snp");
  EXPECT_EQ(claims.measurement.size(), 96u);
  EXPECT_TRUE(claims.measurement.starts_with("7a1e5c26"));
  EXPECT_FALSE(claims.signer);
  EXPECT_EQ(claims.product_id, 0u);
  EXPECT_EQ(claims.svn, 0u);
  EXPECT_FALSE(claims.debuggable);
  EXPECT_EQ(claims.tcb_status, "UpToDate");
  EXPECT_TRUE(claims.advisory_ids.empty());
  EXPECT_TRUE(crypto::hex_encode(claims.report_data).starts_with("d447b55d"));
  const auto& format = verified->format_claims;
  EXPECT_EQ(format["version"], 2);
  EXPECT_EQ(format["policy"], 0x30000);
  EXPECT_EQ(format["vmpl"], 0);
  EXPECT_EQ(format["signing_key"], "vcek");
  EXPECT_EQ(format["product"], "Milan");
  EXPECT_EQ(format["product_name"], "Milan-B0");
  EXPECT_EQ(format["reported_tcb"], (nlohmann::json{{"bootloader", 3}, {"tee", 0}, {"snp", 8}, {"microcode", 115}}));
  EXPECT_TRUE(format["chip_id"].get<std::string>().starts_with("d49554ec"));
  EXPECT_EQ(format["host_data"], std::string(64, '0'));

  // A default policy admits it (not debuggable, UpToDate).
  auto json = to_claims_json(*verified);
  EXPECT_TRUE(Policy{}.check(json)) << Policy{}.check(json).error().to_string();
}

TEST(SnpRealVectors, N1TheVirteeMutationBreaksTheSignature) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  auto mutated = milan->report;
  mutated[21] ^= 0x80;  // inside FAMILY_ID (virtee's milan_report test)
  EXPECT_EQ(verify_at(k2025_01_01, mutated, milan->collateral()).error().code, ErrorCode::evidence_signature_invalid);
}

TEST(SnpRealVectors, N1ByteFlipsOverTheSignedRegionAndTheSignatureAllFail) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  const auto collateral = milan->collateral();
  const std::set<ErrorCode> expected{ErrorCode::evidence_signature_invalid, ErrorCode::evidence_malformed,
                                     ErrorCode::collateral_missing};
  // Every 5th byte (the synthetic platform below flips every byte); the field starts are included.
  for (std::size_t offset = 0; offset < kReportSize; offset += offset % 16 == 0 ? 1 : 5) {
    auto mutated = milan->report;
    mutated[offset] ^= 0x01;
    auto result = verify_at(k2025_01_01, mutated, collateral);
    ASSERT_FALSE(result) << "flip at " << offset;
    EXPECT_TRUE(expected.contains(result.error().code)) << offset << ": " << result.error().to_string();
  }
}

TEST(SnpRealVectors, N1WithTheCertificatesInsideTheEvidence) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  auto chain = crypto::Certificate::chain_from_pem(milan->chain).value();
  ASSERT_EQ(chain.size(), 2u);  // ASK, ARK
  const auto table = serialize_cert_table(
      {{kGuidVcek, milan->vcek_der}, {kGuidAsk, chain[0].der()}, {kGuidArk, chain[1].der()}});
  auto verified = verify_at(k2025_01_01, crypto::concat(milan->report, table), Collateral{});
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->format_claims["signing_key"], "vcek");
  // Without the ASK the chain has no path.
  const auto leaf_only = serialize_cert_table({{kGuidVcek, milan->vcek_der}});
  EXPECT_EQ(verify_at(k2025_01_01, crypto::concat(milan->report, leaf_only), Collateral{}).error().code,
            ErrorCode::cert_chain_invalid);
}

TEST(SnpRealVectors, N1ChainNegatives) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  LOAD_OR_SKIP(genoa_chain, read_vector_text("google-go-sev-guest/ask_ark_genoa.pem"));
  const auto genoa = crypto::Certificate::chain_from_pem(*genoa_chain).value();  // ASK-Genoa, ARK-Genoa
  const auto milan_chain = crypto::Certificate::chain_from_pem(milan->chain).value();
  const std::string vcek_pem = pem_of_der(milan->vcek_der);

  // Only the Genoa ARK pinned: the Milan chain leads nowhere trusted.
  const SnpVerifier genoa_only({genoa[1]});
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, milan->collateral(), genoa_only).error().code,
            ErrorCode::cert_chain_invalid);
  // The Genoa ASK swapped in for the Milan one.
  EXPECT_EQ(verify_at(k2025_01_01, milan->report,
                      collateral_of({{kCollateralVcek, vcek_pem}, {kCollateralCertChain, genoa[0].pem() + milan_chain[1].pem()}}))
                .error()
                .code,
            ErrorCode::cert_chain_invalid);
  // No chain at all.
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, collateral_of({{kCollateralVcek, vcek_pem}})).error().code,
            ErrorCode::cert_chain_invalid);
  // A root nobody pinned riding along in the chain is refused outright.
  const auto& platform = SnpTestPlatform::shared();
  EXPECT_EQ(verify_at(k2025_01_01, milan->report,
                      collateral_of({{kCollateralVcek, vcek_pem},
                                     {kCollateralCertChain, milan->chain + platform.ark.pem()}}))
                .error()
                .code,
            ErrorCode::cert_chain_invalid);
  // The VCEK re-signed by an impostor ASK/ARK pair named like AMD's.
  EXPECT_EQ(verify_at(k2025_01_01, milan->report,
                      collateral_of({{kCollateralVcek, vcek_pem}, {kCollateralCertChain, platform.ask.pem()}}))
                .error()
                .code,
            ErrorCode::cert_chain_invalid);
  // Time: before the VCEK was issued and after it expired.
  EXPECT_EQ(verify_at(k2022_01_01, milan->report, milan->collateral()).error().code, ErrorCode::cert_expired);
  EXPECT_EQ(verify_at(k2030_05_01, milan->report, milan->collateral()).error().code, ErrorCode::cert_expired);
  // One flipped byte inside the VCEK (virtee's milan_chain mutation).
  auto broken = milan->vcek_der;
  broken[40] ^= 0xff;
  auto broken_certificate = crypto::Certificate::from_der(broken);
  if (broken_certificate) {
    EXPECT_FALSE(verify_at(k2025_01_01, milan->report,
                           collateral_of({{kCollateralVcek, broken_certificate->pem()}, {kCollateralCertChain, milan->chain}})));
  }
}

TEST(SnpRealVectors, N1CollateralMissingOrMalformed) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, Collateral{}).error().code, ErrorCode::collateral_missing);
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, collateral_of({{kCollateralCertChain, milan->chain}})).error().code,
            ErrorCode::collateral_missing);
  // base64 DER works as well as PEM.
  EXPECT_TRUE(verify_at(k2025_01_01, milan->report,
                        collateral_of({{kCollateralVcek, crypto::base64_encode(milan->vcek_der)},
                                       {kCollateralCertChain, milan->chain}})));
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, collateral_of({{kCollateralVcek, "not base64!"}})).error().code,
            ErrorCode::bad_encoding);
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, collateral_of({{kCollateralVcek, crypto::base64_encode(crypto::Bytes(40, 7))}}))
                .error()
                .code,
            ErrorCode::cert_parse_failed);
  Collateral wrong_type;
  wrong_type.documents["vcek"] = 42;
  EXPECT_EQ(verify_at(k2025_01_01, milan->report, wrong_type).error().code, ErrorCode::bad_encoding);
  // Another chip's VCEK (go-sev-guest's): the chain is fine, the signature is not.
  LOAD_OR_SKIP(other, read_vector("google-go-sev-guest/vcek.testcer"));
  EXPECT_EQ(verify_at(k2025_01_01, milan->report,
                      collateral_of({{kCollateralVcek, pem_of_der(*other)}, {kCollateralCertChain, milan->chain}}))
                .error()
                .code,
            ErrorCode::evidence_signature_invalid);
}

// ---- N2: go-sev-guest debug report: signature VALID, policy DEBUG → reject ----

TEST(SnpRealVectors, N2DebugReportVerifiesButPolicyRefusesIt) {
  LOAD_OR_SKIP(report, read_vector("google-go-sev-guest/attestation.bin"));
  LOAD_OR_SKIP(vcek, read_vector("google-go-sev-guest/vcek.testcer"));
  LOAD_OR_SKIP(chain, read_vector_text("google-go-sev-guest/ask_ark_milan.pem"));
  const auto collateral = collateral_of({{kCollateralVcek, pem_of_der(*vcek)}, {kCollateralCertChain, *chain}});
  auto verified = verify_at(k2025_01_01, *report, collateral);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(verified->claims.debuggable);
  EXPECT_EQ(verified->format_claims["policy"], 0xB0000);
  EXPECT_EQ(verified->format_claims["reported_tcb"],
            (nlohmann::json{{"bootloader", 2}, {"tee", 0}, {"snp", 5}, {"microcode", 68}}));
  EXPECT_TRUE(verified->claims.measurement.starts_with("b07af962"));

  const auto claims = to_claims_json(*verified);
  auto refused = Policy{}.check(claims);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::policy_debug_not_allowed);
  Policy debug_allowed;
  debug_allowed.allow_debug = true;
  EXPECT_TRUE(debug_allowed.check(claims));
  // After the VCEK's notAfter (2029-09-24T00:55:28Z).
  EXPECT_EQ(verify_at(k2030_05_01, *report, collateral).error().code, ErrorCode::cert_expired);
}

// ---- N4: trustee VLEK report v3, VMPL 1: VALID only inside the VLEK window, with the ASVK ----

struct VlekCase {
  crypto::Bytes report;
  crypto::Bytes vlek_der;
  std::string asvk_chain;  // ASVK + ARK
  std::string vcek_chain;  // ASK + ARK

  static std::optional<VlekCase> load() {
    auto report = read_vector("coco-trustee/snp/test-vlek-report.bin");
    auto vlek = read_vector("coco-trustee/snp/test-vlek.der");
    auto asvk = read_vector_text("google-go-sev-guest/ask_ark_milan_vlek.pem");
    auto ask = read_vector_text("google-go-sev-guest/ask_ark_milan.pem");
    if (!report || !vlek || !asvk || !ask) return std::nullopt;
    return VlekCase{*report, *vlek, *asvk, *ask};
  }
  Collateral collateral(const std::string& chain) const {
    return collateral_of({{kCollateralVlek, pem_of_der(vlek_der)}, {kCollateralCertChain, chain}});
  }
};

TEST(SnpRealVectors, N4VlekReportIsValidWithTheAsvkInsideItsWindow) {
  LOAD_OR_SKIP(vlek, VlekCase::load());
  auto verified = verify_at(k2025_06_01, vlek->report, vlek->collateral(vlek->asvk_chain));
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto& format = verified->format_claims;
  EXPECT_EQ(format["version"], 3);
  EXPECT_EQ(format["signing_key"], "vlek");
  EXPECT_EQ(format["vmpl"], 1);
  EXPECT_EQ(format["product"], "Milan");
  EXPECT_EQ(format["chip_id"], std::string(128, '0'));
  EXPECT_EQ(format["reported_tcb"], (nlohmann::json{{"bootloader", 4}, {"tee", 0}, {"snp", 24}, {"microcode", 217}}));
  EXPECT_FALSE(verified->claims.debuggable);
  EXPECT_EQ(verified->claims.tcb_status, "UpToDate");

  // trustee's bundle (ASK, ARK and ASVK together) works too.
  LOAD_OR_SKIP(bundle, read_vector_text("coco-trustee/snp/milan_ask_ark_asvk.pem"));
  EXPECT_TRUE(verify_at(k2025_06_01, vlek->report, vlek->collateral(*bundle)));
}

TEST(SnpRealVectors, N4FailsWithTheVcekAskAndOutsideItsWindow) {
  LOAD_OR_SKIP(vlek, VlekCase::load());
  EXPECT_EQ(verify_at(k2025_06_01, vlek->report, vlek->collateral(vlek->vcek_chain)).error().code,
            ErrorCode::cert_chain_invalid);
  EXPECT_EQ(verify_at(k2024_12_10T22_00, vlek->report, vlek->collateral(vlek->asvk_chain)).error().code,
            ErrorCode::cert_expired);
  EXPECT_EQ(verify_at(k2025_12_10T22_15, vlek->report, vlek->collateral(vlek->asvk_chain)).error().code,
            ErrorCode::cert_expired);
  // A VLEK-signed report wants the "vlek" member: a VCEK does not stand in.
  LOAD_OR_SKIP(milan, MilanCase::load());
  EXPECT_EQ(verify_at(k2025_06_01, vlek->report, milan->collateral()).error().code, ErrorCode::collateral_missing);
  // The VLEK offered as the "vcek" of a VCEK-signed report: its chain holds, its kind does not.
  auto as_vcek = verify_at(k2025_06_01, milan->report,
                           collateral_of({{kCollateralVcek, pem_of_der(vlek->vlek_der)}, {kCollateralCertChain, vlek->asvk_chain}}));
  ASSERT_FALSE(as_vcek);
  EXPECT_EQ(as_vcek.error().code, ErrorCode::evidence_collateral_mismatch);
}

// ---- N6: trustee's synthetic VCEK-shaped certificates: signature INVALID ----

TEST(SnpRealVectors, N6InvalidVceksFailTheChain) {
  LOAD_OR_SKIP(milan, MilanCase::load());
  for (const char* name : {"coco-trustee/snp/test-vcek-invalid-legacy.der", "coco-trustee/snp/test-vcek-invalid-new.der"}) {
    LOAD_OR_SKIP(der, read_vector(name));
    auto result = verify_at(k2025_01_01, milan->report,
                            collateral_of({{kCollateralVcek, pem_of_der(*der)}, {kCollateralCertChain, milan->chain}}));
    ASSERT_FALSE(result) << name;
    EXPECT_EQ(result.error().code, ErrorCode::cert_chain_invalid) << name << ": " << result.error().to_string();
  }
}

// ---- the synthetic platform ----

class SnpSynthetic : public ::testing::Test {
 protected:
  const SnpTestPlatform& platform = SnpTestPlatform::shared();
  SnpVerifier verifier{{platform.ark}};

  Result<VerifiedEvidence> verify(const crypto::Bytes& report, const Collateral& collateral,
                                  std::int64_t when = test::kSnpTestNow) const {
    return verify_at(when, report, collateral, verifier);
  }
  crypto::Bytes report(const SnpReportFields& fields = {}) const { return platform.report(crypto::Bytes(64, 0x11), fields); }
};

TEST_F(SnpSynthetic, ThroughTheRegistryWithRuntimeDataBinding) {
  const auto service = test::ServiceKeys::generate("snp-nonce");
  auto verifiers = make_evidence_verifiers(platform.config());
  auto found = find(verifiers, "snp");
  ASSERT_TRUE(found);
  const ManualClock clock = ManualClock::at_unix(test::kSnpTestNow);
  auto verified = (*found)->verify(
      Evidence{"snp", platform.report(report_data_for(service.runtime_data)), service.runtime_data, "snp-nonce"},
      platform.collateral(), VerificationContext{clock});
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->claims.svn, 7u);  // the guest SVN
  EXPECT_EQ(verified->claims.measurement.substr(0, 8), "00010203");
  // The default verifiers pin AMD's ARKs, not the test platform's.
  auto amd = make_evidence_verifiers(FormatConfig{});
  EXPECT_EQ((*find(amd, "snp"))
                ->verify(Evidence{"snp", platform.report(report_data_for(service.runtime_data)), service.runtime_data,
                                  std::nullopt},
                         platform.collateral(), VerificationContext{clock})
                .error()
                .code,
            ErrorCode::cert_chain_invalid);
}

TEST_F(SnpSynthetic, EveryByteFlipFails) {
  const auto good = report();
  const auto collateral = platform.collateral();
  ASSERT_TRUE(verify(good, collateral));
  const std::set<ErrorCode> expected{ErrorCode::evidence_signature_invalid, ErrorCode::evidence_malformed,
                                     ErrorCode::collateral_missing};
  for (std::size_t offset = 0; offset < kReportSize; ++offset) {
    auto mutated = good;
    mutated[offset] ^= static_cast<std::uint8_t>(1u << (offset % 8));
    auto result = verify(mutated, collateral);
    ASSERT_FALSE(result) << "flip at " << offset;
    EXPECT_TRUE(expected.contains(result.error().code)) << offset << ": " << result.error().to_string();
  }
}

TEST_F(SnpSynthetic, SignedByAnotherKey) {
  auto forged = report();
  SnpTestPlatform::sign(forged, crypto::PrivateKey::generate(crypto::KeyType::ec_p384));
  EXPECT_EQ(verify(forged, platform.collateral()).error().code, ErrorCode::evidence_signature_invalid);
}

TEST_F(SnpSynthetic, UnsignedReport) {
  auto unsigned_report = report();
  unsigned_report[kSignerInfoOffset] = 7 << 2;
  EXPECT_EQ(verify(unsigned_report, platform.collateral()).error().code, ErrorCode::evidence_signature_invalid);
}

TEST_F(SnpSynthetic, ReportedTcbAgainstTheVcek) {
  // Certified: bootloader 3, tee 0, snp 8, microcode 115.
  const auto lower = encode_tcb({3, 0, 7, 115, std::nullopt}, Generation::milan);
  auto verified = verify(report({.reported_tcb = lower}), platform.collateral());
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->claims.tcb_status, "UpToDate");
  for (const TcbVersion& higher : {TcbVersion{4, 0, 8, 115, std::nullopt}, TcbVersion{3, 1, 8, 115, std::nullopt},
                                   TcbVersion{3, 0, 9, 115, std::nullopt}, TcbVersion{3, 0, 8, 116, std::nullopt}}) {
    auto result = verify(report({.reported_tcb = encode_tcb(higher, Generation::milan)}), platform.collateral());
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::evidence_collateral_mismatch) << result.error().to_string();
  }
}

TEST_F(SnpSynthetic, ChipIdAgainstTheHwId) {
  auto other_chip = platform.chip_id;
  other_chip[63] ^= 1;
  EXPECT_EQ(verify(report({.chip_id = other_chip}), platform.collateral()).error().code,
            ErrorCode::evidence_collateral_mismatch);
  // MASK_CHIP_ID: an all-zero CHIP_ID is not compared.
  auto masked = verify(report({.chip_id = std::array<std::uint8_t, 64>{}}), platform.collateral());
  ASSERT_TRUE(masked) << masked.error().to_string();
  EXPECT_EQ(masked->format_claims["chip_id"], std::string(128, '0'));
}

TEST_F(SnpSynthetic, HwIdWrappedInAnOctetString) {
  SnpTestPlatform wrapped({.wrap_hw_id = true});
  auto verified = verify_at(test::kSnpTestNow, wrapped.report(crypto::Bytes(64, 1)), wrapped.collateral(),
                            SnpVerifier({wrapped.ark}));
  ASSERT_TRUE(verified) << verified.error().to_string();
}

TEST_F(SnpSynthetic, CpuidOfAnotherProduct) {
  EXPECT_TRUE(verify(report({.version = 3, .cpuid = {0x19, 0x01, 0x01}}), platform.collateral()));  // Milan
  EXPECT_EQ(verify(report({.version = 3, .cpuid = {0x19, 0x11, 0x01}}), platform.collateral()).error().code,
            ErrorCode::evidence_collateral_mismatch);  // Genoa
  EXPECT_EQ(verify(report({.version = 3, .cpuid = {0x1a, 0x02, 0x00}}), platform.collateral()).error().code,
            ErrorCode::evidence_collateral_mismatch);  // Turin
  EXPECT_TRUE(verify(report({.version = 3, .cpuid = {0x17, 0x31, 0x00}}), platform.collateral()));  // unknown: no check
}

TEST_F(SnpSynthetic, DebugPolicyBit) {
  auto verified = verify(report({.policy = 0xB0000}), platform.collateral());
  ASSERT_TRUE(verified);
  EXPECT_TRUE(verified->claims.debuggable);
  EXPECT_EQ(Policy{}.check(to_claims_json(*verified)).error().code, ErrorCode::policy_debug_not_allowed);
}

TEST_F(SnpSynthetic, LeafValidity) {
  SnpTestPlatform short_lived({.leaf_not_before = test::kSnpTestNow - 100, .leaf_not_after = test::kSnpTestNow + 100});
  const SnpVerifier own({short_lived.ark});
  const auto evidence = short_lived.report(crypto::Bytes(64, 1));
  EXPECT_TRUE(verify_at(test::kSnpTestNow, evidence, short_lived.collateral(), own));
  EXPECT_EQ(verify_at(test::kSnpTestNow + 101, evidence, short_lived.collateral(), own).error().code,
            ErrorCode::cert_expired);
  EXPECT_EQ(verify_at(test::kSnpTestNow - 101, evidence, short_lived.collateral(), own).error().code,
            ErrorCode::cert_expired);
}

TEST_F(SnpSynthetic, Crl) {
  auto with_crl = [&](const crypto::Crl& crl) {
    Collateral collateral = platform.collateral();
    collateral.documents["crl"] = crypto::base64_encode(crl.der());
    return collateral;
  };
  const auto now = test::kSnpTestNow;
  const auto fresh = test::make_amd_crl(platform.ark, platform.ark_key, {}, now - 3600, now + 3600);
  EXPECT_TRUE(verify(report(), with_crl(fresh)));
  const auto revoking = test::make_amd_crl(platform.ark, platform.ark_key, {2}, now - 3600, now + 3600);  // the ASK
  EXPECT_EQ(verify(report(), with_crl(revoking)).error().code, ErrorCode::cert_revoked);
  const auto stale = test::make_amd_crl(platform.ark, platform.ark_key, {}, now - 7200, now - 3600);
  EXPECT_EQ(verify(report(), with_crl(stale)).error().code, ErrorCode::collateral_stale);
  const auto future = test::make_amd_crl(platform.ark, platform.ark_key, {}, now + 3600, now + 7200);
  EXPECT_EQ(verify(report(), with_crl(future)).error().code, ErrorCode::collateral_stale);
  const auto foreign = test::make_amd_crl(platform.ark, platform.ask_key, {}, now - 3600, now + 3600);
  EXPECT_EQ(verify(report(), with_crl(foreign)).error().code, ErrorCode::cert_chain_invalid);
  Collateral garbage = platform.collateral();
  garbage.documents["crl"] = "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n";
  EXPECT_EQ(verify(report(), garbage).error().code, ErrorCode::cert_parse_failed);
}

TEST_F(SnpSynthetic, CertificatesCarriedInTheEvidence) {
  const auto evidence = crypto::concat(report(), platform.cert_table());
  auto verified = verify(evidence, Collateral{});
  ASSERT_TRUE(verified) << verified.error().to_string();
  // Collateral takes precedence: a wrong cert_chain there is not rescued by the evidence's.
  Collateral wrong_chain;
  wrong_chain.documents["cert_chain"] = default_arks()[0].pem();
  EXPECT_EQ(verify(evidence, wrong_chain).error().code, ErrorCode::cert_chain_invalid);
  // A certificate entry that is not DER.
  const auto bad_table = serialize_cert_table({{kGuidVcek, crypto::Bytes(50, 0x30)}});
  EXPECT_EQ(verify(crypto::concat(report(), bad_table), Collateral{}).error().code, ErrorCode::evidence_malformed);
}

TEST(SnpSyntheticPlatforms, VlekAndTurinAndGenoa) {
  for (auto generation : {Generation::milan, Generation::genoa, Generation::turin}) {
    for (auto kind : {SigningKey::vcek, SigningKey::vlek}) {
      SnpTestPlatform platform({.generation = generation, .kind = kind});
      const SnpVerifier verifier({platform.ark});
      const std::uint8_t family = generation == Generation::turin ? 0x1a : 0x19;
      const std::uint8_t model = generation == Generation::genoa ? 0x11 : 0x01;
      auto verified = verify_at(test::kSnpTestNow, platform.report(crypto::Bytes(64, 3), {.version = 3, .cpuid = {family, model, 0}}),
                                platform.collateral(), verifier);
      ASSERT_TRUE(verified) << verified.error().to_string();
      EXPECT_EQ(verified->format_claims["product"], std::string(to_string(generation)));
      EXPECT_EQ(verified->format_claims["signing_key"], std::string(to_string(kind)));
      EXPECT_EQ(verified->format_claims["reported_tcb"].contains("fmc"), generation == Generation::turin);
      // Via the certificate table as well.
      EXPECT_TRUE(verify_at(test::kSnpTestNow, crypto::concat(platform.report(crypto::Bytes(64, 3)), platform.cert_table()),
                            Collateral{}, verifier));
      if (generation == Generation::turin) {
        // Turin's TCB layout: the FMC SPL sits in byte 0 and is checked like the others.
        auto tcb = platform.options_.certified_tcb;
        tcb.fmc = static_cast<std::uint8_t>(*tcb.fmc + 1);
        EXPECT_EQ(verify_at(test::kSnpTestNow, platform.report(crypto::Bytes(64, 3), {.reported_tcb = encode_tcb(tcb, generation)}),
                            platform.collateral(), verifier)
                      .error()
                      .code,
                  ErrorCode::evidence_collateral_mismatch);
      }
    }
  }
}

}  // namespace
}  // namespace cloister::attestation::snp
