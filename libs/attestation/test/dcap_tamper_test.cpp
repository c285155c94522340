// Tampering with real DCAP quotes: a flipped bit anywhere a verifier relies on (header, body, quote
// signature, attestation key, QE report and its signature, QE auth data and its size, the length
// fields, the certification data holding the PCK chain) must be refused with a malformed /
// signature / chain code, and must never crash; every truncation is evidence_malformed; bytes after
// the quote are ignored.

#include <gtest/gtest.h>

#include <set>

#include "cloister/attestation/format_registry.h"
#include "dcap_test_platform.h"
#include "dcap_vectors.h"
#include "formats/dcap/dcap_verifier.h"

namespace cloister::attestation {
namespace {

using test::dcap_vectors::at;
using test::dcap_vectors::read_vector;
using test::dcap_vectors::vector_paths;

struct Case {
  const char* name;
  const char* quote;
  const char* collateral;
  const char* format;
  std::uint32_t tee_type;
  const char* instant;
  std::size_t certification_stride;  // every byte elsewhere; every n-th byte of the PEM chain
};

// S1 is flipped everywhere; T1 and V1 (same PEM chain layout) sample their PEM chain to keep the
// test fast under the sanitizers.
const Case kCases[] = {
    {"S1 (SGX v3)", "phala-dcap-qvl/sgx_quote", "phala-dcap-qvl/sgx_quote_collateral.json", "sgx", dcap::kTeeTypeSgx,
     "2025-07-01T00:00:00Z", 1},
    {"T1 (TDX v4)", "phala-dcap-qvl/tdx_quote", "phala-dcap-qvl/tdx_quote_collateral.json", "tdx", dcap::kTeeTypeTdx,
     "2025-07-05T00:00:00Z", 5},
    {"V1 (TDX v5)", "google-go-tdx-guest/quote_v5_sample.dat", "phala-dcap-qvl/tdx_quote_outdated_collateral.json",
     "tdx", dcap::kTeeTypeTdx, "2026-03-01T00:00:00Z", 5},
};

// Where the certification data type field is (a flip there may turn the PCK chain into "no chain
// in the quote", which then needs the pck_certificate_chain collateral member).
std::set<std::size_t> certification_type_offsets(const dcap::Quote& quote) {
  const std::size_t signature_data = quote.signed_data.size() + 4;
  const std::size_t qe_part = signature_data + 128 + (quote.header.version == 3 ? 0 : 6);
  const std::size_t type = qe_part + 384 + 64 + 2 + quote.qe_auth_data.size();
  return {type, type + 1};
}

// Offset of the certification data (the PEM chain) in the quote.
std::size_t certification_data_offset(const dcap::Quote& quote) {
  return *certification_type_offsets(quote).begin() + 6;
}

class DcapTamper : public ::testing::TestWithParam<Case> {};

TEST_P(DcapTamper, EveryFlippedBitIsRefused) {
  const Case& c = GetParam();
  SKIP_WITHOUT_VECTORS(c.quote, c.collateral);
  const auto original = read_vector(c.quote);
  auto collateral = load_collateral_files(c.format, vector_paths({c.collateral}));
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  const dcap::DcapVerifier verifier({});
  const auto now = at(c.instant);
  auto baseline = verifier.verify(original, c.tee_type, *collateral, now);
  ASSERT_TRUE(baseline) << baseline.error().to_string();
  const dcap::Quote& quote = baseline->checked.quote;
  const auto type_offsets = certification_type_offsets(quote);
  const std::set<ErrorCode> allowed{ErrorCode::evidence_malformed, ErrorCode::evidence_signature_invalid,
                                    ErrorCode::evidence_untrusted_platform, ErrorCode::cert_chain_invalid};

  const std::size_t chain_start = certification_data_offset(quote);
  for (std::size_t offset = 0; offset < quote.size;
       offset +=
       offset >= chain_start + 1 && offset + c.certification_stride < quote.size - 1 ? c.certification_stride : 1) {
    auto tampered = original;
    tampered[offset] ^= 0x01;
    auto result = verifier.verify(tampered, c.tee_type, *collateral, now);
    ASSERT_FALSE(result) << c.name << ": flipping offset " << offset << " went unnoticed";
    const ErrorCode code = result.error().code;
    const bool ok = allowed.contains(code) || (type_offsets.contains(offset) && code == ErrorCode::collateral_missing);
    EXPECT_TRUE(ok) << c.name << ": offset " << offset << ": " << result.error().to_string();
  }
  // Bytes after the quote are not part of it.
  for (std::size_t offset = quote.size; offset < original.size(); ++offset) {
    auto padded = original;
    padded[offset] ^= 0xff;
    EXPECT_TRUE(verifier.verify(padded, c.tee_type, *collateral, now)) << "trailing offset " << offset;
  }
}

TEST_P(DcapTamper, EveryTruncationIsMalformed) {
  const Case& c = GetParam();
  SKIP_WITHOUT_VECTORS(c.quote, c.collateral);
  const auto original = read_vector(c.quote);
  auto collateral = load_collateral_files(c.format, vector_paths({c.collateral}));
  ASSERT_TRUE(collateral) << collateral.error().to_string();
  const dcap::DcapVerifier verifier({});
  auto parsed = dcap::parse_quote(original);
  ASSERT_TRUE(parsed);
  for (std::size_t size = 0; size < parsed->size; ++size) {
    const crypto::Bytes truncated(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(size));
    auto result = verifier.verify(truncated, c.tee_type, *collateral, at(c.instant));
    ASSERT_FALSE(result) << size;
    EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed) << size << ": " << result.error().to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(RealQuotes, DcapTamper, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return std::string(info.param.format) + std::to_string(info.index);
                         });

// The same on synthetic quotes of the shapes no real vector has: SGX v4 and v5, TDX v5 with TD 1.0.
class DcapSyntheticTamper : public ::testing::TestWithParam<std::tuple<test::DcapTestPlatform::Tee, int, int>> {};

TEST_P(DcapSyntheticTamper, EveryFlippedByteIsRefused) {
  const auto [tee, version, body_type] = GetParam();
  test::DcapTestPlatform platform(tee, static_cast<std::uint16_t>(version), static_cast<std::uint16_t>(body_type));
  const auto tee_type = tee == test::DcapTestPlatform::Tee::sgx ? dcap::kTeeTypeSgx : dcap::kTeeTypeTdx;
  const crypto::Bytes report_data(64, 0x42);
  const auto original = platform.quote(report_data);
  const auto collateral = platform.collateral();
  const dcap::DcapVerifier verifier(platform.options());
  auto baseline = verifier.verify(original, tee_type, collateral, platform.kNow);
  ASSERT_TRUE(baseline) << baseline.error().to_string();
  const auto type_offsets = certification_type_offsets(baseline->checked.quote);
  const std::size_t chain_start = certification_data_offset(baseline->checked.quote);
  for (std::size_t offset = 0; offset<original.size(); offset += offset> chain_start ? 7 : 1) {
    auto tampered = original;
    tampered[offset] ^= 0x04;
    auto result = verifier.verify(tampered, tee_type, collateral, platform.kNow);
    ASSERT_FALSE(result) << "offset " << offset;
    const ErrorCode code = result.error().code;
    EXPECT_TRUE(code == ErrorCode::evidence_malformed || code == ErrorCode::evidence_signature_invalid ||
                code == ErrorCode::evidence_untrusted_platform || code == ErrorCode::cert_chain_invalid ||
                (type_offsets.contains(offset) && code == ErrorCode::collateral_missing))
        << "offset " << offset << ": " << result.error().to_string();
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DcapSyntheticTamper,
                         ::testing::Values(std::make_tuple(test::DcapTestPlatform::Tee::sgx, 4, 0),
                                           std::make_tuple(test::DcapTestPlatform::Tee::sgx, 5, 1),
                                           std::make_tuple(test::DcapTestPlatform::Tee::tdx, 5, 2)));

}  // namespace
}  // namespace cloister::attestation
