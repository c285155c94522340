// The tdx format against real TDX DCAP quotes v4 and v5 and their collateral (cases T1–T4, V1, V3 of
// /work/shared/vectors/MANIFEST.md), each at an instant inside its validity window, pinned to the
// real Intel SGX Root CA.

#include <gtest/gtest.h>

#include "cloister/attestation/format_registry.h"
#include "cloister/attestation/policy.h"
#include "cloister/crypto/hash.h"
#include "dcap_vectors.h"
#include "formats/dcap/dcap_claims.h"
#include "formats/dcap/dcap_verifier.h"
#include "formats/tdx/tdx_verifier.h"

namespace cloister::attestation {
namespace {

using test::dcap_vectors::at;
using test::dcap_vectors::read_vector;
using test::dcap_vectors::vector_paths;

constexpr std::uint32_t kTdx = dcap::kTeeTypeTdx;

Collateral load(const std::vector<std::string>& relatives) {
  auto collateral = load_collateral_files("tdx", vector_paths(relatives));
  if (!collateral) throw std::runtime_error(collateral.error().to_string());
  return std::move(*collateral);
}

// go-tdx-guest's collateral for FMSPC 50806f000000 (June 2023), file by file: the folder also holds
// the TCB info of FMSPC 90c06f000000.
const std::vector<std::string> kGoogleCollateral = {
    "google-go-tdx-guest/sample_tcbInfo_response",  "google-go-tdx-guest/sample_qeIdentity_response",
    "google-go-tdx-guest/tcbinfo_issuer_chain.pem", "google-go-tdx-guest/pckcrl",
    "google-go-tdx-guest/pckcrl_issuer_chain.pem",  "google-go-tdx-guest/rootcrl.der"};

const std::vector<std::string> kEdgelessCollateral = {
    "edgeless-go-tdx-qpl/tcbinfo.json", "edgeless-go-tdx-qpl/qeidentity.json",
    "edgeless-go-tdx-qpl/tcbSigningChain.pem", "edgeless-go-tdx-qpl/pckCrlSigningChain.pem",
    "edgeless-go-tdx-qpl/pckcrl_from_blobs_go.der"};

TEST(TdxVectors, T1PhalaV4QuoteIsUpToDate) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/tdx_quote", "phala-dcap-qvl/tdx_quote_collateral.json");
  const auto quote = read_vector("phala-dcap-qvl/tdx_quote");
  const auto collateral = load({"phala-dcap-qvl/tdx_quote_collateral.json"});
  const dcap::DcapVerifier verifier({});
  for (const char* instant : {"2025-06-19T10:32:27Z", "2025-07-05T00:00:00Z", "2025-07-19T10:00:35Z"}) {
    auto verified = verifier.verify(quote, kTdx, collateral, at(instant));
    ASSERT_TRUE(verified) << instant << ": " << verified.error().to_string();
    const auto evidence = tdx::verified_evidence(*verified);
    EXPECT_EQ(evidence.claims.tee, "tdx");
    EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
    EXPECT_TRUE(evidence.claims.advisory_ids.empty());
    EXPECT_FALSE(evidence.claims.debuggable);
    EXPECT_FALSE(evidence.claims.signer);
    EXPECT_EQ(evidence.claims.measurement.size(), 96u);
    EXPECT_EQ(evidence.claims.measurement, crypto::hex_encode(verified->checked.quote.td_body->mr_td));
    const auto& format = evidence.format_claims;
    EXPECT_EQ(format[dcap::format_claim::kFmspc], "b0c06f000000");
    EXPECT_EQ(format[dcap::format_claim::kPckCa], "platform");
    EXPECT_EQ(format[dcap::format_claim::kQeTcbStatus], "UpToDate");
    EXPECT_EQ(format[tdx::format_claim::kTdReportVersion], "1.0");
    EXPECT_EQ(format[tdx::format_claim::kTdAttributes], "0000001000000000");
    EXPECT_EQ(format[tdx::format_claim::kTeeTcbSvn].get<std::string>().substr(0, 6), "060103");
    EXPECT_EQ(format[tdx::format_claim::kRtmr[3]], std::string(96, '0'));
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["id"], "TDX_01");
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["isv_svn"], 6);
    EXPECT_EQ(format[tdx::format_claim::kTdxModule]["tcb_status"], "UpToDate");
    // The quote comes in a buffer with 70 zero bytes after it: tolerated, ignored.
    EXPECT_EQ(verified->checked.quote.trailing_size, 70u);
  }
  auto late = verifier.verify(quote, kTdx, collateral, at("2025-07-19T10:00:36Z"));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, ErrorCode::collateral_stale);
}

TEST(TdxVectors, T2EdgelessQuoteNeedsARootCaCrl) {
  SKIP_WITHOUT_VECTORS("edgeless-go-tdx-qpl/quote", "edgeless-go-tdx-qpl/tcbinfo.json");
  // No Intel root CA CRL of February 2023 is in the corpus: the collateral is incomplete.
  auto incomplete = load_collateral_files("tdx", vector_paths(kEdgelessCollateral));
  ASSERT_FALSE(incomplete);
  EXPECT_EQ(incomplete.error().code, ErrorCode::collateral_missing);
  EXPECT_NE(incomplete.error().detail.find("root_ca_crl"), std::string::npos);
  auto folder = load_collateral_files("tdx", vector_paths({"edgeless-go-tdx-qpl"}));
  ASSERT_FALSE(folder);
  EXPECT_EQ(folder.error().code, ErrorCode::collateral_missing);
}

TEST(TdxVectors, T2EdgelessQuoteIsUpToDateWithTheLaterRootCrlWhenCrlDatesAreIgnored) {
  SKIP_WITHOUT_VECTORS("edgeless-go-tdx-qpl/quote", "edgeless-go-tdx-qpl/tcbinfo.json",
                       "google-go-tdx-guest/rootcrl.der");
  const auto quote = read_vector("edgeless-go-tdx-qpl/quote");
  auto files = kEdgelessCollateral;
  files.push_back("google-go-tdx-guest/rootcrl.der");  // issued 2023-04-03, after the window
  const auto collateral = load(files);
  const auto instant = at("2023-02-20T00:00:00Z");
  auto strict = dcap::DcapVerifier({}).verify(quote, kTdx, collateral, instant);
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().code, ErrorCode::collateral_stale) << strict.error().to_string();
  auto verified = dcap::DcapVerifier({.ignore_crl_freshness = true}).verify(quote, kTdx, collateral, instant);
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto evidence = tdx::verified_evidence(*verified);
  EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
  EXPECT_FALSE(evidence.claims.debuggable);
  crypto::Bytes report_data = crypto::to_bytes("Hello from Edgeless Systems!");
  report_data.resize(64, 0);
  EXPECT_EQ(evidence.claims.report_data, report_data);
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kFmspc], "00806f050000");
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeSvn], 4);
  EXPECT_EQ(evidence.format_claims[dcap::format_claim::kTcbDate], "2022-11-09T00:00:00Z");
  // TEE_TCB_SVN[1] = 0: the module is matched against tcbInfo.tdxModule, without a versioned identity.
  EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTdxModule]["id"], "");
  EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTdxModule]["version"], 0);
  for (const char* instant_text : {"2023-02-17T10:24:45Z", "2023-03-15T12:15:18Z"}) {
    EXPECT_TRUE(dcap::DcapVerifier({.ignore_crl_freshness = true}).verify(quote, kTdx, collateral, at(instant_text)))
        << instant_text;
  }
  auto after =
      dcap::DcapVerifier({.ignore_crl_freshness = true}).verify(quote, kTdx, collateral, at("2023-03-19T10:24:46Z"));
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::collateral_stale);
}

TEST(TdxVectors, T3TrusteeDebugTdIsUpToDateButRefusedByPolicy) {
  SKIP_WITHOUT_VECTORS("coco-trustee/tdx_quote_4.dat", "google-go-tdx-guest/sample_tcbInfo_response");
  const auto collateral = load(kGoogleCollateral);
  for (const char* instant : {"2023-06-18T08:42:58Z", "2023-07-01T01:00:00Z", "2023-07-08T07:24:59Z"}) {
    auto verified =
        dcap::DcapVerifier({}).verify(read_vector("coco-trustee/tdx_quote_4.dat"), kTdx, collateral, at(instant));
    ASSERT_TRUE(verified) << instant << ": " << verified.error().to_string();
    const auto evidence = tdx::verified_evidence(*verified);
    EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
    EXPECT_TRUE(evidence.claims.debuggable);
    EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQeTcbStatus], "UpToDate");
    auto appraisal = Policy{}.check(to_claims_json(evidence));
    ASSERT_FALSE(appraisal);
    EXPECT_EQ(appraisal.error().code, ErrorCode::policy_debug_not_allowed);
  }
}

TEST(TdxVectors, T4SapphireRapidsQuoteHasNoMatchingTcbLevel) {
  SKIP_WITHOUT_VECTORS("google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat", "google-go-tdx-guest/sample_tcbInfo_response");
  const auto quote = read_vector("google-go-tdx-guest/tdx_prod_quote_SPR_E4.dat");
  const auto collateral = load(kGoogleCollateral);
  const dcap::DcapVerifier verifier({});
  // Everything cryptographic holds (and the 39 bytes of text after the quote are ignored) …
  auto checked = verifier.check_quote(quote, kTdx, collateral, at("2023-07-01T01:00:00Z"));
  ASSERT_TRUE(checked) << checked.error().to_string();
  EXPECT_EQ(checked->quote.trailing_size, 39u);
  // … but no TCB level admits the platform's SGX components.
  auto verified = verifier.verify(quote, kTdx, collateral, at("2023-07-01T01:00:00Z"));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::tcb_level_not_found) << verified.error().to_string();
  // go-tdx-guest's far-future check: the PCK certificate has expired.
  auto expired = verifier.check_quote(quote, kTdx, collateral, at("2053-07-01T00:00:00Z"));
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error().code, ErrorCode::cert_expired);
}

TEST(TdxVectors, V1GoogleV5QuoteIsUpToDate) {
  SKIP_WITHOUT_VECTORS("google-go-tdx-guest/quote_v5_sample.dat", "phala-dcap-qvl/tdx_quote_outdated_collateral.json");
  const auto collateral = load({"phala-dcap-qvl/tdx_quote_outdated_collateral.json"});
  for (const char* instant : {"2026-02-18T10:58:51Z", "2026-03-01T00:00:00Z", "2026-03-20T10:41:15Z"}) {
    auto verified = dcap::DcapVerifier({}).verify(read_vector("google-go-tdx-guest/quote_v5_sample.dat"), kTdx,
                                                  collateral, at(instant));
    ASSERT_TRUE(verified) << instant << ": " << verified.error().to_string();
    const auto evidence = tdx::verified_evidence(*verified);
    EXPECT_EQ(evidence.claims.tcb_status, "UpToDate");
    EXPECT_FALSE(evidence.claims.debuggable);
    EXPECT_EQ(evidence.format_claims[dcap::format_claim::kQuoteVersion], 5);
    EXPECT_EQ(evidence.format_claims[dcap::format_claim::kFmspc], "90c06f000000");
    EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTdReportVersion], "1.5");
    EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTeeTcbSvn2].get<std::string>().substr(0, 6), "0d0104");
    EXPECT_EQ(evidence.format_claims[tdx::format_claim::kMrServiceTd], std::string(96, '0'));
    EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTdxModule]["id"], "TDX_01");
    EXPECT_EQ(evidence.format_claims[tdx::format_claim::kTdxModule]["tcb_status"], "UpToDate");
  }
}

TEST(TdxVectors, V3PhalaOutdatedV5QuoteHasNoMatchingTcbLevel) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/tdx_quote_outdated", "phala-dcap-qvl/tdx_quote_outdated_collateral.json");
  const auto quote = read_vector("phala-dcap-qvl/tdx_quote_outdated");
  const auto collateral = load({"phala-dcap-qvl/tdx_quote_outdated_collateral.json"});
  const dcap::DcapVerifier verifier({});
  auto checked = verifier.check_quote(quote, kTdx, collateral, at("2026-03-01T00:00:00Z"));
  ASSERT_TRUE(checked) << checked.error().to_string();
  auto verified = verifier.verify(quote, kTdx, collateral, at("2026-03-01T00:00:00Z"));
  ASSERT_FALSE(verified);
  EXPECT_EQ(verified.error().code, ErrorCode::tcb_level_not_found) << verified.error().to_string();
}

TEST(TdxVectors, ChainOnlyQuotesVerifyInTheirPckValidity) {
  SKIP_WITHOUT_VECTORS("coco-trustee/tdx_quote_5.dat", "google-go-tdx-guest/ccel/cos-113-tdx-quote.dat");
  const dcap::DcapVerifier verifier({});
  auto trustee_v5 =
      verifier.check_quote(read_vector("coco-trustee/tdx_quote_5.dat"), kTdx, {}, at("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(trustee_v5) << trustee_v5.error().to_string();
  EXPECT_EQ(trustee_v5->quote.body_type, dcap::BodyType::td15);
  // GCP's 8000-byte buffer: 3065 zero bytes after the quote.
  auto gcp = verifier.check_quote(read_vector("google-go-tdx-guest/ccel/cos-113-tdx-quote.dat"), kTdx, {},
                                  at("2025-01-01T00:00:00Z"));
  ASSERT_TRUE(gcp) << gcp.error().to_string();
  EXPECT_EQ(gcp->quote.trailing_size, 3065u);
}

TEST(TdxVectors, SyntheticQvlTdxSampleIsRefused) {
  SKIP_WITHOUT_VECTORS("dstack-teekit/tdx/quote.dat");
  // Its PCK chain is DER, root first — not the PEM chain real quotes carry.
  auto result = dcap::DcapVerifier({}).check_quote(read_vector("dstack-teekit/tdx/quote.dat"), kTdx, {},
                                                   at("2025-01-01T00:00:00Z"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed) << result.error().to_string();
}

}  // namespace
}  // namespace cloister::attestation
