// The sgx format against real SGX DCAP quotes v3 and their collateral (cases S1, S4, S5, S6, S7 of
// /work/shared/vectors/MANIFEST.md), each at an instant inside its validity window, pinned to the
// real Intel SGX Root CA.

#include <gtest/gtest.h>

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/policy.h"
#include "cloister/crypto/hash.h"
#include "dcap_vectors.h"
#include "formats/dcap/dcap_claims.h"
#include "formats/dcap/dcap_collateral.h"
#include "formats/dcap/dcap_verifier.h"
#include "formats/sgx/sgx_verifier.h"

namespace cloister::attestation {
namespace {

using test::dcap_vectors::at;
using test::dcap_vectors::read_vector;
using test::dcap_vectors::vector_path;
using test::dcap_vectors::vector_paths;

constexpr std::uint32_t kSgx = dcap::kTeeTypeSgx;

Collateral load(const std::vector<std::string>& relatives) {
  auto collateral = load_collateral_files("sgx", vector_paths(relatives));
  if (!collateral) throw std::runtime_error(collateral.error().to_string());
  return std::move(*collateral);
}

// The mobilecoin-attestation collateral of FMSPC 00906ED50000 (2023-07-12), named file by file: the
// folder also holds pretty-printed 2022 documents of another FMSPC.
const std::vector<std::string> kMobilecoinCollateral = {"mobilecoin-attestation/fmspc_00906ED50000_2023_07_12.json",
                                                        "mobilecoin-attestation/qe_identity.json",
                                                        "mobilecoin-attestation/tcb_signer.pem",
                                                        "mobilecoin-attestation/root_ca.pem",
                                                        "mobilecoin-attestation/processor_ca.pem",
                                                        "mobilecoin-attestation/processor_crl.der",
                                                        "mobilecoin-attestation/root_crl.der"};

TEST(SgxVectors, S1PhalaQuoteIsValidWithConfigurationAndSwHardeningNeeded) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote", "phala-dcap-qvl/sgx_quote_collateral.json");
  const auto quote = read_vector("phala-dcap-qvl/sgx_quote");
  const auto collateral = load({"phala-dcap-qvl/sgx_quote_collateral.json"});
  const dcap::DcapVerifier verifier({});
  for (const char* instant : {"2025-06-19T10:56:11Z", "2025-07-01T00:00:00Z", "2025-07-19T10:01:18Z"}) {
    auto verified = verifier.verify(quote, kSgx, collateral, at(instant));
    ASSERT_TRUE(verified) << instant << ": " << verified.error().to_string();
    const auto evidence = sgx::verified_evidence(*verified);
    const auto& claims = evidence.claims;
    EXPECT_EQ(claims.tee, "sgx");
    EXPECT_EQ(claims.tcb_status, "ConfigurationAndSWHardeningNeeded");
    EXPECT_EQ(claims.advisory_ids, (std::vector<std::string>{"INTEL-SA-00289", "INTEL-SA-00615"}));
    EXPECT_FALSE(claims.debuggable);
    EXPECT_TRUE(claims.measurement.starts_with("33d8736d")) << claims.measurement;
    EXPECT_TRUE(claims.measurement.ends_with("452fbb")) << claims.measurement;
    ASSERT_TRUE(claims.signer);
    EXPECT_TRUE(claims.signer->starts_with("815f42f1")) << *claims.signer;
    EXPECT_EQ(claims.product_id, 0u);
    EXPECT_EQ(claims.svn, 0u);
    crypto::Bytes report_data = crypto::to_bytes("Hello, world!");
    report_data.resize(64, 0);
    EXPECT_EQ(claims.report_data, report_data);
    const auto& format = evidence.format_claims;
    EXPECT_EQ(format[dcap::format_claim::kFmspc], "00a067110000");
    EXPECT_EQ(format[dcap::format_claim::kPckCa], "processor");
    EXPECT_EQ(format[dcap::format_claim::kQeTcbStatus], "UpToDate");
    EXPECT_EQ(format[dcap::format_claim::kQeSvn], 10);
    EXPECT_EQ(format[dcap::format_claim::kPceSvn], verified->checked.pck.pce_svn);
    EXPECT_EQ(format[dcap::format_claim::kPlatformTcbStatus], "ConfigurationAndSWHardeningNeeded");
    EXPECT_EQ(format[dcap::format_claim::kQuoteVersion], 3);
    EXPECT_EQ(format[sgx::format_claim::kAttributes].get<std::string>().substr(0, 2), "05");
    EXPECT_EQ(verified->checked.quote.trailing_size, 0u);
  }
  // Just outside the window: the QE identity has expired.
  auto late = verifier.verify(quote, kSgx, collateral, at("2025-07-19T10:01:19Z"));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::collateral_stale);
  auto early = verifier.verify(quote, kSgx, collateral, at("2025-06-19T10:56:10Z"));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::collateral_stale);
}

TEST(SgxVectors, S1ThroughTheRegistryPassesEveryFormatCheck) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote", "phala-dcap-qvl/sgx_quote_collateral.json");
  // The real quote's report data does not bind our runtime data: the shared binding check, which
  // runs only after every format check passed, is what refuses it.
  auto verifiers = make_evidence_verifiers(FormatConfig{});
  auto verifier = find(verifiers, "sgx");
  ASSERT_TRUE(verifier);
  const auto clock = ManualClock::at_unix(at("2025-07-01T00:00:00Z"));
  auto result = (*verifier)->verify(Evidence{"sgx", read_vector("phala-dcap-qvl/sgx_quote"), {}, std::nullopt},
                                    load({"phala-dcap-qvl/sgx_quote_collateral.json"}), VerificationContext{clock});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::report_data_mismatch) << result.error().to_string();
  // Without the binding (offline appraisal of a vendor quote) the registry verifier gives the claims.
  auto unbound =
      (*verifier)->verify_unbound(Evidence{"sgx", read_vector("phala-dcap-qvl/sgx_quote"), {}, std::nullopt},
                                  load({"phala-dcap-qvl/sgx_quote_collateral.json"}), VerificationContext{clock});
  ASSERT_TRUE(unbound) << unbound.error().to_string();
  EXPECT_EQ(unbound->format, "sgx");
  EXPECT_EQ(unbound->claims.tcb_status, "ConfigurationAndSWHardeningNeeded");
  // A TDX verifier refuses the SGX quote.
  auto tdx = find(verifiers, "tdx");
  ASSERT_TRUE(tdx);
  auto wrong = (*tdx)->verify(Evidence{"tdx", read_vector("phala-dcap-qvl/sgx_quote"), {}, std::nullopt},
                              load({"phala-dcap-qvl/sgx_quote_collateral.json"}), VerificationContext{clock});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::evidence_malformed);
}

TEST(SgxVectors, S4StrictFreshnessRefusesTheExpiredPckCrl) {
  SKIP_WITHOUT_VECTORS("mobilecoin-attestation/hw_quote.dat", "mobilecoin-attestation/qe_identity.json");
  const auto quote = read_vector("mobilecoin-attestation/hw_quote.dat");
  const auto collateral = load(kMobilecoinCollateral);
  auto strict = dcap::DcapVerifier({}).verify(quote, kSgx, collateral, at("2023-07-13T00:00:00Z"));
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, ErrorCode::collateral_stale) << strict.error().to_string();
  EXPECT_NE(strict.error().detail.find("PCK CRL"), std::string::npos) << strict.error().detail;
}

TEST(SgxVectors, S4IgnoringCrlFreshnessGivesSwHardeningNeeded) {
  SKIP_WITHOUT_VECTORS("mobilecoin-attestation/hw_quote.dat", "mobilecoin-attestation/qe_identity.json");
  const auto quote = read_vector("mobilecoin-attestation/hw_quote.dat");
  const auto collateral = load(kMobilecoinCollateral);
  const dcap::DcapVerifier verifier({.ignore_crl_freshness = true});
  auto verified = verifier.verify(quote, kSgx, collateral, at("2023-07-13T00:00:00Z"));
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto evidence = sgx::verified_evidence(*verified);
  EXPECT_EQ(evidence.claims.tcb_status, "SWHardeningNeeded");
  EXPECT_EQ(evidence.claims.advisory_ids, (std::vector<std::string>{"INTEL-SA-00334", "INTEL-SA-00615"}));
  EXPECT_FALSE(evidence.claims.debuggable);
  EXPECT_TRUE(evidence.claims.measurement.starts_with("840d61b0"));
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeTcbStatus], "UpToDate");
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeSvn], 9);
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kFmspc], "00906ed50000");
  // The TCB info and QE identity are still checked against the clock.
  auto before = verifier.verify(quote, kSgx, collateral, at("2023-07-12T00:00:00Z"));
  ASSERT_FALSE(before);
  EXPECT_EQ(before.error().code, ErrorCode::collateral_stale);
}

TEST(SgxVectors, S4TheWholeFolderIsAmbiguousAndThePrettyPrintedTcbInfoDoesNotVerify) {
  SKIP_WITHOUT_VECTORS("mobilecoin-attestation/hw_quote.dat", "mobilecoin-attestation/example_tcb.json");
  // The folder holds two TCB infos (and two QE identities): the loader refuses to guess.
  auto folder = load_collateral_files("sgx", vector_paths({"mobilecoin-attestation"}));
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().code, ErrorCode::invalid_argument);
  // example_tcb.json is a pretty-printed copy of a PCS response: its bytes are not what Intel signed.
  auto files = kMobilecoinCollateral;
  files[0] = "mobilecoin-attestation/example_tcb.json";
  const auto collateral = load(files);
  auto result =
      dcap::DcapVerifier({.ignore_crl_freshness = true})
          .verify(read_vector("mobilecoin-attestation/hw_quote.dat"), kSgx, collateral, at("2023-07-13T00:00:00Z"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::signature_invalid) << result.error().to_string();
}

TEST(SgxVectors, S5DebugEnclaveWithOutOfDatePlatformAndQe) {
  SKIP_WITHOUT_VECTORS("mobilecoin-sgx/hw_quote.dat", "mobilecoin-attestation/qe_identity.json");
  const auto collateral = load(kMobilecoinCollateral);
  auto verified = dcap::DcapVerifier({.ignore_crl_freshness = true})
                      .verify(read_vector("mobilecoin-sgx/hw_quote.dat"), kSgx, collateral, at("2023-07-13T00:00:00Z"));
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto evidence = sgx::verified_evidence(*verified);
  EXPECT_TRUE(evidence.claims.debuggable);
  EXPECT_EQ(evidence.claims.tcb_status, "OutOfDate");
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kPlatformTcbStatus], "OutOfDate");
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeTcbStatus], "OutOfDate");
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeSvn], 7);
  for (const char* advisory : {"INTEL-SA-00614", "INTEL-SA-00617", "INTEL-SA-00161", "INTEL-SA-00219", "INTEL-SA-00289",
                               "INTEL-SA-00334", "INTEL-SA-00615"}) {
    EXPECT_NE(std::find(evidence.claims.advisory_ids.begin(), evidence.claims.advisory_ids.end(), advisory),
              evidence.claims.advisory_ids.end())
        << advisory;
  }
  EXPECT_TRUE(evidence.claims.measurement.starts_with("1dd0df84"));
  // Any policy refuses a debug enclave, even one that admits every TCB status.
  auto permissive =
      Policy::from_json({{"tcb_statuses",
                          {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
                           "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"}}});
  ASSERT_TRUE(permissive) << permissive.error().to_string();
  auto appraisal = permissive->check(to_claims_json(evidence));
  ASSERT_FALSE(appraisal);
  EXPECT_EQ(appraisal.error().code, ErrorCode::policy_debug_not_allowed);
  auto default_policy = Policy{}.check(to_claims_json(evidence));
  ASSERT_FALSE(default_policy);
  EXPECT_EQ(default_policy.error().code, ErrorCode::policy_debug_not_allowed);
}

TEST(SgxVectors, S6OcclumDebugQuoteHasAValidChainButNoCollateral) {
  SKIP_WITHOUT_VECTORS("coco-trustee/occlum_quote.dat");
  const auto quote = read_vector("coco-trustee/occlum_quote.dat");
  const dcap::DcapVerifier verifier({});
  auto checked = verifier.check_quote(quote, kSgx, Collateral{}, at("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(checked) << checked.error().to_string();
  EXPECT_TRUE(checked->quote.sgx_body->debug());
  EXPECT_EQ(crypto::hex_encode(checked->pck.fmspc), "00606a000000");
  EXPECT_EQ(checked->pck_ca, dcap::PckCa::platform);
  EXPECT_TRUE(crypto::hex_encode(checked->quote.sgx_body->mr_enclave).starts_with("8f173e46"));
  // Without its TCB info and QE identity nothing can be claimed: refused.
  auto verified = verifier.verify(quote, kSgx, Collateral{}, at("2025-01-01T00:00:00Z"));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::collateral_missing);
  // Outside the PCK certificate's validity the chain fails.
  auto expired = verifier.check_quote(quote, kSgx, Collateral{}, at("2030-04-27T00:00:00Z"));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::cert_expired);
  auto early = verifier.check_quote(quote, kSgx, Collateral{}, at("2023-04-26T00:00:00Z"));
  ASSERT_FALSE(early);
  EXPECT_EQ(early.error().code, ErrorCode::cert_expired);
}

TEST(SgxVectors, S7SyntheticQvlSampleFailsRealRootPinning) {
  SKIP_WITHOUT_VECTORS("dstack-teekit/sgx/quote.dat", "dstack-teekit/sgx/trustedRootCaCert.pem");
  // Intel's QVL sample: a type-1 quote (PCK certificate out of band), consistent under a test root
  // that carries the real "Intel SGX Root CA" subject.
  const auto quote = read_vector("dstack-teekit/sgx/quote.dat");
  auto collateral = load_collateral_files("sgx", vector_paths({"dstack-teekit/sgx"}));
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  EXPECT_TRUE(collateral->documents.contains("pck_certificate_chain"));
  const auto instant = at("2020-06-01T00:00:00Z");
  auto pinned_to_intel = dcap::DcapVerifier({}).verify(quote, kSgx, *collateral, instant);
  ASSERT_FALSE(pinned_to_intel);
  EXPECT_EQ(pinned_to_intel.error().code, ErrorCode::cert_chain_invalid) << pinned_to_intel.error().to_string();
  // Pinning the sample's own test root shows that pinning is the only thing that fails.
  auto test_root =
      crypto::Certificate::from_pem(crypto::to_string(read_vector("dstack-teekit/sgx/trustedRootCaCert.pem")));
  ASSERT_TRUE(test_root);
  EXPECT_NE(test_root->public_key(), dcap::DcapVerifier({}).root_cas().front().public_key());
  auto pinned_to_test = dcap::DcapVerifier({.root_cas = {*test_root}}).verify(quote, kSgx, *collateral, instant);
  ASSERT_TRUE(pinned_to_test) << pinned_to_test.error().to_string();
  EXPECT_EQ(pinned_to_test->tcb_info.version, 2);  // the sample's TCB info is v2 (sgxtcbcompNNsvn)
  EXPECT_EQ(pinned_to_test->tcb_status, "UpToDate");
  // Without the out-of-band PCK chain a type-1 quote cannot be checked.
  auto missing = dcap::DcapVerifier({}).check_quote(quote, kSgx, Collateral{}, instant);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::collateral_missing);
}

}  // namespace
}  // namespace cloister::attestation
