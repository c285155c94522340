// The sgx attester under Gramine, on a temporary directory laid out like Gramine's /dev/attestation
// and holding the bytes of a real quote.

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "cloister/attestation/format_registry.h"
#include "dcap_test_platform.h"
#include "dcap_vectors.h"
#include "formats/sgx/gramine_attester.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

namespace fs = std::filesystem;

class GramineDevice {
 public:
  explicit GramineDevice(const std::string& type = "dcap") {
    fs::create_directories(dir());
    write("attestation_type", type);
    write("user_report_data", "");
  }
  fs::path dir() const { return root_.path() / "dev" / "attestation"; }
  const fs::path& root() const { return root_.path(); }
  void write(const std::string& name, const std::string& content) const {
    std::ofstream(dir() / name, std::ios::binary | std::ios::trunc) << content;
  }
  std::string read(const std::string& name) const {
    std::ifstream in(dir() / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  test::TempDir root_;
};

crypto::Bytes report_data_of_phala_quote() {
  crypto::Bytes report_data = crypto::to_bytes("Hello, world!");
  report_data.resize(64, 0);
  return report_data;
}

TEST(GramineAttester, WritesTheReportDataAndReturnsGraminesQuote) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote");
  const auto quote = test::dcap_vectors::read_vector("phala-dcap-qvl/sgx_quote");
  GramineDevice device("dcap\n");
  device.write("quote", crypto::to_string(quote));
  auto attester = make_attester("sgx", AttesterConfig{.gramine = {.root = device.root()}});
  ASSERT_TRUE(attester) << attester.error().to_string();
  EXPECT_EQ((*attester)->format_id(), "sgx");
  const auto report_data = report_data_of_phala_quote();
  auto evidence = (*attester)->evidence(report_data);
  ASSERT_TRUE(evidence) << evidence.error().to_string();
  EXPECT_EQ(*evidence, quote);
  EXPECT_EQ(device.read("user_report_data"), crypto::to_string(report_data));
}

TEST(GramineAttester, RefusesAQuoteThatDoesNotCarryTheReportData) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/sgx_quote");
  GramineDevice device;
  device.write("quote", crypto::to_string(test::dcap_vectors::read_vector("phala-dcap-qvl/sgx_quote")));
  auto attester = sgx::GramineAttester::create({.root = device.root()});
  ASSERT_TRUE(attester) << attester.error().to_string();
  const crypto::Bytes other(64, 0x5a);
  auto evidence = attester->evidence(other);
  ASSERT_FALSE(evidence);
  EXPECT_EQ(evidence.error().code, ErrorCode::internal);
  EXPECT_EQ(device.read("user_report_data"), crypto::to_string(other));  // it was written all the same
  EXPECT_EQ(attester->evidence(crypto::Bytes(32, 0)).error().code, ErrorCode::invalid_argument);
}

TEST(GramineAttester, RefusesWhatIsNotAnSgxQuote) {
  SKIP_WITHOUT_VECTORS("phala-dcap-qvl/tdx_quote");
  GramineDevice device;
  auto attester = sgx::GramineAttester::create({.root = device.root()});
  ASSERT_TRUE(attester);
  device.write("quote", crypto::to_string(test::dcap_vectors::read_vector("phala-dcap-qvl/tdx_quote")));
  EXPECT_EQ(attester->evidence(crypto::Bytes(64, 0)).error().code, ErrorCode::evidence_malformed);
  device.write("quote", "EPID quotes are not DCAP quotes");
  EXPECT_EQ(attester->evidence(crypto::Bytes(64, 0)).error().code, ErrorCode::evidence_malformed);
  fs::remove(device.dir() / "quote");
  EXPECT_EQ(attester->evidence(crypto::Bytes(64, 0)).error().code, ErrorCode::io_error);
}

TEST(GramineAttester, NeedsGramineWithDcapAttestation) {
  for (const char* type : {"none", "epid", "dcapx", ""}) {
    GramineDevice device(type);
    auto attester = sgx::GramineAttester::create({.root = device.root()});
    ASSERT_FALSE(attester) << type;
    EXPECT_EQ(attester.error().code, ErrorCode::config_invalid) << type;
  }
  test::TempDir not_gramine;
  auto attester = sgx::GramineAttester::create({.root = not_gramine.path()});
  ASSERT_FALSE(attester);
  EXPECT_EQ(attester.error().code, ErrorCode::io_error);
}

TEST(GramineAttester, EvidenceVerifiesEndToEndOnASyntheticPlatform) {
  // A synthetic quote standing in for what Gramine would produce for this report data.
  test::DcapTestPlatform platform;
  const auto service = test::ServiceKeys::generate();
  const auto report_data = report_data_for(service.runtime_data);
  GramineDevice device;
  device.write("quote", crypto::to_string(platform.quote(report_data)));
  auto attester = make_attester("sgx", AttesterConfig{.gramine = {.root = device.root()}});
  ASSERT_TRUE(attester) << attester.error().to_string();
  auto evidence = (*attester)->evidence(report_data);
  ASSERT_TRUE(evidence) << evidence.error().to_string();
  auto verifiers = make_evidence_verifiers(platform.config());
  const auto clock = ManualClock::at_unix(test::DcapTestPlatform::kNow);
  auto verified = (*find(verifiers, "sgx"))
                      ->verify(Evidence{"sgx", *evidence, service.runtime_data, std::nullopt}, platform.collateral(),
                               VerificationContext{clock});
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->claims.tee, "sgx");
}

}  // namespace
}  // namespace cloister::attestation
