#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <random>

#include "cloister/attestation/format_registry.h"
#include "cloister/crypto/ecdsa.h"
#include "cloister/crypto/hash.h"
#include "formats/sim/sim_report.h"
#include "formats/sim/sim_verifier.h"
#include "test_support.h"

namespace cloister::attestation {
namespace {

using test::ServiceKeys;
using test::SimPlatform;

const ManualClock kClock = ManualClock::at_unix(1'700'000'000);

Result<VerifiedEvidence> verify_with(const EvidenceVerifier& verifier, const crypto::Bytes& evidence,
                                     const crypto::Bytes& runtime_data,
                                     std::optional<std::string> nonce = std::nullopt) {
  return verifier.verify(Evidence{"sim", evidence, runtime_data, std::move(nonce)}, Collateral{},
                         VerificationContext{kClock});
}

class SimFormat : public ::testing::Test {
 protected:
  SimPlatform platform{sim::SimAttesterOptions{.product_id = 7, .svn = 3, .debuggable = false}};
  sim::SimVerifier verifier{{platform.public_key}};
  ServiceKeys service = ServiceKeys::generate("nonce-42");

  crypto::Bytes evidence() {
    auto evidence = platform.attester->evidence(report_data_for(service.runtime_data));
    EXPECT_TRUE(evidence) << evidence.error().to_string();
    return evidence.value_or(crypto::Bytes{});
  }
};

TEST_F(SimFormat, MeasurementIsSha384OfTheRunningExecutable) {
  const auto executable = std::filesystem::read_symlink("/proc/self/exe");
  const std::string independent = test::sha384sum(executable);
  ASSERT_EQ(independent.size(), 96u);
  EXPECT_EQ(crypto::hex_encode(platform.attester->measurement()), independent);
}

TEST_F(SimFormat, RoundTripYieldsTheBaseClaims) {
  auto verified = verify_with(verifier, evidence(), service.runtime_data, "nonce-42");
  ASSERT_TRUE(verified) << verified.error().to_string();
  const auto& claims = verified->claims;
  EXPECT_EQ(verified->format, "sim");
  EXPECT_EQ(claims.tee, "sim");
  EXPECT_EQ(claims.tcb_status, "Simulated");
  EXPECT_EQ(claims.measurement, test::sha384sum(std::filesystem::read_symlink("/proc/self/exe")));
  EXPECT_FALSE(claims.signer);
  EXPECT_EQ(claims.product_id, 7u);
  EXPECT_EQ(claims.svn, 3u);
  EXPECT_FALSE(claims.debuggable);
  EXPECT_TRUE(claims.advisory_ids.empty());
  EXPECT_EQ(claims.report_data, report_data_for(service.runtime_data));
  auto key_id = sim::platform_key_id(platform.public_key);
  EXPECT_EQ(verified->format_claims, (nlohmann::json{{"version", 1}, {"platform_key_id", crypto::hex_encode(key_id)}}));

  auto json = to_claims_json(*verified);
  EXPECT_EQ(json["x-cloister-simulated"], true);
  EXPECT_EQ(json["format"], "sim");
  EXPECT_EQ(json["report_data"], crypto::hex_encode(claims.report_data));
}

TEST_F(SimFormat, ReportLayoutIsAsDocumented) {
  auto bytes = evidence();
  ASSERT_EQ(bytes.size(), 224u);
  EXPECT_EQ(crypto::to_string(crypto::BytesView(bytes).first(4)), "CSIM");
  EXPECT_EQ(bytes[4], 1);
  EXPECT_EQ(bytes[5], 0);
  EXPECT_EQ(bytes[6], 0);  // not debuggable
  EXPECT_EQ(bytes[8], 7);  // product_id, little-endian
  EXPECT_EQ(bytes[12], 3);  // svn
  EXPECT_EQ(crypto::Bytes(bytes.begin() + 16, bytes.begin() + 64), platform.attester->measurement());
  EXPECT_EQ(crypto::Bytes(bytes.begin() + 64, bytes.begin() + 128), report_data_for(service.runtime_data));
  auto key_id = sim::platform_key_id(platform.public_key);
  EXPECT_TRUE(std::equal(key_id.begin(), key_id.end(), bytes.begin() + 128));
  // The signature is ECDSA P-256/SHA-256 over bytes [0,160), raw r ‖ s.
  auto der = crypto::ecdsa_raw_to_der(crypto::BytesView(bytes).subspan(160));
  ASSERT_TRUE(der);
  EXPECT_TRUE(crypto::ecdsa_verify(platform.public_key, crypto::HashAlgorithm::sha256,
                                   crypto::BytesView(bytes).first(160), *der));
}

TEST_F(SimFormat, DebuggableFlagAndOtherExecutable) {
  test::TempDir directory;
  const auto file = directory.path() / "program";
  std::ofstream(file, std::ios::binary) << "not really a program";
  SimPlatform debug_platform{sim::SimAttesterOptions{.executable_path = file, .debuggable = true}};
  EXPECT_EQ(crypto::hex_encode(debug_platform.attester->measurement()),
            crypto::hex_encode(crypto::sha384(crypto::as_bytes("not really a program"))));
  sim::SimVerifier debug_verifier{{debug_platform.public_key}};
  auto bytes = debug_platform.attester->evidence(report_data_for(service.runtime_data));
  ASSERT_TRUE(bytes);
  auto verified = verify_with(debug_verifier, *bytes, service.runtime_data);
  ASSERT_TRUE(verified) << verified.error().to_string();
  EXPECT_TRUE(verified->claims.debuggable);
}

TEST_F(SimFormat, RefusesUntrustedPlatformKeys) {
  SimPlatform other;
  sim::SimVerifier other_verifier{{other.public_key}};
  EXPECT_EQ(verify_with(other_verifier, evidence(), service.runtime_data).error().code,
            ErrorCode::evidence_untrusted_platform);
  sim::SimVerifier trusts_nothing{{}};
  EXPECT_EQ(verify_with(trusts_nothing, evidence(), service.runtime_data).error().code,
            ErrorCode::evidence_untrusted_platform);
  sim::SimVerifier trusts_both{{other.public_key, platform.public_key}};
  EXPECT_TRUE(verify_with(trusts_both, evidence(), service.runtime_data));
}

TEST_F(SimFormat, ForgedKeyIdWithAnotherKeysSignatureIsRefused) {
  // A report signed by an untrusted key but naming the trusted key's id.
  SimPlatform other;
  auto forged_bytes = other.attester->evidence(report_data_for(service.runtime_data));
  ASSERT_TRUE(forged_bytes);
  auto report = sim::parse(*forged_bytes);
  ASSERT_TRUE(report);
  report->platform_key_id = sim::platform_key_id(platform.public_key);
  EXPECT_EQ(verify_with(verifier, sim::serialize(*report), service.runtime_data).error().code,
            ErrorCode::evidence_signature_invalid);
}

// The code a flipped bit at `offset` must give.
ErrorCode expected_for_flip(std::size_t offset, std::uint8_t mask) {
  if (offset < sim::kFlagsOffset) return ErrorCode::evidence_malformed;  // magic, version
  if (offset < sim::kProductIdOffset) {                                   // flags
    return (offset == sim::kFlagsOffset && mask == 0x01) ? ErrorCode::evidence_signature_invalid
                                                          : ErrorCode::evidence_malformed;
  }
  if (offset >= sim::kPlatformKeyIdOffset && offset < sim::kSignatureOffset) {
    return ErrorCode::evidence_untrusted_platform;
  }
  return ErrorCode::evidence_signature_invalid;  // product, svn, measurement, report data, signature
}

TEST_F(SimFormat, EveryBitFlipInEveryRegionFails) {
  const auto original = evidence();
  ASSERT_EQ(original.size(), sim::kReportSize);
  std::size_t checked = 0;
  for (std::size_t offset = 0; offset < original.size(); ++offset) {
    for (std::uint8_t mask : {0x01, 0x02, 0x10, 0x80}) {
      auto flipped = original;
      flipped[offset] ^= mask;
      auto result = verify_with(verifier, flipped, service.runtime_data);
      ASSERT_FALSE(result) << "offset " << offset << " mask " << int(mask);
      EXPECT_EQ(result.error().code, expected_for_flip(offset, mask))
          << "offset " << offset << " mask " << int(mask) << ": " << result.error().to_string();
      ++checked;
    }
  }
  EXPECT_EQ(checked, sim::kReportSize * 4);
}

TEST_F(SimFormat, TruncationAndTrailingBytesAreMalformed) {
  const auto original = evidence();
  for (std::size_t size = 0; size < original.size(); ++size) {
    crypto::Bytes truncated(original.begin(), original.begin() + static_cast<std::ptrdiff_t>(size));
    auto result = verify_with(verifier, truncated, service.runtime_data);
    ASSERT_FALSE(result) << size;
    EXPECT_EQ(result.error().code, ErrorCode::evidence_malformed) << size;
  }
  auto longer = original;
  longer.push_back(0);
  EXPECT_EQ(verify_with(verifier, longer, service.runtime_data).error().code, ErrorCode::evidence_malformed);
}

TEST_F(SimFormat, RandomInputNeverCrashesAndNeverVerifies) {
  std::mt19937 random(12345);
  const auto original = evidence();
  for (int round = 0; round < 2000; ++round) {
    crypto::Bytes input;
    if (round % 2 == 0) {
      input.resize(random() % 300);
      for (auto& byte : input) byte = static_cast<std::uint8_t>(random());
    } else {
      input = original;  // valid prefix, then random bytes in a random region
      const std::size_t start = random() % input.size();
      const std::size_t count = 1 + random() % 8;
      for (std::size_t i = start; i < std::min(input.size(), start + count); ++i) {
        input[i] = static_cast<std::uint8_t>(random());
      }
      if (input == original) continue;
    }
    EXPECT_FALSE(verify_with(verifier, input, service.runtime_data)) << round;
  }
}

TEST_F(SimFormat, ReportDataMustBindTheRuntimeData) {
  auto other = ServiceKeys::generate("nonce-42");
  EXPECT_EQ(verify_with(verifier, evidence(), other.runtime_data).error().code, ErrorCode::report_data_mismatch);
  // Report data whose second half is not zero.
  auto report_data = report_data_for(service.runtime_data);
  report_data[40] = 1;
  auto bytes = platform.attester->evidence(report_data);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(verify_with(verifier, *bytes, service.runtime_data).error().code, ErrorCode::report_data_mismatch);
  // Bound, but not runtime data at all.
  const auto junk = crypto::to_bytes("{}");
  auto junk_evidence = platform.attester->evidence(report_data_for(junk));
  ASSERT_TRUE(junk_evidence);
  EXPECT_EQ(verify_with(verifier, *junk_evidence, junk).error().code, ErrorCode::runtime_data_invalid);
}

TEST_F(SimFormat, RequestedNonceMustBeInTheRuntimeData) {
  EXPECT_TRUE(verify_with(verifier, evidence(), service.runtime_data, "nonce-42"));
  EXPECT_EQ(verify_with(verifier, evidence(), service.runtime_data, "nonce-43").error().code,
            ErrorCode::nonce_invalid);
  auto no_nonce = ServiceKeys::generate();
  auto bytes = platform.attester->evidence(report_data_for(no_nonce.runtime_data));
  ASSERT_TRUE(bytes);
  EXPECT_EQ(verify_with(verifier, *bytes, no_nonce.runtime_data, "nonce-42").error().code,
            ErrorCode::nonce_invalid);
}

TEST_F(SimFormat, AttesterRefusesWrongReportDataSize) {
  EXPECT_EQ(platform.attester->evidence(crypto::Bytes(63, 0)).error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(platform.attester->evidence(crypto::Bytes(65, 0)).error().code, ErrorCode::invalid_argument);
}

TEST(SimPlatformKey, IsCreatedOwnerOnlyAndLoadedAfterwards) {
  test::TempDir directory;
  const auto path = directory.path() / "platform.pem";
  auto created = sim::load_or_create_platform_key(path);
  ASSERT_TRUE(created) << created.error().to_string();
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  auto loaded = sim::load_or_create_platform_key(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, *created);
}

TEST(SimPlatformKey, AttesterRefusesMissingOrWrongKeys) {
  test::TempDir directory;
  auto missing = sim::SimAttester::create({.platform_key_path = directory.path() / "absent.pem"});
  EXPECT_EQ(missing.error().code, ErrorCode::io_error);

  const auto p384 = directory.path() / "p384.pem";
  std::ofstream(p384) << crypto::PrivateKey::generate(crypto::KeyType::ec_p384).pem().reveal();
  EXPECT_EQ(sim::SimAttester::create({.platform_key_path = p384}).error().code, ErrorCode::bad_key);

  const auto garbage = directory.path() / "garbage.pem";
  std::ofstream(garbage) << "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
  EXPECT_FALSE(sim::SimAttester::create({.platform_key_path = garbage}));

  SimPlatform platform;
  auto unreadable_executable = sim::SimAttester::create(
      {.platform_key_path = platform.key_path, .executable_path = directory.path() / "no-such-program"});
  EXPECT_EQ(unreadable_executable.error().code, ErrorCode::io_error);
}

TEST(FormatRegistry, ListsSimAndRefusesUnknownFormats) {
  SimPlatform platform;
  auto verifiers = make_evidence_verifiers(FormatConfig{.sim_platform_keys = {platform.public_key}});
  auto sim_verifier = find(verifiers, "sim");
  ASSERT_TRUE(sim_verifier);
  EXPECT_EQ((*sim_verifier)->format_id(), "sim");
  EXPECT_EQ(find(verifiers, "no-such-format").error().code, ErrorCode::unsupported_format);
  EXPECT_EQ(find(verifiers, "").error().code, ErrorCode::unsupported_format);

  auto attester = make_attester("sim", AttesterConfig{.sim = {.platform_key_path = platform.key_path}});
  ASSERT_TRUE(attester) << attester.error().to_string();
  EXPECT_EQ((*attester)->format_id(), "sim");
  EXPECT_EQ(make_attester("no-such-format", AttesterConfig{}).error().code, ErrorCode::unsupported_format);

  // Evidence labelled with another format is not judged by the sim verifier.
  auto service = ServiceKeys::generate();
  auto bytes = (*attester)->evidence(report_data_for(service.runtime_data));
  ASSERT_TRUE(bytes);
  auto wrong = (*sim_verifier)->verify(Evidence{"sgx", *bytes, service.runtime_data, std::nullopt}, Collateral{},
                                       VerificationContext{kClock});
  EXPECT_EQ(wrong.error().code, ErrorCode::unsupported_format);
  auto right = (*sim_verifier)->verify(Evidence{"sim", *bytes, service.runtime_data, std::nullopt}, Collateral{},
                                       VerificationContext{kClock});
  EXPECT_TRUE(right) << right.error().to_string();
}

}  // namespace
}  // namespace cloister::attestation
