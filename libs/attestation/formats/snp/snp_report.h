#pragma once
// The AMD SEV-SNP ATTESTATION_REPORT (SNP ABI spec 56860, "ATTESTATION_REPORT"; versions 2 to 5)
// and the certificate table a guest may receive with it (the GHCB extended-report / configfs-tsm
// `auxblob` layout). docs/attestation-formats.md, section "snp", documents both.
//
// Evidence of the `snp` format = the 1184-byte report, optionally followed by a certificate table:
//   entries of 24 bytes {GUID (16, RFC 4122 byte order), offset u32 LE, length u32 LE}, ended by an
//   all-zero entry, then the DER certificates; offsets are relative to the start of the table.
//   Every byte of the table that is neither an entry, the terminator nor a certificate must be zero
//   (the kernel hands the host's page-sized buffer over as is). So the evidence is exactly the report,
//   or the report plus a well-formed table: trailing garbage is evidence_malformed.
//
// Integers are little-endian. Everything is parsed by offset from a span whose size was checked
// first: nothing outside the input is ever read.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cloister/core/error.h"
#include "cloister/crypto/bytes.h"

namespace cloister::attestation::snp {

inline constexpr std::string_view kFormatId = "snp";

// Sizes.
inline constexpr std::size_t kReportSize = 0x4A0;      // 1184
inline constexpr std::size_t kSignedSize = 0x2A0;      // report[0, 0x2A0) is signed
inline constexpr std::size_t kSignatureComponentSize = 72;  // R and S fields, little-endian
inline constexpr std::size_t kP384ComponentSize = 48;  // the significant low bytes of R and S
inline constexpr std::size_t kReportDataSize = 64;
inline constexpr std::size_t kMeasurementSize = 48;
inline constexpr std::size_t kChipIdSize = 64;
inline constexpr std::size_t kCertTableEntrySize = 24;
// The largest certificate table accepted (the kernel's SEV_FW_BLOB_MAX_SIZE is 16 KiB).
inline constexpr std::size_t kMaxCertTableSize = 64 * 1024;

// Field offsets (FORMATS.md section 2).
inline constexpr std::size_t kVersionOffset = 0x000;
inline constexpr std::size_t kGuestSvnOffset = 0x004;
inline constexpr std::size_t kPolicyOffset = 0x008;
inline constexpr std::size_t kFamilyIdOffset = 0x010;
inline constexpr std::size_t kImageIdOffset = 0x020;
inline constexpr std::size_t kVmplOffset = 0x030;
inline constexpr std::size_t kSignatureAlgoOffset = 0x034;
inline constexpr std::size_t kCurrentTcbOffset = 0x038;
inline constexpr std::size_t kPlatformInfoOffset = 0x040;
inline constexpr std::size_t kSignerInfoOffset = 0x048;
inline constexpr std::size_t kReserved0Offset = 0x04C;
inline constexpr std::size_t kReportDataOffset = 0x050;
inline constexpr std::size_t kMeasurementOffset = 0x090;
inline constexpr std::size_t kHostDataOffset = 0x0C0;
inline constexpr std::size_t kIdKeyDigestOffset = 0x0E0;
inline constexpr std::size_t kAuthorKeyDigestOffset = 0x110;
inline constexpr std::size_t kReportIdOffset = 0x140;
inline constexpr std::size_t kReportIdMaOffset = 0x160;
inline constexpr std::size_t kReportedTcbOffset = 0x180;
inline constexpr std::size_t kCpuidOffset = 0x188;  // v3+: family, model, stepping
inline constexpr std::size_t kChipIdOffset = 0x1A0;
inline constexpr std::size_t kCommittedTcbOffset = 0x1E0;
inline constexpr std::size_t kCurrentVersionOffset = 0x1E8;    // build, minor, major, reserved
inline constexpr std::size_t kCommittedVersionOffset = 0x1EC;  // build, minor, major, reserved
inline constexpr std::size_t kLaunchTcbOffset = 0x1F0;
inline constexpr std::size_t kLaunchMitVectorOffset = 0x1F8;   // v5
inline constexpr std::size_t kCurrentMitVectorOffset = 0x200;  // v5
inline constexpr std::size_t kSignatureROffset = 0x2A0;
inline constexpr std::size_t kSignatureSOffset = 0x2E8;
inline constexpr std::size_t kSignatureReservedOffset = 0x330;

// Accepted report versions (2: SNP ABI 1.55, 3: adds CPUID, 5: adds mitigation vectors).
inline constexpr std::uint32_t kMinVersion = 2;
inline constexpr std::uint32_t kMaxVersion = 5;
inline constexpr std::uint32_t kSignatureAlgoEcdsaP384Sha384 = 1;

// POLICY bits.
inline constexpr std::uint64_t kPolicySmt = 1ull << 16;
inline constexpr std::uint64_t kPolicyReservedOne = 1ull << 17;
inline constexpr std::uint64_t kPolicyMigrateMa = 1ull << 18;
inline constexpr std::uint64_t kPolicyDebug = 1ull << 19;
inline constexpr std::uint64_t kPolicySingleSocket = 1ull << 20;

// Signer info (0x048): bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY, 31:5 MBZ.
enum class SigningKey : std::uint8_t { vcek = 0, vlek = 1, none = 7 };
std::string_view to_string(SigningKey key);

// AMD product generations (the ARK each chain ends at).
enum class Generation : std::uint8_t { milan, genoa, turin };
std::string_view to_string(Generation generation);  // "Milan", "Genoa", "Turin"
std::optional<Generation> generation_from_name(std::string_view name);

// TCB_VERSION, decoded per generation. Milan/Genoa bytes: [0] BOOT_LOADER, [1] TEE, [6] SNP,
// [7] MICROCODE. Turin: [0] FMC, [1] BOOT_LOADER, [2] TEE, [3] SNP, [7] MICROCODE.
struct TcbVersion {
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  std::optional<std::uint8_t> fmc;  // Turin only
  bool operator==(const TcbVersion&) const = default;
};
TcbVersion decode_tcb(std::uint64_t raw, Generation generation);
std::uint64_t encode_tcb(const TcbVersion& tcb, Generation generation);

struct SnpReport {
  std::uint32_t version = 0;
  std::uint32_t guest_svn = 0;
  std::uint64_t policy = 0;
  std::array<std::uint8_t, 16> family_id{};
  std::array<std::uint8_t, 16> image_id{};
  std::uint32_t vmpl = 0;
  std::uint32_t signature_algo = 0;
  std::uint64_t current_tcb = 0;
  std::uint64_t platform_info = 0;
  std::uint32_t signer_info = 0;
  std::array<std::uint8_t, kReportDataSize> report_data{};
  std::array<std::uint8_t, kMeasurementSize> measurement{};
  std::array<std::uint8_t, 32> host_data{};
  std::array<std::uint8_t, 48> id_key_digest{};
  std::array<std::uint8_t, 48> author_key_digest{};
  std::array<std::uint8_t, 32> report_id{};
  std::array<std::uint8_t, 32> report_id_ma{};
  std::uint64_t reported_tcb = 0;
  // v3+: CPUID family (extended + base), model (extended + base) and stepping; 0 in v2 reports.
  std::uint8_t cpuid_family = 0;
  std::uint8_t cpuid_model = 0;
  std::uint8_t cpuid_stepping = 0;
  std::array<std::uint8_t, kChipIdSize> chip_id{};
  std::uint64_t committed_tcb = 0;
  std::uint64_t launch_tcb = 0;
  // The significant 48 bytes of R and S, big-endian (reversed from the report's little-endian).
  std::array<std::uint8_t, kP384ComponentSize> signature_r{};
  std::array<std::uint8_t, kP384ComponentSize> signature_s{};

  bool debuggable() const { return (policy & kPolicyDebug) != 0; }
  SigningKey signing_key() const { return static_cast<SigningKey>((signer_info >> 2) & 0x7); }
  bool chip_id_masked() const;  // all-zero CHIP_ID (MASK_CHIP_ID, or a VLEK-signed report)
};

// Strict: evidence_malformed unless exactly kReportSize bytes with a version in [2, 5], signature
// algorithm 1, SIGNING_KEY 0, 1 or 7, signer-info bits 31:5 and the reserved word at 0x04C zero,
// VMPL ≤ 3, and the unsigned remainder of the signature field (the upper 24 bytes of R and of S, and
// 0x330..0x4A0) zero. Reserved bytes inside the signed part are not interpreted: the signature
// covers them. Checks no signature.
Result<SnpReport> parse_report(crypto::BytesView bytes);

// The report's signature as a DER ECDSA-Sig-Value (for crypto::ecdsa_verify).
Result<crypto::Bytes> signature_der(const SnpReport& report);

// Certificate-table GUIDs (RFC 4122 byte order, as the kernel and the GHCB spec lay them out).
using Guid = std::array<std::uint8_t, 16>;
inline constexpr Guid kGuidVcek{0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64,
                                0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd};
inline constexpr Guid kGuidVlek{0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e,
                                0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1};
inline constexpr Guid kGuidAsk{0x4a, 0xb7, 0xb3, 0x79, 0xbb, 0xac, 0x4f, 0xe4,
                               0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82};
inline constexpr Guid kGuidArk{0xc0, 0xb4, 0x06, 0xa4, 0xa8, 0x03, 0x49, 0x52,
                               0x97, 0x43, 0x3f, 0xb6, 0x01, 0x4c, 0xd0, 0xae};

struct CertTableEntry {
  Guid guid{};
  crypto::Bytes der;
};

// evidence_malformed unless: at least one (terminating) entry, no more than 64 entries, every entry
// with a non-zero length and its certificate inside the table and after the entry list, no GUID
// twice, and every byte not covered by an entry, the terminator or a certificate zero. An empty
// certificate list (terminator only) is valid. At most kMaxCertTableSize bytes.
Result<std::vector<CertTableEntry>> parse_cert_table(crypto::BytesView table);
// Entries, terminator, then the certificates back to back.
crypto::Bytes serialize_cert_table(const std::vector<CertTableEntry>& entries);

struct SnpEvidence {
  SnpReport report;
  std::vector<CertTableEntry> certificates;  // from the table after the report; empty when none
  // The DER certificate with this GUID, or nullptr.
  const crypto::Bytes* certificate(const Guid& guid) const;
};

// The report (parse_report on the first kReportSize bytes) and, when bytes follow, the table.
Result<SnpEvidence> parse_evidence(crypto::BytesView bytes);

}  // namespace cloister::attestation::snp
