// Reading DCAP collateral: the dcap-qvl bundle, PCS responses and certificate / CRL files (as the
// CLI's --collateral FILE|DIR does), and the operator's collateral store keyed by FMSPC and PCK CA.

#include "formats/dcap/dcap_collateral.h"

#include <gtest/gtest.h>

#include <fstream>

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/hash.h"
#include "dcap_test_platform.h"
#include "dcap_vectors.h"
#include "formats/dcap/dcap_verifier.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

namespace fs = std::filesystem;
using test::dcap_vectors::at;
using test::dcap_vectors::read_vector;
using test::dcap_vectors::vector_path;
using test::dcap_vectors::vector_paths;

void copy_vector(const std::string& relative, const fs::path& destination) {
  fs::create_directories(destination.parent_path());
  fs::copy_file(vector_path(relative), destination, fs::copy_options::overwrite_existing);
}

void write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

TEST(DcapCollateral, TheDcapQvlBundleIsReadAsIs) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote_collateral.json");
  auto collateral = load_collateral_files("sgx", vector_paths({"phala-dcap-qvl/sgx_quote_collateral.json"}));
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  const auto bundle = nlohmann::json::parse(crypto::to_string(read_vector("phala-dcap-qvl/sgx_quote_collateral.json")));
  for (const char* member :
       {"pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain", "tcb_info", "tcb_info_signature",
        "qe_identity_issuer_chain", "qe_identity", "qe_identity_signature"}) {
    EXPECT_EQ(collateral->documents[member], bundle[member]) << member;
  }
  auto decoded = dcap::decode_collateral(*collateral);
  ASSERT_TRUE(decoded) << decoded.error().to_string();
  EXPECT_EQ(decoded->tcb_info.signature.size(), 64u);
  EXPECT_EQ(decoded->tcb_info.issuer_chain.size(), 2u);
}

TEST(DcapCollateral, PcsFilesAreRecognisedByContent) {
  SKIP_WITHOUT_VECTORS("google-go-tdx-guest/sample_tcbInfo_response", "google-go-tdx-guest/pckcrl");
  auto collateral = load_collateral_files(
      "tdx",
      vector_paths({"google-go-tdx-guest/sample_tcbInfo_response", "google-go-tdx-guest/sample_qeIdentity_response",
                    "google-go-tdx-guest/tcbinfo_issuer_chain.pem", "google-go-tdx-guest/pckcrl",
                    "google-go-tdx-guest/pckcrl_issuer_chain.pem", "google-go-tdx-guest/rootcrl.der",
                    "google-go-tdx-guest/trusted_root.pem"}));
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  const auto& documents = collateral->documents;
  // The signed text is the exact bytes of the "tcbInfo" value in the response body.
  const auto response = crypto::to_string(read_vector("google-go-tdx-guest/sample_tcbInfo_response"));
  const std::string tcb_info = documents["tcb_info"];
  EXPECT_NE(response.find(tcb_info), std::string::npos);
  EXPECT_TRUE(tcb_info.starts_with("{\"id\":\"TDX\""));
  EXPECT_EQ(documents["tcb_info_signature"], nlohmann::json::parse(response)["signature"]);
  EXPECT_TRUE(documents["qe_identity"].get<std::string>().starts_with("{\"id\":\"TD_QE\""));
  // Chains: the signer, then the root.
  auto chain = crypto::Certificate::chain_from_pem(documents["tcb_info_issuer_chain"].get<std::string>());
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 2u);
  EXPECT_NE((*chain)[0].subject().find("TCB Signing"), std::string::npos);
  EXPECT_NE((*chain)[1].subject().find("Root CA"), std::string::npos);
  EXPECT_EQ(documents["qe_identity_issuer_chain"], documents["tcb_info_issuer_chain"]);
  EXPECT_NE(documents["pck_crl_issuer_chain"].get<std::string>().find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_EQ(documents["pck_crl"], crypto::hex_encode(read_vector("google-go-tdx-guest/pckcrl")));
  EXPECT_EQ(documents["root_ca_crl"], crypto::hex_encode(read_vector("google-go-tdx-guest/rootcrl.der")));
  // The same files as SGX collateral: the TDX TCB info and TD_QE identity are not SGX's.
  auto as_sgx = load_collateral_files("sgx", vector_paths({"google-go-tdx-guest/sample_tcbInfo_response"}));
  ASSERT_FALSE(as_sgx);
  EXPECT_EQ(as_sgx.error().code, ErrorCode::bad_encoding);
}

TEST(DcapCollateral, ADirectoryContributesWhatItRecognises) {
  SKIP_WITHOUT_VECTORS("dstack-teekit/sgx/qveIdentity.json", "google-go-tdx-guest/sample_tcbinfo_response_v5");
  // dstack-teekit/sgx: the quote, DER and PEM copies of each CRL, a QvE identity (skipped), the
  // out-of-band PCK certificate and its chain.
  auto sgx = load_collateral_files("sgx", vector_paths({"dstack-teekit/sgx"}));
  ASSERT_TRUE(sgx) << sgx.error().to_string();
  EXPECT_TRUE(sgx->documents["qe_identity"].get<std::string>().starts_with("{\"id\":\"QE\""));
  auto pck_chain = crypto::Certificate::chain_from_pem(sgx->documents["pck_certificate_chain"].get<std::string>());
  ASSERT_TRUE(pck_chain);
  EXPECT_NE((*pck_chain)[0].subject().find("PCK Certificate"), std::string::npos);
  // google-go-tdx-guest holds two TDX TCB infos: the loader does not guess which one is meant.
  auto google = load_collateral_files("tdx", vector_paths({"google-go-tdx-guest"}));
  ASSERT_FALSE(google);
  EXPECT_EQ(google.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(google.error().detail.find("tcb_info"), std::string::npos) << google.error().detail;
}

TEST(DcapCollateral, FileErrors) {
  test::TempDir directory;
  EXPECT_EQ(load_collateral_files("sgx", {}).error().code, ErrorCode::collateral_missing);
  EXPECT_EQ(load_collateral_files("sgx", {directory.path()}).error().code, ErrorCode::collateral_missing);
  EXPECT_EQ(load_collateral_files("sgx", {directory.path() / "absent.json"}).error().code, ErrorCode::io_error);
  write(directory.path() / "notes.txt", "hello");
  EXPECT_EQ(load_collateral_files("tdx", {directory.path() / "notes.txt"}).error().code, ErrorCode::bad_encoding);
  write(directory.path() / "broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(load_collateral_files("sgx", {directory.path() / "broken.pem"}).error().code, ErrorCode::bad_encoding);
  write(directory.path() / "bundle.json", R"({"tcb_info": 5})");
  EXPECT_EQ(load_collateral_files("sgx", {directory.path() / "bundle.json"}).error().code, ErrorCode::bad_encoding);
}

TEST(DcapCollateral, SyntheticCollateralRoundTripsThroughFiles) {
  test::DcapTestPlatform platform;
  const auto collateral = platform.collateral();
  test::TempDir directory;
  // A bundle file, then the same pieces as PCS-shaped files: both give the same documents.
  write(directory.path() / "bundle" / "collateral.json", collateral.documents.dump());
  auto from_bundle = load_collateral_files("sgx", {directory.path() / "bundle"});
  ASSERT_TRUE(from_bundle) << from_bundle.error().to_string();
  EXPECT_EQ(from_bundle->documents, collateral.documents);

  const auto pcs = directory.path() / "pcs";
  const std::string tcb_info = collateral.documents["tcb_info"];
  const std::string qe_identity = collateral.documents["qe_identity"];
  write(pcs / "tcb.json", "{\"tcbInfo\":" + tcb_info + ",\"signature\":\"" +
                              collateral.documents["tcb_info_signature"].get<std::string>() + "\"}");
  write(pcs / "qe.json", "{\"enclaveIdentity\":" + qe_identity + ",\"signature\":\"" +
                             collateral.documents["qe_identity_signature"].get<std::string>() + "\"}");
  write(pcs / "tcb_chain.pem", platform.tcb_signing.pem() + platform.root.pem());
  write(pcs / "pck_ca.pem", platform.pck_ca.pem());
  const auto root_crl = crypto::hex_decode(collateral.documents["root_ca_crl"].get<std::string>()).value();
  const auto pck_crl = crypto::hex_decode(collateral.documents["pck_crl"].get<std::string>()).value();
  write(pcs / "root.crl", crypto::to_string(root_crl));
  write(pcs / "pck.crl", crypto::to_string(pck_crl));
  auto from_files = load_collateral_files("sgx", {pcs});
  ASSERT_TRUE(from_files) << from_files.error().to_string();
  for (const char* member : {"tcb_info", "tcb_info_signature", "qe_identity", "qe_identity_signature", "root_ca_crl",
                             "pck_crl", "tcb_info_issuer_chain", "qe_identity_issuer_chain", "pck_crl_issuer_chain"}) {
    EXPECT_EQ(from_files->documents[member], collateral.documents[member]) << member;
  }
  auto verified =
      dcap::DcapVerifier(platform.options())
          .verify(platform.quote(crypto::Bytes(64, 3)), dcap::kTeeTypeSgx, *from_files, test::DcapTestPlatform::kNow);
  EXPECT_TRUE(verified) << verified.error().to_string();
  // A conflicting second TCB info.
  write(pcs / "tcb2.json", "{\"tcbInfo\":" + tcb_info + " ,\"signature\":\"00\"}");
  EXPECT_EQ(load_collateral_files("sgx", {pcs}).error().code, ErrorCode::invalid_argument);
}

TEST(DcapCollateral, StoreLookupByFmspcAndCaForSgx) {
  SKIP_WITHOUT_VECTORS("mobilecoin-attestation/hw_quote.dat",
                       "mobilecoin-attestation/fmspc_00906ED50000_2023_07_12.json");
  test::TempDir store;
  copy_vector("mobilecoin-attestation/root_crl.der", store.path() / "root_ca_crl.der");
  copy_vector("mobilecoin-attestation/tcb_signer.pem", store.path() / "tcb_signing_chain.pem");
  copy_vector("mobilecoin-attestation/processor_crl.pem", store.path() / "pck_crl" / "processor.der");  // PEM works too
  copy_vector("mobilecoin-attestation/qe_identity.json", store.path() / "sgx" / "qe_identity.json");
  copy_vector("mobilecoin-attestation/fmspc_00906ED50000_2023_07_12.json",
              store.path() / "sgx" / "tcb_info" / "00906ed50000.json");
  const auto quote = read_vector("mobilecoin-attestation/hw_quote.dat");
  auto collateral = load_collateral_store("sgx", store.path(), quote);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  auto verified = dcap::DcapVerifier({.ignore_crl_freshness = true})
                      .verify(quote, dcap::kTeeTypeSgx, *collateral, at("2023-07-13T00:00:00Z"));
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "SWHardeningNeeded");

  // Another FMSPC (the occlum quote's 00606a000000, Platform CA) has nothing in this store.
  SKIP_WITHOUT_VECTORS("coco-trustee/occlum_quote.dat");
  auto other = load_collateral_store("sgx", store.path(), read_vector("coco-trustee/occlum_quote.dat"));
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::collateral_missing);
  // A TDX quote is not an SGX quote; garbage is no quote.
  EXPECT_EQ(load_collateral_store("tdx", store.path(), quote).error().code, ErrorCode::evidence_malformed);
  EXPECT_EQ(load_collateral_store("sgx", store.path(), crypto::Bytes(100, 1)).error().code,
            ErrorCode::evidence_malformed);
}

TEST(DcapCollateral, StoreLookupForTdx) {
  SKIP_WITHOUT_VECTORS("coco-trustee/tdx_quote_4.dat", "google-go-tdx-guest/sample_tcbInfo_response");
  test::TempDir store;
  copy_vector("google-go-tdx-guest/rootcrl.der", store.path() / "root_ca_crl.der");
  copy_vector("google-go-tdx-guest/tcbinfo_issuer_chain.pem", store.path() / "tcb_signing_chain.pem");
  copy_vector("google-go-tdx-guest/pckcrl", store.path() / "pck_crl" / "platform.der");
  copy_vector("google-go-tdx-guest/sample_qeIdentity_response", store.path() / "tdx" / "qe_identity.json");
  copy_vector("google-go-tdx-guest/sample_tcbInfo_response", store.path() / "tdx" / "tcb_info" / "50806f000000.json");
  copy_vector("google-go-tdx-guest/sample_tcbinfo_response_v5",
              store.path() / "tdx" / "tcb_info" / "90c06f000000.json");
  const auto quote = read_vector("coco-trustee/tdx_quote_4.dat");
  auto collateral = load_collateral_store("tdx", store.path(), quote);
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  auto verified = dcap::DcapVerifier({}).verify(quote, dcap::kTeeTypeTdx, *collateral, at("2023-07-01T00:00:00Z"));
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->tcb_status, "UpToDate");
  fs::remove(store.path() / "pck_crl" / "platform.der");
  auto missing = load_collateral_store("tdx", store.path(), quote);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::collateral_missing);
  EXPECT_NE(missing.error().detail.find("platform.der"), std::string::npos);
}

}  // namespace
}  // namespace cloister::attestation
