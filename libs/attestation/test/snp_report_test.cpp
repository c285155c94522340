// The SNP report and certificate-table parsers: layout against real reports, strictness, and never
// reading outside the input.

#include <gtest/gtest.h>

#include "cloister/crypto/hash.h"
#include "formats/snp/snp_report.h"
#include "snp_test_platform.h"

namespace cloister::attestation::snp {
namespace {

using test::read_report_milan;
using test::read_vector;

std::uint32_t le32(const crypto::Bytes& bytes, std::size_t offset) {
  return bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) |
         (static_cast<std::uint32_t>(bytes[offset + 3]) << 24);
}
void set32(crypto::Bytes& bytes, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) bytes[offset + i] = static_cast<std::uint8_t>(value >> (8 * i));
}

crypto::Bytes synthetic_report() { return test::SnpTestPlatform::shared().report(crypto::Bytes(64, 0x42)); }

TEST(SnpReport, ParsesTheVirteeMilanReport) {
  auto bytes = read_report_milan();
  if (!bytes) GTEST_SKIP() << "../shared/vectors not present";
  auto report = parse_report(*bytes);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->version, 2u);
  EXPECT_EQ(report->guest_svn, 0u);
  EXPECT_EQ(report->policy, 0x30000u);
  EXPECT_FALSE(report->debuggable());
  EXPECT_EQ(report->vmpl, 0u);
  EXPECT_EQ(report->signing_key(), SigningKey::vcek);
  EXPECT_EQ(report->reported_tcb, 0x7308000000000003u);
  EXPECT_EQ(decode_tcb(report->reported_tcb, Generation::milan), (TcbVersion{3, 0, 8, 115, std::nullopt}));
  EXPECT_TRUE(crypto::hex_encode(report->report_data).starts_with("d447b55d"));
  EXPECT_TRUE(crypto::hex_encode(report->report_data).ends_with("93ebfd"));
  EXPECT_TRUE(crypto::hex_encode(report->measurement).starts_with("7a1e5c26"));
  EXPECT_TRUE(crypto::hex_encode(report->measurement).ends_with("cd81841f"));
  EXPECT_TRUE(crypto::hex_encode(report->chip_id).starts_with("d49554ec"));
  EXPECT_FALSE(report->chip_id_masked());
  EXPECT_EQ(report->cpuid_family, 0);  // v2: no CPUID
}

TEST(SnpReport, ParsesTheGoSevGuestDebugReport) {
  auto bytes = read_vector("google-go-sev-guest/attestation.bin");
  if (!bytes) GTEST_SKIP() << "../shared/vectors not present";
  auto report = parse_report(*bytes);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->policy, 0xB0000u);
  EXPECT_TRUE(report->debuggable());
  EXPECT_EQ(report->reported_tcb, 0x4405000000000002u);
  EXPECT_EQ(crypto::hex_encode(crypto::BytesView(report->report_data).first(6)), "010203040500");
  EXPECT_TRUE(crypto::hex_encode(report->measurement).starts_with("b07af962"));
}

TEST(SnpReport, ParsesTheTrusteeVlekReportV3) {
  auto bytes = read_vector("coco-trustee/snp/test-vlek-report.bin");
  if (!bytes) GTEST_SKIP() << "../shared/vectors not present";
  auto report = parse_report(*bytes);
  ASSERT_TRUE(report) << report.error().to_string();
  EXPECT_EQ(report->version, 3u);
  EXPECT_EQ(report->vmpl, 1u);
  EXPECT_EQ(report->signing_key(), SigningKey::vlek);
  EXPECT_TRUE(report->chip_id_masked());
  EXPECT_EQ(report->cpuid_family, 0x19);
  EXPECT_EQ(report->cpuid_model, 0x01);
  EXPECT_EQ(report->cpuid_stepping, 0x01);
  EXPECT_EQ(report->platform_info, 0x27u);
  EXPECT_EQ(decode_tcb(report->reported_tcb, Generation::milan), (TcbVersion{4, 0, 24, 217, std::nullopt}));
}

TEST(SnpReport, SignatureIsTheLittleEndianFieldsReversed) {
  const auto bytes = synthetic_report();
  auto report = parse_report(bytes);
  ASSERT_TRUE(report) << report.error().to_string();
  for (std::size_t i = 0; i < kP384ComponentSize; ++i) {
    EXPECT_EQ(report->signature_r[i], bytes[kSignatureROffset + kP384ComponentSize - 1 - i]);
    EXPECT_EQ(report->signature_s[i], bytes[kSignatureSOffset + kP384ComponentSize - 1 - i]);
  }
  EXPECT_TRUE(signature_der(*report));
}

TEST(SnpReport, RejectsEveryTruncationAndAnyOtherSize) {
  const auto bytes = synthetic_report();
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    // A copy of exactly `size` bytes, so ASan sees any read past the end.
    const crypto::Bytes prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(size));
    auto report = parse_report(prefix);
    ASSERT_FALSE(report) << size;
    EXPECT_EQ(report.error().code, ErrorCode::evidence_malformed) << size;
    auto evidence = parse_evidence(prefix);
    ASSERT_FALSE(evidence) << size;
    EXPECT_EQ(evidence.error().code, ErrorCode::evidence_malformed) << size;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_EQ(parse_report(longer).error().code, ErrorCode::evidence_malformed);
}

TEST(SnpReport, RejectsUnknownVersionsAndAlgorithms) {
  const auto good = synthetic_report();
  for (std::uint32_t version : {0u, 1u, 6u, 0xffffffffu}) {
    auto bytes = good;
    set32(bytes, kVersionOffset, version);
    EXPECT_EQ(parse_report(bytes).error().code, ErrorCode::evidence_malformed) << version;
  }
  for (std::uint32_t version : {2u, 3u, 4u, 5u}) {
    auto bytes = good;
    set32(bytes, kVersionOffset, version);
    EXPECT_TRUE(parse_report(bytes)) << version;
  }
  auto algorithm = good;
  set32(algorithm, kSignatureAlgoOffset, 2);
  EXPECT_EQ(parse_report(algorithm).error().code, ErrorCode::evidence_malformed);
  auto vmpl = good;
  set32(vmpl, kVmplOffset, 4);
  EXPECT_EQ(parse_report(vmpl).error().code, ErrorCode::evidence_malformed);
  auto reserved = good;
  reserved[kReserved0Offset + 2] = 1;
  EXPECT_EQ(parse_report(reserved).error().code, ErrorCode::evidence_malformed);
}

TEST(SnpReport, SignerInfo) {
  const auto good = synthetic_report();
  auto with_signer = [&](std::uint32_t value) {
    auto bytes = good;
    set32(bytes, kSignerInfoOffset, value);
    return parse_report(bytes);
  };
  EXPECT_EQ(with_signer(0)->signing_key(), SigningKey::vcek);
  EXPECT_EQ(with_signer(1u << 2)->signing_key(), SigningKey::vlek);
  EXPECT_EQ(with_signer(7u << 2)->signing_key(), SigningKey::none);
  EXPECT_EQ(with_signer(3)->signing_key(), SigningKey::vcek);  // AUTHOR_KEY_EN, MASK_CHIP_KEY
  for (std::uint32_t key : {2u, 3u, 4u, 5u, 6u}) {
    EXPECT_EQ(with_signer(key << 2).error().code, ErrorCode::evidence_malformed) << key;
  }
  EXPECT_EQ(with_signer(1u << 5).error().code, ErrorCode::evidence_malformed);
  EXPECT_EQ(with_signer(0x80000000u).error().code, ErrorCode::evidence_malformed);
}

TEST(SnpReport, UnsignedPartOfTheSignatureFieldMustBeZero) {
  const auto good = synthetic_report();
  for (std::size_t offset = kSignatureROffset; offset < kReportSize; ++offset) {
    const bool significant = (offset < kSignatureROffset + kP384ComponentSize) ||
                             (offset >= kSignatureSOffset && offset < kSignatureSOffset + kP384ComponentSize);
    auto bytes = good;
    bytes[offset] ^= 0x01;
    auto report = parse_report(bytes);
    if (significant) {
      EXPECT_TRUE(report) << offset;  // the signature check, not the parser, refuses these
    } else {
      ASSERT_FALSE(report) << offset;
      EXPECT_EQ(report.error().code, ErrorCode::evidence_malformed) << offset;
    }
  }
}

TEST(SnpReport, TcbLayoutPerGeneration) {
  const TcbVersion milan{3, 0, 8, 115, std::nullopt};
  EXPECT_EQ(encode_tcb(milan, Generation::milan), 0x7308000000000003u);
  EXPECT_EQ(decode_tcb(0x7308000000000003u, Generation::genoa), milan);
  const TcbVersion turin{2, 1, 3, 0x44, std::uint8_t{9}};
  const std::uint64_t raw = encode_tcb(turin, Generation::turin);
  EXPECT_EQ(raw, 0x4400000003010209u);  // [0] FMC, [1] BL, [2] TEE, [3] SNP, [7] microcode
  EXPECT_EQ(decode_tcb(raw, Generation::turin), turin);
}

// ---- certificate table ----

crypto::Bytes der_like(std::size_t size, std::uint8_t fill) { return crypto::Bytes(size, fill); }

TEST(SnpCertTable, RoundTrips) {
  const std::vector<CertTableEntry> entries{{kGuidVcek, der_like(100, 1)}, {kGuidAsk, der_like(7, 2)},
                                            {kGuidArk, der_like(33, 3)}};
  const auto table = serialize_cert_table(entries);
  EXPECT_EQ(table.size(), 4 * kCertTableEntrySize + 140);
  auto parsed = parse_cert_table(table);
  ASSERT_TRUE(parsed) << parsed.error().to_string();
  ASSERT_EQ(parsed->size(), 3u);
  EXPECT_EQ((*parsed)[0].guid, kGuidVcek);
  EXPECT_EQ((*parsed)[0].der, der_like(100, 1));
  EXPECT_EQ((*parsed)[2].der, der_like(33, 3));
  // The kernel hands over the host's page: zero padding after the certificates is fine.
  auto padded = table;
  padded.resize(4096, 0);
  EXPECT_TRUE(parse_cert_table(padded));
  // A table with only the terminator is an empty list.
  auto empty = parse_cert_table(crypto::Bytes(kCertTableEntrySize, 0));
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(SnpCertTable, GuidsAreInRfc4122ByteOrder) {
  EXPECT_EQ(crypto::hex_encode(kGuidVcek), "63da758de6644564adc5f4b93be8accd");
  EXPECT_EQ(crypto::hex_encode(kGuidVlek), "a8074bc2a25a483eaae639c045a0b8a1");
  EXPECT_EQ(crypto::hex_encode(kGuidAsk), "4ab7b379bbac4fe4a02f05aef327c782");
  EXPECT_EQ(crypto::hex_encode(kGuidArk), "c0b406a4a80349529743" "3fb6014cd0ae");
}

TEST(SnpCertTable, RejectsMalformedTables) {
  const auto good = serialize_cert_table({{kGuidVcek, der_like(40, 1)}, {kGuidAsk, der_like(40, 2)}});
  auto expect_malformed = [](const crypto::Bytes& table, const char* what) {
    auto parsed = parse_cert_table(table);
    ASSERT_FALSE(parsed) << what;
    EXPECT_EQ(parsed.error().code, ErrorCode::evidence_malformed) << what;
  };
  expect_malformed({}, "empty");
  expect_malformed(crypto::Bytes(23, 0), "shorter than one entry");
  expect_malformed(crypto::Bytes(good.begin(), good.begin() + 48), "no terminator");
  auto garbage = good;
  garbage.push_back(0xa5);
  expect_malformed(garbage, "non-zero trailing byte");
  auto zero_length = good;
  set32(zero_length, 20, 0);
  expect_malformed(zero_length, "zero length");
  auto outside = good;
  set32(outside, 16, static_cast<std::uint32_t>(good.size() - 10));
  expect_malformed(outside, "certificate past the end");
  auto wrapping = good;
  set32(wrapping, 16, 0xfffffff0u);
  set32(wrapping, 20, 0x20u);
  expect_malformed(wrapping, "offset + length wraps");
  auto inside_header = good;
  set32(inside_header, 16, 8);
  expect_malformed(inside_header, "certificate inside the entry list");
  auto overlapping = good;
  set32(overlapping, 24 + 16, le32(good, 16) + 20);
  expect_malformed(overlapping, "overlapping certificates");
  auto duplicate = good;
  std::copy(kGuidVcek.begin(), kGuidVcek.end(), duplicate.begin() + 24);
  expect_malformed(duplicate, "duplicate GUID");
  auto zero_guid = good;
  std::fill(zero_guid.begin(), zero_guid.begin() + 16, 0);
  expect_malformed(zero_guid, "zero GUID with an offset");
  auto gap = good;
  gap[3 * kCertTableEntrySize - 1] = 1;  // inside the terminator
  expect_malformed(gap, "non-zero terminator byte");
  expect_malformed(crypto::Bytes(kMaxCertTableSize + 1, 0), "too large");
  std::vector<CertTableEntry> many;
  for (int i = 0; i < 65; ++i) {
    Guid guid{};
    guid[0] = static_cast<std::uint8_t>(i + 1);
    many.push_back({guid, der_like(1, 1)});
  }
  expect_malformed(serialize_cert_table(many), "too many entries");
}

TEST(SnpCertTable, EveryTruncationOfATableIsRefused) {
  const auto platform_table = test::SnpTestPlatform::shared().cert_table();
  for (std::size_t size = 0; size < platform_table.size(); ++size) {
    const crypto::Bytes prefix(platform_table.begin(), platform_table.begin() + static_cast<std::ptrdiff_t>(size));
    auto parsed = parse_cert_table(prefix);
    ASSERT_FALSE(parsed) << size;
    EXPECT_EQ(parsed.error().code, ErrorCode::evidence_malformed) << size;
  }
}

TEST(SnpEvidence, ReportAloneOrWithATable) {
  const auto report = synthetic_report();
  auto alone = parse_evidence(report);
  ASSERT_TRUE(alone) << alone.error().to_string();
  EXPECT_TRUE(alone->certificates.empty());
  EXPECT_EQ(alone->certificate(kGuidVcek), nullptr);

  const auto& platform = test::SnpTestPlatform::shared();
  auto with_table = parse_evidence(crypto::concat(report, platform.cert_table()));
  ASSERT_TRUE(with_table) << with_table.error().to_string();
  ASSERT_NE(with_table->certificate(kGuidVcek), nullptr);
  EXPECT_EQ(*with_table->certificate(kGuidVcek), platform.leaf.der());
  EXPECT_EQ(*with_table->certificate(kGuidArk), platform.ark.der());
  EXPECT_EQ(with_table->certificate(kGuidVlek), nullptr);

  for (std::size_t extra : {1u, 7u, 23u, 4096u}) {
    auto trailing = report;
    trailing.resize(trailing.size() + extra, 0xa5);
    EXPECT_EQ(parse_evidence(trailing).error().code, ErrorCode::evidence_malformed) << extra;
  }
}

}  // namespace
}  // namespace cloister::attestation::snp
