// The shared DCAP verification on a synthetic platform (dcap_test_platform.h): claims, TCB level
// matching and Intel's status convergence, QE identity and TDX module matching, revocation,
// freshness, collateral signatures and mismatches — what the real vectors cannot exercise.

#include "formats/dcap/dcap_verifier.h"

#include <gtest/gtest.h>

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "dcap_test_platform.h"
#include "formats/dcap/dcap_claims.h"
#include "formats/dcap/dcap_util.h"
#include "formats/sgx/sgx_verifier.h"
#include "formats/tdx/tdx_verifier.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

using Tee = test::DcapTestPlatform::Tee;
using test::DcapTestPlatform;

const crypto::Bytes kReportData = [] {
  crypto::Bytes data(64, 0);
  for (std::size_t i = 0; i < 32; ++i) data[i] = static_cast<std::uint8_t>(i * 7);
  return data;
}();

std::uint32_t tee_type(const DcapTestPlatform& platform) {
  return platform.tee == Tee::sgx ? dcap::kTeeTypeSgx : dcap::kTeeTypeTdx;
}

Result<dcap::DcapVerification> verify(const DcapTestPlatform& platform, std::int64_t now = DcapTestPlatform::kNow,
                                      dcap::DcapVerifierOptions options = {}) {
  if (options.root_cas.empty()) options.root_cas = {platform.root};
  return dcap::DcapVerifier(options).verify(platform.quote(kReportData), tee_type(platform), platform.collateral(),
                                            now);
}

ErrorCode error_of(const Result<dcap::DcapVerification>& result) {
  EXPECT_FALSE(result) << "verification unexpectedly succeeded";
  return result ? ErrorCode::internal : result.error().code;
}

nlohmann::json& level(DcapTestPlatform& platform, std::size_t index) { return platform.tcb_info["tcbLevels"][index]; }

// ---- SGX ----

TEST(DcapVerifier, SgxQuoteYieldsItsClaims) {
  DcapTestPlatform platform;
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto evidence = sgx::verified_evidence(*verified);
  EXPECT_EQ(evidence.format, "sgx");
  EXPECT_EQ(evidence.claims.tee, "sgx");
  EXPECT_EQ(evidence.claims.measurement, crypto::hex_encode(platform.mr_enclave));
  EXPECT_EQ(evidence.claims.signer, crypto::hex_encode(platform.mr_signer));
  EXPECT_EQ(evidence.claims.product_id, 7u);
  EXPECT_EQ(evidence.claims.svn, 3u);
  EXPECT_FALSE(evidence.claims.debuggable);
  EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
  EXPECT_TRUE(evidence.claims.advisory_ids.empty());
  EXPECT_EQ(evidence.claims.report_data, kReportData);
  const auto& format = evidence.format_claims;
  EXPECT_EQ(format[dcap::format_claim::kFmspc], "00906ed50000");
  EXPECT_EQ(format[dcap::format_claim::kPceId], "0000");
  EXPECT_EQ(format[dcap::format_claim::kPckCa], "platform");
  EXPECT_EQ(format[dcap::format_claim::kSgxType], 0);
  EXPECT_EQ(format[dcap::format_claim::kPceSvn], 13);
  EXPECT_EQ(format[dcap::format_claim::kCpuSvn], "05050505050505050505050505050505");
  EXPECT_EQ(format[dcap::format_claim::kTcbDate], "2023-08-09T00:00:00Z");
  EXPECT_EQ(format[dcap::format_claim::kTcbEvaluationDataNumber], 15);
  EXPECT_EQ(format[dcap::format_claim::kQeSvn], 8);
  EXPECT_EQ(format[sgx::format_claim::kAttributes], "05000000000000000300000000000000");
  EXPECT_EQ(format[sgx::format_claim::kMiscSelect], "00000000");
  // The earliest expiry: the CRLs' nextUpdate (20 days) comes before the TCB info's (25).
  EXPECT_EQ(format[dcap::format_claim::kCollateralExpiration],
            dcap::detail::format_pcs_time(DcapTestPlatform::kNow + 20 * DcapTestPlatform::kDay));
}

TEST(DcapVerifier, SgxDebugEnclaveIsDebuggable) {
  DcapTestPlatform platform;
  platform.flags |= 0x02;
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(sgx::verified_evidence(*verified).claims.debuggable);
}

TEST(DcapVerifier, SgxQuotesV4AndV5Verify) {
  for (std::uint16_t version : {4, 5}) {
    DcapTestPlatform platform(Tee::sgx, version, 1);
    auto verified = verify(platform);
    ASSERT_TRUE(verified) << version << ": " << verified.error().to_string();
    EXPECT_EQ(verified->checked.quote.header.version, version);
    EXPECT_EQ(sgx::verified_evidence(*verified).claims.report_data, kReportData);
  }
}

TEST(DcapVerifier, PlatformTcbLevelIsTheFirstThePckMeets) {
  DcapTestPlatform platform;
  platform.pck_components.fill(3);
  platform.pck_pce_svn = 11;
  platform.rebuild_pck();
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "SWHardeningNeeded");
  EXPECT_EQ(verified->advisory_ids, (std::vector<std::string>{"INTEL-SA-00615"}));

  platform.pck_components[15] = 2;  // one component below level 2: level 3 matches
  platform.rebuild_pck();
  verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "OutOfDate");
  EXPECT_EQ(verified->advisory_ids, (std::vector<std::string>{"INTEL-SA-00106", "INTEL-SA-00615"}));

  platform.pck_components.fill(5);
  platform.pck_pce_svn = 12;  // PCESVN below level 1: level 2
  platform.rebuild_pck();
  verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "SWHardeningNeeded");

  // No level at all.
  level(platform, 2)["tcb"]["pcesvn"] = 20;
  level(platform, 1)["tcb"]["pcesvn"] = 20;
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tcb_level_not_found);
}

TEST(DcapVerifier, QeStatusConvergesWithThePlatformStatus) {
  DcapTestPlatform platform;
  platform.qe_isv_svn = 7;  // QE level 2: OutOfDate
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "OutOfDate");
  EXPECT_EQ(verified->qe_level.status, "OutOfDate");
  EXPECT_EQ(verified->platform_level.status, "UpToDate");
  EXPECT_EQ(verified->advisory_ids, (std::vector<std::string>{"INTEL-SA-00615"}));
  EXPECT_EQ(sgx::verified_evidence(*verified).format_claims[dcap::format_claim::kQeTcbStatus], "OutOfDate");

  level(platform, 0)["tcbStatus"] = "ConfigurationNeeded";
  verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "OutOfDateConfigurationNeeded");

  platform.qe_identity["tcbLevels"][1]["tcbStatus"] = "Revoked";
  verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "Revoked");

  platform.qe_isv_svn = 5;  // below every QE level
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tcb_level_not_found);
}

TEST(DcapVerifier, ConvergenceFollowsIntelsQvl) {
  using dcap::converge_tcb_status;
  EXPECT_EQ(converge_tcb_status("UpToDate", "UpToDate"), "UpToDate");
  EXPECT_EQ(converge_tcb_status("SWHardeningNeeded", "UpToDate"), "SWHardeningNeeded");
  EXPECT_EQ(converge_tcb_status("UpToDate", "OutOfDate"), "OutOfDate");
  EXPECT_EQ(converge_tcb_status("SWHardeningNeeded", "OutOfDate"), "OutOfDate");
  EXPECT_EQ(converge_tcb_status("ConfigurationNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded");
  EXPECT_EQ(converge_tcb_status("ConfigurationAndSWHardeningNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded");
  EXPECT_EQ(converge_tcb_status("OutOfDateConfigurationNeeded", "OutOfDate"), "OutOfDateConfigurationNeeded");
  EXPECT_EQ(converge_tcb_status("ConfigurationNeeded", "Revoked"), "Revoked");
  EXPECT_EQ(converge_tcb_status("Revoked", "UpToDate"), "Revoked");
  EXPECT_EQ(converge_tcb_status("OutOfDate", "UpToDate"), "OutOfDate");
}

TEST(DcapVerifier, RevokedPlatformLevelIsAClaimNotAnError) {
  DcapTestPlatform platform;
  level(platform, 0)["tcbStatus"] = "Revoked";
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "Revoked");
  level(platform, 0)["tcbStatus"] = "Compromised";
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::bad_encoding);
}

TEST(DcapVerifier, QeMustMatchItsIdentity) {
  {
    DcapTestPlatform platform;
    platform.qe_mr_signer[0] ^= 1;
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::qe_identity_mismatch);
  }
  {
    DcapTestPlatform platform;
    platform.qe_isv_prod_id = 3;
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::qe_identity_mismatch);
  }
  {
    DcapTestPlatform platform;
    platform.qe_identity["attributes"] = "13000000000000000000000000000000";
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::qe_identity_mismatch);
  }
  {
    DcapTestPlatform platform;
    platform.qe_identity["miscselect"] = "01000000";
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::qe_identity_mismatch);
  }
  {
    DcapTestPlatform platform;
    platform.qe_identity["id"] = "TD_QE";
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::evidence_collateral_mismatch);
  }
}

TEST(DcapVerifier, TcbInfoMustBeForThisPlatform) {
  {
    DcapTestPlatform platform;
    platform.tcb_info["fmspc"] = "00906ED50001";
    auto result = verify(platform);
    EXPECT_EQ(error_of(result), ErrorCode::evidence_collateral_mismatch);
  }
  {
    DcapTestPlatform platform;
    platform.tcb_info["pceId"] = "0100";
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::evidence_collateral_mismatch);
  }
  {
    // A TDX TCB info for an SGX quote.
    DcapTestPlatform platform;
    DcapTestPlatform tdx(Tee::tdx);
    platform.tcb_info = tdx.tcb_info;
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::evidence_collateral_mismatch);
  }
}

TEST(DcapVerifier, RevokedCertificatesAreRefused) {
  {
    DcapTestPlatform platform;
    platform.revoked_by_pck_ca = {platform.pck_leaf};
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::cert_revoked);
  }
  {
    DcapTestPlatform platform;
    platform.revoked_by_root = {platform.pck_ca};
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::cert_revoked);
  }
  {
    DcapTestPlatform platform;
    platform.revoked_by_root = {platform.tcb_signing};
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::cert_revoked);
  }
}

TEST(DcapVerifier, StaleCollateralIsRefusedUnlessCrlDatesAreIgnored) {
  DcapTestPlatform platform;
  const auto day = DcapTestPlatform::kDay;
  const auto now = DcapTestPlatform::kNow;
  // The CRLs expire first (day 20), then the TCB info and QE identity (day 25).
  EXPECT_TRUE(verify(platform, now + 20 * day));
  EXPECT_EQ(error_of(verify(platform, now + 20 * day + 1)), ErrorCode::collateral_stale);
  auto ignoring = verify(platform, now + 20 * day + 1, {.ignore_crl_freshness = true});
  EXPECT_TRUE(ignoring) << ignoring.error().to_string();
  EXPECT_EQ(error_of(verify(platform, now + 25 * day + 1, {.ignore_crl_freshness = true})),
            ErrorCode::collateral_stale);
  // Not yet valid.
  EXPECT_EQ(error_of(verify(platform, now - 10 * day - 1)), ErrorCode::collateral_stale);
  EXPECT_EQ(error_of(verify(platform, now - 6 * day, {.ignore_crl_freshness = true})), ErrorCode::collateral_stale);
  // The QE identity alone stale.
  platform.qe_identity["nextUpdate"] = dcap::detail::format_pcs_time(now - 1);
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::collateral_stale);
}

TEST(DcapVerifier, ExpiredCertificatesAreRefused) {
  {
    // The PCK certificate is part of the evidence: cert_expired.
    DcapTestPlatform platform;
    platform.pck_not_after = DcapTestPlatform::kNow - 1;
    platform.rebuild_pck();
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::cert_expired);
  }
  {
    // The TCB Signing certificate is collateral: collateral_stale.
    DcapTestPlatform platform;
    platform.reissue_tcb_signing(DcapTestPlatform::kNow - 100 * DcapTestPlatform::kDay, DcapTestPlatform::kNow - 1);
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::collateral_stale);
    platform.reissue_tcb_signing(DcapTestPlatform::kNow + 1, DcapTestPlatform::kNow + 100 * DcapTestPlatform::kDay);
    EXPECT_EQ(error_of(verify(platform)), ErrorCode::collateral_stale);
  }
}

TEST(DcapVerifier, CollateralSignaturesAreChecked) {
  DcapTestPlatform platform;
  const auto quote = platform.quote(kReportData);
  const dcap::DcapVerifier verifier(platform.options());
  auto check = [&](const Collateral& collateral) {
    auto result = verifier.verify(quote, dcap::kTeeTypeSgx, collateral, DcapTestPlatform::kNow);
    return result ? ErrorCode::internal : result.error().code;
  };
  ASSERT_EQ(check(platform.collateral()), ErrorCode::internal) << "the baseline must verify";
  {
    auto collateral = platform.collateral();
    std::string text = collateral.documents["tcb_info"];
    text.insert(text.size() - 1, " ");  // the same JSON value, other bytes
    collateral.documents["tcb_info"] = text;
    EXPECT_EQ(check(collateral), ErrorCode::signature_invalid);
  }
  {
    auto collateral = platform.collateral();
    collateral.documents["qe_identity_signature"] = collateral.documents["tcb_info_signature"];
    EXPECT_EQ(check(collateral), ErrorCode::signature_invalid);
  }
  {
    // A TCB info signed under another root.
    DcapTestPlatform other;
    other.tcb_info = platform.tcb_info;
    auto collateral = platform.collateral();
    auto foreign = other.collateral();
    for (const char* name : {"tcb_info", "tcb_info_signature", "tcb_info_issuer_chain"}) {
      collateral.documents[name] = foreign.documents[name];
    }
    EXPECT_EQ(check(collateral), ErrorCode::cert_chain_invalid);
  }
  {
    // A TCB info "signed" by another key the root certified — a PCK key extracted from a platform —
    // with its chain: only the TCB Signing certificate may sign TCB information.
    auto collateral = platform.collateral();
    nlohmann::json forged = platform.tcb_info;
    forged["tcbLevels"][0]["tcbStatus"] = "UpToDate";
    const std::string text = forged.dump();
    auto der = crypto::ecdsa_sign(platform.pck_key, crypto::HashAlgorithm::sha256, crypto::as_bytes(text));
    ASSERT_TRUE(der);
    collateral.documents["tcb_info"] = text;
    collateral.documents["tcb_info_signature"] = crypto::hex_encode(crypto::ecdsa_der_to_raw(*der, 32).value());
    collateral.documents["tcb_info_issuer_chain"] =
        platform.pck_leaf.pem() + platform.pck_ca.pem() + platform.root.pem();
    EXPECT_EQ(check(collateral), ErrorCode::cert_chain_invalid);
    collateral.documents["tcb_info_issuer_chain"] = platform.pck_leaf.pem() + platform.root.pem();
    EXPECT_EQ(check(collateral), ErrorCode::cert_chain_invalid);
    // Nor the PCK CA (a CA directly under the root).
    der = crypto::ecdsa_sign(platform.pck_ca_key, crypto::HashAlgorithm::sha256, crypto::as_bytes(text));
    collateral.documents["tcb_info_signature"] = crypto::hex_encode(crypto::ecdsa_der_to_raw(*der, 32).value());
    collateral.documents["tcb_info_issuer_chain"] = platform.pck_ca.pem() + platform.root.pem();
    EXPECT_EQ(check(collateral), ErrorCode::cert_chain_invalid);
  }
  {
    DcapTestPlatform other;
    auto collateral = platform.collateral();
    collateral.documents["root_ca_crl"] = other.collateral().documents["root_ca_crl"];
    EXPECT_EQ(check(collateral), ErrorCode::signature_invalid);
  }
  {
    // A PCK CRL of another CA.
    DcapTestPlatform other;
    auto collateral = platform.collateral();
    collateral.documents["pck_crl"] = other.collateral().documents["pck_crl"];
    EXPECT_EQ(check(collateral), ErrorCode::signature_invalid);
    other.processor_ca = true;
    other.rebuild_pck();
    collateral.documents["pck_crl"] = other.collateral().documents["pck_crl"];
    EXPECT_EQ(check(collateral), ErrorCode::evidence_collateral_mismatch);
  }
  {
    DcapTestPlatform other;
    auto collateral = platform.collateral();
    collateral.documents["pck_crl_issuer_chain"] = other.collateral().documents["pck_crl_issuer_chain"];
    EXPECT_EQ(check(collateral), ErrorCode::evidence_collateral_mismatch);
    collateral.documents.erase("pck_crl_issuer_chain");  // optional
    EXPECT_EQ(check(collateral), ErrorCode::internal);
  }
}

TEST(DcapVerifier, MissingAndMalformedCollateral) {
  DcapTestPlatform platform;
  const auto quote = platform.quote(kReportData);
  const dcap::DcapVerifier verifier(platform.options());
  auto check = [&](const Collateral& collateral) {
    auto result = verifier.verify(quote, dcap::kTeeTypeSgx, collateral, DcapTestPlatform::kNow);
    return result ? Error{ErrorCode::internal, "verified"} : result.error();
  };
  EXPECT_EQ(check(Collateral{}).code, ErrorCode::collateral_missing);
  for (const char* name : {"root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info", "tcb_info_signature",
                           "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"}) {
    auto collateral = platform.collateral();
    collateral.documents.erase(name);
    auto error = check(collateral);
    EXPECT_EQ(error.code, ErrorCode::collateral_missing) << name;
    EXPECT_NE(error.detail.find(name), std::string::npos) << error.detail;
  }
  const std::pair<const char*, nlohmann::json> bad[] = {{"root_ca_crl", 42},
                                                        {"root_ca_crl", "zz"},
                                                        {"pck_crl", "00"},
                                                        {"tcb_info_signature", "00"},
                                                        {"qe_identity_signature", "nothex"},
                                                        {"tcb_info_issuer_chain", "no PEM"}};
  for (const auto& [name, value] : bad) {
    auto collateral = platform.collateral();
    collateral.documents[name] = value;
    EXPECT_EQ(check(collateral).code, ErrorCode::bad_encoding) << name << " = " << value.dump();
  }
  // CRLs may also be given as PEM.
  auto collateral = platform.collateral();
  auto crl = crypto::Crl::from_der(*crypto::hex_decode(collateral.documents["pck_crl"].get<std::string>()));
  ASSERT_TRUE(crl);
  // (No PEM writer for CRLs in the crypto library: wrap the DER by hand.)
  std::string pem = "-----BEGIN X509 CRL-----\n";
  std::string base64;
  {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto der = crl->der();
    for (std::size_t i = 0; i < der.size(); i += 3) {
      const std::uint32_t chunk =
          (der[i] << 16) | ((i + 1 < der.size() ? der[i + 1] : 0) << 8) | (i + 2 < der.size() ? der[i + 2] : 0);
      base64 += kAlphabet[(chunk >> 18) & 63];
      base64 += kAlphabet[(chunk >> 12) & 63];
      base64 += i + 1 < der.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
      base64 += i + 2 < der.size() ? kAlphabet[chunk & 63] : '=';
    }
  }
  for (std::size_t i = 0; i < base64.size(); i += 64) pem += base64.substr(i, 64) + "\n";
  pem += "-----END X509 CRL-----\n";
  collateral.documents["pck_crl"] = pem;
  EXPECT_EQ(check(collateral).code, ErrorCode::internal) << check(collateral).to_string();
}

TEST(DcapVerifier, OnlyThePinnedRootIsTrusted) {
  DcapTestPlatform platform;
  // The default pin is the Intel SGX Root CA: a test root's chain does not reach it.
  auto result = dcap::DcapVerifier({}).verify(platform.quote(kReportData), dcap::kTeeTypeSgx, platform.collateral(),
                                              DcapTestPlatform::kNow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::cert_chain_invalid);
  // Another root with the same name does not do either.
  DcapTestPlatform impostor;
  auto pinned_other =
      dcap::DcapVerifier(impostor.options())
          .verify(platform.quote(kReportData), dcap::kTeeTypeSgx, platform.collateral(), DcapTestPlatform::kNow);
  ASSERT_FALSE(pinned_other);
  EXPECT_EQ(pinned_other.error().code, ErrorCode::cert_chain_invalid);
}

// ---- TDX ----

TEST(DcapVerifier, TdxQuoteYieldsItsClaims) {
  for (auto [version, body_type] : {std::pair{4, 2}, std::pair{5, 2}, std::pair{5, 3}}) {
    DcapTestPlatform platform(Tee::tdx, static_cast<std::uint16_t>(version), static_cast<std::uint16_t>(body_type));
    auto verified = verify(platform);
    ASSERT_TRUE(verified) << version << "/" << body_type << ": " << verified.error().to_string();
    const auto evidence = tdx::verified_evidence(*verified);
    EXPECT_EQ(evidence.claims.tee, "tdx");
    EXPECT_EQ(evidence.claims.measurement, crypto::hex_encode(platform.mr_td));
    EXPECT_FALSE(evidence.claims.signer);
    EXPECT_FALSE(evidence.claims.debuggable);
    EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
    EXPECT_EQ(evidence.claims.report_data, kReportData);
    const auto& format = evidence.format_claims;
    for (std::size_t r = 0; r < 4; ++r) {
      EXPECT_EQ(format[tdx::format_claim::kRtmr[r]], crypto::hex_encode(platform.rtmr[r])) << r;
    }
    std::string mr_seam;
    for (int i = 0; i < 48; ++i) mr_seam += "5e";
    EXPECT_EQ(format[tdx::format_claim::kMrSeam], mr_seam);
    EXPECT_EQ(format[tdx::format_claim::kTdAttributes], "0000001000000000");
    EXPECT_EQ(format[tdx::format_claim::kTdReportVersion], body_type == 3 ? "1.5" : "1.0");
    EXPECT_EQ(format.contains(tdx::format_claim::kTeeTcbSvn2), body_type == 3);
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["id"], "TDX_01");
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["isv_svn"], 6);
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["tcb_status"], "UpToDate");
  }
}

TEST(DcapVerifier, TdDebugBitMakesItDebuggable) {
  DcapTestPlatform platform(Tee::tdx);
  platform.td_attributes[0] |= 0x01;
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(tdx::verified_evidence(*verified).claims.debuggable);
}

TEST(DcapVerifier, TdxModuleIdentityGivesItsOwnTcbLevel) {
  DcapTestPlatform platform(Tee::tdx);
  platform.tee_tcb_svn[0] = 5;  // TDX_01 level 2 (isvsvn 4): OutOfDate
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->platform_level.status, "UpToDate");
  EXPECT_EQ(verified->tdx_module->tcb_level->status, "OutOfDate");
  EXPECT_EQ(verified->tcb_status, "OutOfDate");
  EXPECT_EQ(verified->advisory_ids, (std::vector<std::string>{"INTEL-SA-01036"}));
  EXPECT_EQ(tdx::verified_evidence(*verified).format_claims[tdx::format_claim::kTdxModule]["tcb_status"], "OutOfDate");

  platform.tee_tcb_svn[0] = 3;  // below every TDX_01 level
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tcb_level_not_found);

  platform.tee_tcb_svn[0] = 6;
  platform.tee_tcb_svn[1] = 3;  // no TDX_03 identity
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tdx_module_mismatch);

  platform.tee_tcb_svn[1] = 1;
  platform.mr_signer_seam[0] = 1;  // not Intel's module signer
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tdx_module_mismatch);
}

TEST(DcapVerifier, TdxComponentsCountFromIndexTwoOnlyForVersionedModules) {
  DcapTestPlatform platform(Tee::tdx);
  platform.tee_tcb_svn = {6, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // component 2 below level 1
  auto verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->platform_level.status, "SWHardeningNeeded");  // level 2 (tdx 4,1,2)

  // Module version 0: every TDX component counts, and is matched against tdxModule.
  platform.tee_tcb_svn = {6, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  verified = verify(platform);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->platform_level.status, "OutOfDate");  // levels 1 and 2 need component 1 >= 1
  EXPECT_FALSE(verified->tdx_module->tcb_level);
  EXPECT_EQ(verified->tdx_module->id, "");

  // No level matches the TDX components.
  for (auto& tcb_level : platform.tcb_info["tcbLevels"]) tcb_level["tcb"]["tdxtcbcomponents"][2]["svn"] = 9;
  EXPECT_EQ(error_of(verify(platform)), ErrorCode::tcb_level_not_found);
}

TEST(DcapVerifier, SgxAndTdxCollateralAndQuotesDoNotMix) {
  DcapTestPlatform sgx_platform;
  DcapTestPlatform tdx_platform(Tee::tdx);
  // An SGX quote given to the TDX path and back.
  EXPECT_EQ(
      dcap::DcapVerifier(sgx_platform.options())
          .verify(sgx_platform.quote(kReportData), dcap::kTeeTypeTdx, sgx_platform.collateral(), DcapTestPlatform::kNow)
          .error()
          .code,
      ErrorCode::evidence_malformed);
  EXPECT_EQ(
      dcap::DcapVerifier(tdx_platform.options())
          .verify(tdx_platform.quote(kReportData), dcap::kTeeTypeSgx, tdx_platform.collateral(), DcapTestPlatform::kNow)
          .error()
          .code,
      ErrorCode::evidence_malformed);
  // SGX TCB info for a TDX quote.
  tdx_platform.tcb_info = sgx_platform.tcb_info;
  EXPECT_EQ(error_of(verify(tdx_platform)), ErrorCode::evidence_collateral_mismatch);
}

TEST(DcapVerifier, RegistryVerifiersCheckTheRuntimeDataBinding) {
  DcapTestPlatform platform(Tee::tdx);
  auto verifiers = make_evidence_verifiers(platform.config());
  auto verifier = find(verifiers, "tdx");
  ASSERT_TRUE(verifier);
  const auto service = test::ServiceKeys::generate("dcap-nonce");
  const auto clock = ManualClock::at_unix(DcapTestPlatform::kNow);
  auto verified = (*verifier)->verify(
      Evidence{"tdx", platform.quote(report_data_for(service.runtime_data)), service.runtime_data, "dcap-nonce"},
      platform.collateral(), VerificationContext{clock});
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto claims = to_claims_json(*verified);
  EXPECT_EQ(claims["tee"], "tdx");
  EXPECT_EQ(claims["format"], "tdx");
  EXPECT_EQ(claims["x-cloister-simulated"], false);
  EXPECT_EQ(claims["tcb_status"], "UpToDate");
  EXPECT_TRUE(claims["x-cloister-format-claims"].contains("rtmr0"));
}

}  // namespace
}  // namespace cloister::attestation
