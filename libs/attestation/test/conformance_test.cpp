// The conformance tests every evidence format's verifier must pass. A format adds a traits struct
// below and one entry in FormatTraitsList.
//
// A traits struct provides:
//   static constexpr std::string_view kFormat;            the format id
//   static constexpr bool kTrailingBytesRejected;          whether bytes after the evidence are refused
//   explicit Traits();                                     sets up whatever the format needs
//   FormatConfig config() const;                           configures make_evidence_verifiers
//   crypto::Bytes evidence_for(crypto::BytesView report_data);  valid evidence with that report data
// and may provide
//   Collateral collateral() const;                         the collateral that evidence needs (else none)

#include <gtest/gtest.h>

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/hash.h"
#include "dcap_test_platform.h"
#include "snp_test_platform.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

struct SimTraits {
  static constexpr std::string_view kFormat = "sim";
  static constexpr bool kTrailingBytesRejected = true;  // docs/tokens.md: exactly 224 bytes

  test::SimPlatform platform;

  FormatConfig config() const { return FormatConfig{.sim_platform_keys = {platform.public_key}}; }
  crypto::Bytes evidence_for(crypto::BytesView report_data) {
    auto evidence = platform.attester->evidence(report_data);
    if (!evidence) throw std::runtime_error(evidence.error().to_string());
    return std::move(*evidence);
  }
};

struct SnpTraits {
  static constexpr std::string_view kFormat = "snp";
  static constexpr bool kTrailingBytesRejected = true;  // only a well-formed certificate table may follow

  const test::SnpTestPlatform& platform = test::SnpTestPlatform::shared();

  FormatConfig config() const { return platform.config(); }
  Collateral collateral() const { return platform.collateral(); }
  crypto::Bytes evidence_for(crypto::BytesView report_data) { return platform.report(report_data); }
};

// Intel DCAP (sgx, tdx): a synthetic platform under a test root (dcap_test_platform.h). Bytes after
// the quote's signature data are tolerated and ignored (real quotes come in padded buffers).
template <test::DcapTestPlatform::Tee kTee, std::uint16_t kVersion, std::uint16_t kBodyType>
struct DcapTraits {
  static constexpr std::string_view kFormat = kTee == test::DcapTestPlatform::Tee::sgx ? "sgx" : "tdx";
  static constexpr bool kTrailingBytesRejected = false;

  test::DcapTestPlatform platform{kTee, kVersion, kBodyType};
  Collateral collateral_ = platform.collateral();

  FormatConfig config() const { return platform.config(); }
  Collateral collateral() const { return collateral_; }
  crypto::Bytes evidence_for(crypto::BytesView report_data) { return platform.quote(report_data); }
};
using SgxTraits = DcapTraits<test::DcapTestPlatform::Tee::sgx, 3, 0>;
using TdxTraits = DcapTraits<test::DcapTestPlatform::Tee::tdx, 4, 0>;
using TdxV5Traits = DcapTraits<test::DcapTestPlatform::Tee::tdx, 5, 3>;

template <class Traits>
Collateral collateral_of(const Traits& traits) {
  if constexpr (requires { traits.collateral(); }) {
    return traits.collateral();
  } else {
    return Collateral{};
  }
}

template <class Traits>
class EvidenceFormatConformance : public ::testing::Test {
 protected:
  const ManualClock clock_ = ManualClock::at_unix(1'700'000'000);
  Traits traits_;
  std::vector<std::unique_ptr<EvidenceVerifier>> verifiers_ = make_evidence_verifiers(traits_.config());
  test::ServiceKeys service_ = test::ServiceKeys::generate("conformance-nonce");

  const EvidenceVerifier& verifier() {
    auto found = find(verifiers_, Traits::kFormat);
    if (!found) throw std::runtime_error(found.error().to_string());
    return **found;
  }
  Result<VerifiedEvidence> verify(crypto::Bytes evidence, crypto::Bytes runtime_data,
                                  std::optional<std::string> nonce = std::nullopt) {
    return verifier().verify(
        Evidence{std::string(Traits::kFormat), std::move(evidence), std::move(runtime_data), std::move(nonce)},
        collateral_of(traits_), VerificationContext{clock_});
  }
  crypto::Bytes valid_evidence() { return traits_.evidence_for(report_data_for(service_.runtime_data)); }
};

using FormatTraitsList = ::testing::Types<SgxTraits, TdxTraits, TdxV5Traits, SnpTraits, SimTraits>;
TYPED_TEST_SUITE(EvidenceFormatConformance, FormatTraitsList);

TYPED_TEST(EvidenceFormatConformance, IsRegisteredUnderItsId) {
  EXPECT_EQ(this->verifier().format_id(), TypeParam::kFormat);
}

TYPED_TEST(EvidenceFormatConformance, ValidEvidenceYieldsSaneBaseClaims) {
  auto verified = this->verify(this->valid_evidence(), this->service_.runtime_data, "conformance-nonce");
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_EQ(verified->format, TypeParam::kFormat);
  const auto& claims = verified->claims;
  EXPECT_FALSE(claims.tee.empty());
  EXPECT_FALSE(claims.measurement.empty());
  EXPECT_TRUE(crypto::hex_decode(claims.measurement)) << claims.measurement;
  EXPECT_TRUE(tcb_status::is_known(claims.tcb_status)) << claims.tcb_status;
  EXPECT_EQ(claims.report_data, report_data_for(this->service_.runtime_data));
  EXPECT_TRUE(verified->format_claims.is_object());
  // Only the sim format may call itself simulated, and it must.
  EXPECT_EQ(claims.tee == tee::kSim, TypeParam::kFormat == "sim");
  EXPECT_EQ(claims.tcb_status == tcb_status::kSimulated, claims.tee == tee::kSim);
}

TYPED_TEST(EvidenceFormatConformance, RejectsEmptyEvidence) {
  auto result = this->verify({}, this->service_.runtime_data);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed);
}

TYPED_TEST(EvidenceFormatConformance, RejectsEveryTruncation) {
  const auto evidence = this->valid_evidence();
  for (std::size_t size = 0; size < evidence.size(); ++size) {
    auto result = this->verify(crypto::Bytes(evidence.begin(), evidence.begin() + static_cast<std::ptrdiff_t>(size)),
                               this->service_.runtime_data);
    ASSERT_FALSE(result) << "truncated to " << size;
    EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed) << "truncated to " << size;
  }
}

TYPED_TEST(EvidenceFormatConformance, HandlesTrailingBytesAsDocumented) {
  for (std::size_t extra : {1u, 7u, 4096u}) {
    auto evidence = this->valid_evidence();
    evidence.resize(evidence.size() + extra, 0xa5);
    auto result = this->verify(evidence, this->service_.runtime_data);
    if (TypeParam::kTrailingBytesRejected) {
      ASSERT_FALSE(result) << extra;
      EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed);
    } else {
      EXPECT_TRUE(result) << result.error().to_string();
    }
  }
}

TYPED_TEST(EvidenceFormatConformance, BindsTheRuntimeData) {
  const auto evidence = this->valid_evidence();
  auto other = this->service_.runtime_data;
  other.push_back(' ');  // same JSON document, different bytes: still refused
  EXPECT_EQ(this->verify(evidence, other).error().code, ErrorCode::report_data_mismatch);
  EXPECT_EQ(this->verify(evidence, {}).error().code, ErrorCode::report_data_mismatch);
  auto second_half_set = report_data_for(this->service_.runtime_data);
  second_half_set[63] ^= 1;
  EXPECT_EQ(this->verify(this->traits_.evidence_for(second_half_set), this->service_.runtime_data).error().code,
            ErrorCode::report_data_mismatch);
}

TYPED_TEST(EvidenceFormatConformance, ChecksTheRequestedNonce) {
  EXPECT_EQ(this->verify(this->valid_evidence(), this->service_.runtime_data, "another-nonce").error().code,
            ErrorCode::nonce_invalid);
}

TYPED_TEST(EvidenceFormatConformance, RefusesEvidenceLabelledWithAnotherFormat) {
  auto result = this->verifier().verify(Evidence{"not-" + std::string(TypeParam::kFormat), this->valid_evidence(),
                                                 this->service_.runtime_data, std::nullopt},
                                        Collateral{}, VerificationContext{this->clock_});
  EXPECT_EQ(result.error().code, ErrorCode::unsupported_format);
}

}  // namespace
}  // namespace cloister::attestation
